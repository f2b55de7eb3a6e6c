"""The CAK side, offline: process heenberichten in order and write the retour for each.

Processing follows spec section 7 (IV028/IV032):

* **Level 1** (not well-formed, not XSD-valid): with ``level1="retour"`` (IV028, the default) the
  retour is the header copied from the heenbericht plus RetourCode 0001. When the header itself
  cannot be read (not XML, not an iEb heenbericht, or Afzender / Identificatie / Dagtekening
  missing or malformed) no retour can be addressed: the result has ``retour=None`` and a reason
  (the CLI writes ``<stem>.geen-retour.txt``). With ``level1="none"`` (IV032) no level-1 failure
  gets a retour.
* **Level 2** (an in-message rule fails): header with RetourCode 0001 and XsltVersie.
* **Level 3** (8848, S300, S333 or a history rule): header plus the Client with every class coded.
  8848 and S300 concern the header: they go in the header's RetourCodes and the Client and its
  class get 0233 (not assessed). Otherwise the Client gets 0200 and the class the specific codes.
* No findings: header only, no RetourCodes; the delivery is added to the CAK's ledger.

IdentificatieRetour is a sequence number of the CAK ledger (``1``, ``2``, ...);
DagtekeningRetour is the processing day (``today``, injectable). A heenbericht whose BerichtIdentificatie
was processed before is answered with the stored retour when the bytes are identical (a retry);
with different content it is refused with 9102 at class level and not stored.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from sqlalchemy.engine import Connection, Engine

from ieb.codec import element_to_model, to_xml
from ieb.ledger.db import open_database
from ieb.ledger.history import Delivery, check_history
from ieb.ledger.store import COUNTED_CAK, Ledger
from ieb.messages import Message, RetourHeader, Wmo401, Wmo402, Wmo403, Wmo404
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.types import Versie
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import GemeenteLijst
from ieb.validation.report import Issue
from ieb.values import element_text

__all__ = ["CakConfig", "CakResult", "CakSimulator", "Verdict"]

Verdict = Literal["accepted", "rejected", "technical", "no_retour", "repeat"]
HEADER_CODES = frozenset({"8848", "S300"})
_RETOUR_OF = {"wmo401": "WMO402", "wmo403": "WMO404"}


@dataclass(frozen=True)
class CakConfig:
    """How the simulated CAK behaves."""

    #: ``"retour"``: a level-1 failure gets header + 0001 (IV028); ``"none"``: no retour (IV032)
    level1: Literal["retour", "none"] = "retour"
    #: XsltVersie written in retours of messages that passed level 1
    xslt_versie: str = "1.0.0"
    gemeenten: GemeenteLijst | None = None
    tariffs: TariffTable = NATIONAL_TARIFFS


@dataclass(frozen=True)
class CakResult:
    """The outcome of one heenbericht at the CAK."""

    source: str
    verdict: Verdict
    retour: bytes | None
    level: int | None
    codes: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = field(default=(), repr=False)
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted" or (self.verdict == "repeat" and not self.codes)


def _local(el: etree._Element, *names: str) -> etree._Element | None:
    node: etree._Element | None = el
    for name in names:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return node


def _text(el: etree._Element, *names: str) -> str | None:
    node = _local(el, *names)
    return None if node is None else element_text(node).strip(" \t\r\n") or None


class CakSimulator:
    """The CAK's processing against its own ledger (a database; see :func:`ieb.ledger.open_database`)."""

    def __init__(
        self,
        db: Engine | str | os.PathLike[str] | None = None,
        config: CakConfig | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        engine = db if isinstance(db, Engine) else open_database(db)
        self.ledger = Ledger(engine, counted=COUNTED_CAK)
        self.config = config or CakConfig()
        self.today = today

    @property
    def engine(self) -> Engine:
        return self.ledger.engine

    def close(self) -> None:
        self.ledger.close()

    # ---------------------------------------------------------------- processing

    def process(self, data: bytes, *, source: str = "<bytes>", today: dt.date | None = None) -> CakResult:
        """Process one heenbericht (one transaction) and return its retour."""
        day = today or self.today or dt.date.today()
        report = validate_bytes(data, today=day, gemeenten=self.config.gemeenten, tariffs=self.config.tariffs)
        root = report.root
        level = report.level
        if root is None or report.bericht not in ("WMO401", "WMO403"):
            reason = (
                report.issues[0].message
                if report.issues and root is None
                else f"geen heenbericht van iEb (WMO401/WMO403) maar {report.bericht or 'onbekend'}"
            )
            return CakResult(
                source, "no_retour", None, 1, (), tuple(report.issues), f"kop onleesbaar: {reason}"
            )
        if level is not None and level <= 2:
            return self._technical(root, report.issues, level, source, day)
        message = element_to_model(root)
        assert isinstance(message, (Wmo401, Wmo403))
        with self.engine.begin() as conn:
            return self._assess(conn, message, data, report.issues, source, day)

    def _technical(
        self, root: etree._Element, issues: list[Issue], level: int, source: str, day: dt.date
    ) -> CakResult:
        if level == 1 and self.config.level1 == "none":
            return CakResult(
                source, "no_retour", None, 1, (), tuple(issues), "niveau 1 zonder retour (IV032)"
            )
        namespace = etree.QName(root).namespace or ""
        bericht = _RETOUR_OF.get(namespace.rsplit("/", 2)[-2] if "/" in namespace else "")
        header = _local(root, "Header")
        if bericht is None or header is None:
            return CakResult(
                source, "no_retour", None, level, (), tuple(issues), "kop onleesbaar: geen Header"
            )
        with self.engine.begin() as conn:
            try:
                retour_header = self._header_from_xml(conn, header, bericht, day, xslt=level == 2)
            except ValueError as exc:
                conn.rollback()
                return CakResult(
                    source,
                    "no_retour",
                    None,
                    level,
                    (),
                    tuple(issues),
                    f"kop onleesbaar: {str(exc).splitlines()[0]}",
                )
            cls = Wmo402 if bericht == "WMO402" else Wmo404
            retour = cls.model_validate({"header": retour_header})
        return CakResult(source, "technical", to_xml(retour), level, ("0001",), tuple(issues))

    def _header_from_xml(
        self, conn: Connection, header: etree._Element, bericht: str, day: dt.date, *, xslt: bool
    ) -> RetourHeader:
        xsd: dict[str, Any] = {}
        basis, msg = (
            _text(header, "XsdVersie", "BasisschemaXsdVersie"),
            _text(header, "XsdVersie", "BerichtXsdVersie"),
        )
        try:
            xsd = {"basisschema_xsd_versie": Versie(basis or ""), "bericht_xsd_versie": Versie(msg or "")}
        except (TypeError, ValueError):
            xsd = {}  # unreadable XsdVersie: the retour states the versions it was checked against
        values = {
            "bericht_code": "471" if bericht == "WMO402" else "473",
            "afzender": _text(header, "Afzender"),
            "bericht_identificatie": {
                "identificatie": _text(header, "BerichtIdentificatie", "Identificatie"),
                "dagtekening": _text(header, "BerichtIdentificatie", "Dagtekening"),
            },
            "xsd_versie": xsd,
            "identificatie_retour": self._next_retour_id(conn),
            "dagtekening_retour": day,
            "xslt_versie": self.config.xslt_versie if xslt else None,
            "retour_codes": ("0001",),
        }
        return RetourHeader.model_validate(values)

    def _next_retour_id(self, conn: Connection) -> str:
        return str(self.ledger.next_value(conn, "cak", "retour"))

    def _retour_header(
        self, conn: Connection, message: Wmo401 | Wmo403, day: dt.date, codes: Iterable[str]
    ) -> RetourHeader:
        h = message.header
        return RetourHeader.model_validate(
            {
                "bericht_code": "471" if isinstance(message, Wmo401) else "473",
                "afzender": h.afzender,
                "bericht_identificatie": h.bericht_identificatie,
                "xsd_versie": h.xsd_versie,
                "identificatie_retour": self._next_retour_id(conn),
                "dagtekening_retour": day,
                "xslt_versie": self.config.xslt_versie,
                "retour_codes": tuple(codes),
            }
        )

    def _assess(
        self,
        conn: Connection,
        message: Wmo401 | Wmo403,
        data: bytes,
        context_issues: list[Issue],
        source: str,
        day: dt.date,
    ) -> CakResult:
        delivery = Delivery.from_message(message)
        earlier = self.ledger.find(conn, delivery.afzender, delivery.identificatie, delivery.dagtekening)
        if earlier is not None and earlier.payload == data and earlier.retour_payload is not None:
            codes = tuple(earlier.retour_codes.split()) if earlier.retour_codes else ()
            return CakResult(source, "repeat", earlier.retour_payload, 3 if codes else None, codes)
        header_issues = [i for i in context_issues if i.retourcode in HEADER_CODES]
        issues: list[Issue]
        if header_issues:
            issues = header_issues
            header_codes = tuple(dict.fromkeys(i.retourcode or "" for i in header_issues))
            client_codes: tuple[str, ...] = ("0233",)
            class_codes: tuple[str, ...] = ("0233",)
        else:
            header_codes = ()
            issues = [i for i in context_issues if i.level >= 3]
            if earlier is not None:
                issues.append(
                    Issue(
                        "TR102",
                        "9102",
                        3,
                        "/Bericht/Header/BerichtIdentificatie",
                        f"BerichtIdentificatie {delivery.identificatie} van {delivery.dagtekening.isoformat()} "
                        "is al eerder met een andere inhoud ontvangen.",
                    )
                )
            else:
                history = self.ledger.history(
                    conn, delivery.afzender, bsn=delivery.bsn, nummers=[delivery.eb_start_nummer]
                )
                issues.extend(check_history(delivery, history))
            client_codes = ("0200",)
            class_codes = tuple(dict.fromkeys(i.retourcode or "" for i in issues)) or ("0200",)
        rejected = bool(issues)
        if not rejected:
            retour = self._build(conn, message, day, (), None)
        else:
            retour = self._build(conn, message, day, header_codes, (client_codes, class_codes))
        payload = to_xml(retour)
        assert isinstance(retour.header, RetourHeader)
        all_codes = (*header_codes, *(c for c in class_codes if rejected and c not in ("0200", "0233")))
        if not header_codes and not rejected:
            all_codes = ()
        if earlier is None:
            self.ledger.add(
                conn,
                delivery,
                outcome="rejected" if rejected else "accepted",
                payload=data,
                source=source,
                retour_codes=all_codes if rejected else (),
                detail="\n".join(f"{i.code}: {i.message}" for i in issues) or None,
            )
            stored = self.ledger.find(conn, delivery.afzender, delivery.identificatie, delivery.dagtekening)
            assert stored is not None
            self.ledger.set_retour(
                conn,
                stored.id,
                outcome="rejected" if rejected else "accepted",
                codes=all_codes,
                identificatie=str(retour.header.identificatie_retour),
                dagtekening=day,
                payload=payload,
                source=None,
                detail=stored.detail,
            )
        verdict: Verdict = "rejected" if rejected else "accepted"
        return CakResult(source, verdict, payload, 3 if rejected else None, all_codes, tuple(issues))

    def _build(
        self,
        conn: Connection,
        message: Wmo401 | Wmo403,
        day: dt.date,
        header_codes: tuple[str, ...],
        client: tuple[tuple[str, ...], tuple[str, ...]] | None,
    ) -> Message:
        header = self._retour_header(conn, message, day, header_codes)
        values: dict[str, Any] = {"header": header}
        if client is not None:
            client_codes, class_codes = client
            if isinstance(message, Wmo401):
                klass = message.client.start_eigen_bijdrage
                values["client"] = {
                    "bsn": message.client.bsn,
                    "start_eigen_bijdrage": {**_fields(klass), "retour_codes": class_codes},
                    "retour_codes": client_codes,
                }
            else:
                stop = message.client.stop_eigen_bijdrage
                values["client"] = {
                    "bsn": message.client.bsn,
                    "stop_eigen_bijdrage": {**_fields(stop), "retour_codes": class_codes},
                    "retour_codes": client_codes,
                }
        cls = Wmo402 if isinstance(message, Wmo401) else Wmo404
        return cls.model_validate(values)

    # ---------------------------------------------------------------- files

    def process_files(
        self,
        paths: Iterable[str | os.PathLike[str]],
        out_dir: str | os.PathLike[str],
        *,
        today: dt.date | None = None,
    ) -> list[CakResult]:
        """Process files in order; write ``out_dir/<stem>.retour.xml`` (or ``<stem>.geen-retour.txt``)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for p in paths:
            path = Path(p)
            result = self.process(path.read_bytes(), source=str(path), today=today)
            if result.retour is not None:
                (out / f"{path.stem}.retour.xml").write_bytes(result.retour)
            else:
                (out / f"{path.stem}.geen-retour.txt").write_text(
                    f"{path.name}: geen retour. {result.reason}\n", encoding="utf-8"
                )
            results.append(result)
        return results

    def periods(self, afzender: str | None = None) -> dict[tuple[str, str], list[Any]]:
        """The CAK's current periods per (afzender, bsn)."""
        return dict(self.ledger.periods(afzender))


def _fields(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name) for name in type(model).model_fields if name != "retour_codes"}
