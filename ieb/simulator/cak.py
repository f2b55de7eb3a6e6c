"""The CAK side, offline: process heenberichten in order and write the retour for each.

Processing follows spec section 7 (IV028/IV032). **Every heenbericht gets exactly one retour that is
valid under the published WMO402/WMO404 XSD**, whatever the input (see docs/validation.md, "The
retour never fails"):

* **Level 1** (not well-formed, not XSD-valid): with ``level1="retour"`` (IV028, the default) the
  retour is the header copied from the heenbericht plus RetourCode 0001. With ``level1="none"``
  (IV032) no level-1 failure gets a retour. Input that is not a WMO401/WMO403 at all (not XML, another
  root) gets a retour only when the caller says which message it was meant to be (``functie``, as the
  GGk envelope does); otherwise ``retour=None`` and a reason (the CLI writes ``<stem>.geen-retour.txt``).
* **Level 2** (an in-message rule fails): header with RetourCode 0001 and XsltVersie.
* **Level 3** (8848, S300, S333 or a history rule): header plus the Client with every class coded.
  8848 and S300 concern the header: they go in the header's RetourCodes and the Client and its
  class get 0233 (not assessed). Otherwise the Client gets 0200 and the class the specific codes.
* No findings: header only, no RetourCodes; the delivery is added to the CAK's ledger.

Header values are copied **exactly** as the heenbericht has them (the XSD value: comments and
processing instructions are not part of it; dates and integers whitespace-collapsed; strings such as
Identificatie unchanged, spaces included). A value that is not valid under its type (only possible at
level 1) cannot be copied into a valid retour; it is replaced by a fixed rule (:func:`retour_kop`):
Identificatie without line breaks and cut to 12 characters (``ONBEKEND`` when nothing visible is
left), Afzender ``0000``, Dagtekening without its timezone or else the DagtekeningRetour, XsdVersie
the versions the retour was checked against. Before a retour leaves, it is validated against the
WMO402/WMO404 schema.

IdentificatieRetour is a sequence number of the CAK ledger (``1``, ``2``, ...);
DagtekeningRetour is the processing day (``today``, injectable). A heenbericht whose BerichtIdentificatie
was processed before is answered with the stored retour when the bytes are identical (a retry);
with different content it is refused with 9102 at class level and not stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from sqlalchemy.engine import Connection, Engine

from ieb.ledger.history import Delivery, check_history
from ieb.ledger.store import COUNTED_CAK, Ledger
from ieb.messages import BASIS_NS
from ieb.messages.base import XSD_VERSIE
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import get_release
from ieb.store.db import open_database
from ieb.types import mask_bsns
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import GemeenteLijst
from ieb.validation.report import Issue
from ieb.values import collapse, element_text
from ieb.xmlsafe import XmlProblem, parse_bytes

__all__ = ["CakConfig", "CakResult", "CakSimulator", "RetourKop", "Verdict", "retour_kop"]

Verdict = Literal["accepted", "rejected", "technical", "no_retour", "repeat"]
HEADER_CODES = frozenset({"8848", "S300"})
_RETOUR_OF = {"wmo401": "WMO402", "wmo403": "WMO404"}
log = logging.getLogger("ieb.simulator.cak")


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
    """The outcome of one heenbericht at the CAK.

    ``source``: where the message came from (a path, or ``<bytes>``); ``verdict``: ``accepted``,
    ``rejected`` (level 3), ``technical`` (RetourCode 0001, levels 1-2), ``no_retour`` (IV032 or an
    unreadable message without ``functie``) or ``repeat`` (a byte-identical retry answered with the
    stored retour); ``retour``: the WMO402/WMO404 bytes (valid under the published XSD) or None;
    ``level``: 1, 2 or 3 of spec section 7 (None when accepted); ``codes``: the retourcodes in the
    retour beside 0200/0233 (``9102``, ``8848``, ``S300``, ...); ``issues``: the findings behind
    them; ``reason``: why there is no retour, or which header values were replaced (Dutch).
    """

    source: str
    verdict: Verdict
    retour: bytes | None
    level: int | None
    codes: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = field(default=(), repr=False)
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the CAK took the delivery into its ledger (now, or the first time of a repeat)."""
        return self.verdict == "accepted" or (self.verdict == "repeat" and not self.codes)


# ---------------------------------------------------------------- reading the heenbericht

_XSD_SPACE = " \t\n\r"
_GEMEENTE = re.compile(r"[0-9]{4}")
_VERSIE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_DATUM = re.compile(r"(-?)([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_TIJDZONE = re.compile(r"(.*?)(Z|[+-][0-9]{2}:[0-9]{2})")
#: Identificatie used in a retour when the heenbericht has none that can be copied.
ONBEKEND = "ONBEKEND"
#: Afzender used in a retour when the heenbericht has none that can be copied: RvIG Tabel 33 "Onbekend".
AFZENDER_ONBEKEND = "0000"


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _path(el: etree._Element | None, *names: str) -> etree._Element | None:
    for name in names:
        el = _child(el, name)
    return el


def _value(el: etree._Element | None) -> str | None:
    """The value of a simple element as the XSD reads it: its text nodes, without comments and
    processing instructions (not collapsed: callers collapse for dates and integers)."""
    return None if el is None else element_text(el)  # the one value reader (ieb.values)


def _collapsed(el: etree._Element | None) -> str | None:
    value = _value(el)
    return None if value is None else collapse(value)  # XML whitespace only, as the XSD collapses


def _identificatie_ok(value: str) -> bool:
    """LDT_IdentificatieBericht: 1..12 characters, pattern ``.*[^\\s].*`` (no line break; not only
    whitespace)."""
    return 1 <= len(value) <= 12 and "\n" not in value and "\r" not in value and bool(value.strip(_XSD_SPACE))


def _datum_ok(value: str) -> bool:
    """LDT_Datum (xs:date without timezone), on the whitespace-collapsed value; any year but 0000."""
    m = _DATUM.fullmatch(value)
    if m is None:
        return False
    year = int(m.group(2)) * (-1 if m.group(1) else 1)
    month, day = int(m.group(3)), int(m.group(4))
    if year == 0:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (29 if leap else 28) if month == 2 else day <= (30 if month in (4, 6, 9, 11) else 31)


def _python_date(value: str | None) -> dt.date | None:
    """The date when it is a valid LDT_Datum that Python can hold (years 1..9999), else None."""
    if value is None or not _datum_ok(value) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:  # pragma: no cover - _datum_ok already checked the calendar
        return None


@dataclass(frozen=True)
class RetourKop:
    """The heenbericht's header values as they go into the retour, and which were replaced."""

    afzender: str
    identificatie: str
    dagtekening: str
    basisschema_xsd_versie: str
    bericht_xsd_versie: str
    #: names of the elements whose value could not be copied (only possible at level 1)
    vervangen: tuple[str, ...] = ()


def retour_kop(header: etree._Element | None, dagtekening_retour: dt.date) -> RetourKop:
    """The header values for the retour of a heenbericht with this ``Header`` element (or None).

    Copied exactly when valid under their type; otherwise replaced by the CAK's fixed rule:
    Identificatie: each line break becomes a space, cut to 12 characters, ``ONBEKEND`` when nothing
    visible is left; Afzender: ``0000`` (Tabel 33 "Onbekend", never a gemeente); Dagtekening: the date
    without its timezone when that is a date, else ``dagtekening_retour``; a BasisschemaXsdVersie or
    BerichtXsdVersie: the version the retour is checked against (1.2.0).
    """
    vervangen: list[str] = []
    afzender = _value(_child(header, "Afzender"))
    if afzender is None or not _GEMEENTE.fullmatch(afzender):
        vervangen.append("Afzender")
        afzender = AFZENDER_ONBEKEND
    identificatie = _value(_path(header, "BerichtIdentificatie", "Identificatie"))
    if identificatie is None or not _identificatie_ok(identificatie):
        vervangen.append("Identificatie")
        cleaned = (identificatie or "").replace("\r", " ").replace("\n", " ")[:12]
        identificatie = cleaned if cleaned.strip(_XSD_SPACE) else ONBEKEND
    dagtekening = _collapsed(_path(header, "BerichtIdentificatie", "Dagtekening"))
    if dagtekening is None or not _datum_ok(dagtekening):
        vervangen.append("Dagtekening")
        zonder = _TIJDZONE.fullmatch(dagtekening or "")
        dagtekening = (
            zonder.group(1)
            if zonder is not None and _datum_ok(zonder.group(1))
            else dagtekening_retour.isoformat()
        )
    versies = []
    for name in ("BasisschemaXsdVersie", "BerichtXsdVersie"):
        versie = _value(_path(header, "XsdVersie", name))
        if versie is None or not _VERSIE.fullmatch(versie):
            vervangen.append(name)
            versie = XSD_VERSIE
        versies.append(versie)
    return RetourKop(afzender, identificatie, dagtekening, versies[0], versies[1], tuple(vervangen))


def _retour_name(root: etree._Element | None, functie: str | None) -> str | None:
    """WMO402 or WMO404 for a WMO401/WMO403 root (by namespace), else from ``functie``."""
    if root is not None:
        namespace = etree.QName(root).namespace or ""
        parts = namespace.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-1] == "schema" and parts[-2] in _RETOUR_OF:
            return _RETOUR_OF[parts[-2]]
    if functie is not None:
        return _RETOUR_OF.get(functie.lower())
    return None


def _delivery(root: etree._Element, bericht: str) -> Delivery | None:
    """The delivery of an XSD-valid heenbericht, read from its values; None when a date lies outside
    what the ledger can hold (years 1..9999)."""
    header = _child(root, "Header")
    klasse = _path(root, "Client", "StartEigenBijdrage" if bericht == "WMO401" else "StopEigenBijdrage")
    dagtekening = _python_date(_collapsed(_path(header, "BerichtIdentificatie", "Dagtekening")))
    datum = _python_date(_collapsed(_child(klasse, "EbStartdatum" if bericht == "WMO401" else "EbStopdatum")))
    if dagtekening is None or datum is None:
        return None
    bedrag: int | None = None
    kstart: dt.date | None = None
    kostprijs = _child(klasse, "EbKostprijs")
    if kostprijs is not None:
        bedrag = int(_collapsed(_child(kostprijs, "KostprijsBedrag")) or "")
        kstart = _python_date(_collapsed(_child(kostprijs, "KostprijsStartdatum")))
        if kstart is None:
            return None
    return Delivery(
        "WMO401" if bericht == "WMO401" else "WMO403",
        _value(_child(header, "Afzender")) or "",
        _value(_path(header, "BerichtIdentificatie", "Identificatie")) or "",
        dagtekening,
        _value(_path(root, "Client", "Bsn")) or "",
        int(_collapsed(_child(klasse, "EbStartNummer")) or ""),
        _value(_child(klasse, "StatusAanlevering")) or "",
        datum,
        bedrag,
        kstart,
    )


# ---------------------------------------------------------------- writing the retour


def _retour_xml(
    retour: str,
    kop: RetourKop,
    identificatie_retour: str,
    day: dt.date,
    xslt_versie: str | None,
    header_codes: Sequence[str],
    client: tuple[etree._Element, Sequence[str], Sequence[str]] | None = None,
) -> bytes:
    """Serialise a WMO402/WMO404 (the same layout as :func:`ieb.codec.to_xml`).

    ``client`` is (the heenbericht's Client element, client codes, class codes): its values are
    copied (XSD values) in the retour's order.
    """
    ns = get_release("ieb-1.0").message(retour).namespace

    def m(name: str) -> str:
        return f"{{{ns}}}{name}"

    def b(name: str) -> str:
        return f"{{{BASIS_NS}}}{name}"

    root = etree.Element(m("Bericht"), nsmap={"ieb": BASIS_NS, retour.lower(): ns})
    header = etree.SubElement(root, m("Header"))

    def add(parent: etree._Element, tag: str, text: str) -> None:
        etree.SubElement(parent, tag).text = text

    def codes(parent: etree._Element, values: Sequence[str]) -> None:
        wrapper = etree.SubElement(parent, m("RetourCodes"))
        for code in values:
            add(wrapper, m("RetourCode"), code)

    add(header, m("BerichtCode"), "471" if retour == "WMO402" else "473")
    add(header, m("BerichtVersie"), "1")
    add(header, m("BerichtSubversie"), "0")
    add(header, m("Afzender"), kop.afzender)
    ident = etree.SubElement(header, m("BerichtIdentificatie"))
    add(ident, b("Identificatie"), kop.identificatie)
    add(ident, b("Dagtekening"), kop.dagtekening)
    xsd = etree.SubElement(header, m("XsdVersie"))
    add(xsd, b("BasisschemaXsdVersie"), kop.basisschema_xsd_versie)
    add(xsd, b("BerichtXsdVersie"), kop.bericht_xsd_versie)
    add(header, m("IdentificatieRetour"), identificatie_retour)
    add(header, m("DagtekeningRetour"), day.isoformat())
    if xslt_versie is not None:
        add(header, m("XsltVersie"), xslt_versie)
    xsd_retour = etree.SubElement(header, m("XsdVersieRetour"))
    add(xsd_retour, b("BasisschemaXsdVersie"), XSD_VERSIE)
    add(xsd_retour, b("BerichtXsdVersie"), XSD_VERSIE)
    if header_codes:
        codes(header, header_codes)
    if client is not None:
        heen_client, client_codes, class_codes = client
        out = etree.SubElement(root, m("Client"))
        add(out, m("Bsn"), _value(_child(heen_client, "Bsn")) or "")
        name = "StartEigenBijdrage" if retour == "WMO402" else "StopEigenBijdrage"
        heen_klasse = _child(heen_client, name)
        klasse = etree.SubElement(out, m(name))
        fields: tuple[str, ...] = ("EbStartNummer", "EbStartdatum", "EbKostprijs", "StatusAanlevering")
        if retour == "WMO404":
            fields = ("EbStartNummer", "EbStopdatum", "StatusAanlevering")
        for field_name in fields:
            el = _child(heen_klasse, field_name)
            if el is None:
                continue
            if field_name == "EbKostprijs":
                kp = etree.SubElement(klasse, m("EbKostprijs"))
                add(kp, b("KostprijsBedrag"), _collapsed(_child(el, "KostprijsBedrag")) or "")
                add(kp, b("KostprijsStartdatum"), _collapsed(_child(el, "KostprijsStartdatum")) or "")
            elif field_name == "StatusAanlevering":
                add(klasse, m(field_name), _value(el) or "")
            else:
                add(klasse, m(field_name), _collapsed(el) or "")
        codes(klasse, class_codes)
        codes(out, client_codes)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"


def _schema_problem(retour: str, payload: bytes) -> str | None:
    """The first problem of ``payload`` under the WMO402/WMO404 schema, or None when valid."""
    schema = get_release("ieb-1.0").message(retour).schema
    if schema.validate(parse_bytes(payload)):
        return None
    errors = list(schema.error_log)  # type: ignore[call-overload]
    return str(errors[-1].message) if errors else "ongeldig"


def _checked(retour: str, payload: bytes, day: dt.date, identificatie_retour: str = "1") -> bytes:
    """``payload`` when the WMO402/WMO404 schema accepts it; otherwise (a bug: every value written is
    checked or copied from a valid heenbericht) a header-only technical retour with the fixed
    replacement values, which is valid by construction, so the CAK still answers."""
    problem = _schema_problem(retour, payload)
    if problem is None:
        return payload
    log.error("CAK-retour %s zou ongeldig zijn (%s); technische retour met vaste kopwaarden", retour, problem)
    return _retour_xml(retour, retour_kop(None, day), identificatie_retour, day, None, ("0001",))


class CakSimulator:
    """The CAK's processing against its own ledger (a database; see :func:`ieb.ledger.open_database`).

    ``db``: an SQLAlchemy engine, a database URL or file path, or None for ``$IEB_DB`` /
    ``./ieb.sqlite`` (raises :class:`~ieb.store.errors.DatabaseVersionError` for a newer database);
    ``today``: the processing day (DagtekeningRetour and the reference date of 8848), default the
    system date. Accepted deliveries are counted as the CAK counts them (``COUNTED_CAK``), so the
    history rules (TR071..TR330) see what the CAK accepted earlier.
    """

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
        """The SQLAlchemy engine of the CAK's ledger database."""
        return self.ledger.engine

    def close(self) -> None:
        """Release the ledger's database connections (the simulator is not usable afterwards)."""
        self.ledger.close()

    # ---------------------------------------------------------------- processing

    def process(
        self,
        data: bytes,
        *,
        source: str = "<bytes>",
        today: dt.date | None = None,
        functie: str | None = None,
    ) -> CakResult:
        """Process one heenbericht (one transaction) and return its retour.

        ``functie`` (``WMO401``/``WMO403``, as the GGk envelope states it) lets input that is not
        readable as either still get its level-1 retour. Never raises for any input bytes.
        """
        day = today or self.today or dt.date.today()
        try:
            report = validate_bytes(
                data, today=day, gemeenten=self.config.gemeenten, tariffs=self.config.tariffs
            )
        except Exception as exc:  # noqa: BLE001 - the CAK answers every message, even when a check breaks
            return self._unassessable(data, functie, source, day, "validatie", exc)
        root = report.root
        level = report.level
        retour = _retour_name(root, functie)
        heen = report.bericht in ("WMO401", "WMO403") and retour == _RETOUR_OF[(report.bericht or "").lower()]
        if retour is None:
            reason = (
                report.issues[0].message
                if report.issues and root is None
                else f"geen heenbericht van iEb (WMO401/WMO403) maar {report.bericht or 'onbekend'}"
            )
            return CakResult(
                source, "no_retour", None, 1, (), tuple(report.issues), f"kop onleesbaar: {reason}"
            )
        if not heen or (level is not None and level <= 2):
            return self._technical(root, retour, report.issues, level if heen and level else 1, source, day)
        assert root is not None
        try:
            delivery = _delivery(root, report.bericht or "")
            with self.engine.begin() as conn:
                return self._assess(conn, root, retour, delivery, data, report.issues, source, day)
        except (ValueError, OverflowError, ArithmeticError) as exc:  # a rule that cannot decide this value
            return self._unassessable(data, functie, source, day, "beoordeling", exc)

    def _unassessable(
        self, data: bytes, functie: str | None, source: str, day: dt.date, stage: str, exc: Exception
    ) -> CakResult:
        """A technical retour (0001) for a message whose checks broke down: the CAK cannot assess it."""
        log.warning("CAK kon %s niet beoordelen (%s): %s", source, stage, mask_bsns(str(exc)))
        try:
            root: etree._Element | None = parse_bytes(data)
        except XmlProblem:
            root = None
        retour = _retour_name(root, functie)
        issue = Issue(
            "XSD", "0001", 2, None, f"Het CAK kon het bericht niet beoordelen ({stage}); technisch afgekeurd."
        )
        if retour is None:
            return CakResult(source, "no_retour", None, 1, (), (issue,), f"kop onleesbaar: {issue.message}")
        return self._technical(root, retour, [issue], 2, source, day)

    def _technical(
        self,
        root: etree._Element | None,
        retour: str,
        issues: Sequence[Issue],
        level: int,
        source: str,
        day: dt.date,
        codes: tuple[str, ...] = ("0001",),
    ) -> CakResult:
        if level == 1 and self.config.level1 == "none":
            return CakResult(
                source, "no_retour", None, 1, (), tuple(issues), "niveau 1 zonder retour (IV032)"
            )
        kop = retour_kop(_child(root, "Header"), day)
        with self.engine.begin() as conn:
            payload = _retour_xml(
                retour,
                kop,
                self._next_retour_id(conn),
                day,
                self.config.xslt_versie if level == 2 else None,
                codes,
            )
            payload = _checked(retour, payload, day)
        reason = f"kopwaarden vervangen: {', '.join(kop.vervangen)}" if kop.vervangen else None
        return CakResult(source, "technical", payload, level, codes, tuple(issues), reason)

    def _next_retour_id(self, conn: Connection) -> str:
        return str(self.ledger.next_value(conn, "cak", "retour"))

    def _assess(
        self,
        conn: Connection,
        root: etree._Element,
        retour: str,
        delivery: Delivery | None,
        data: bytes,
        context_issues: list[Issue],
        source: str,
        day: dt.date,
    ) -> CakResult:
        """Level 3 of a heenbericht that passed levels 1 and 2, inside the transaction ``conn``.

        A byte-identical repeat gets its stored retour back; a date the ledger cannot hold gets a
        technical retour (0001); otherwise the retour carries the level-3 codes
        (:meth:`_level3_codes`) and the delivery is stored with its retour (:meth:`_record`).
        """
        header_issues = [i for i in context_issues if i.retourcode in HEADER_CODES]
        earlier = None
        if delivery is not None:
            earlier = self.ledger.find(conn, delivery.afzender, delivery.identificatie, delivery.dagtekening)
            if earlier is not None and earlier.payload == data and earlier.retour_payload is not None:
                codes = tuple(earlier.retour_codes.split()) if earlier.retour_codes else ()
                return CakResult(source, "repeat", earlier.retour_payload, 3 if codes else None, codes)
        elif not header_issues:
            # a date beyond 9999-12-31 that no rule refused: the CAK's administration cannot hold it
            conn.rollback()
            issue = Issue(
                "XSD",
                "0001",
                2,
                None,
                "Een datum in het bericht ligt na 31-12-9999 of voor 01-01-0001; het CAK kan het bericht "
                "niet verwerken.",
            )
            return self._technical(root, retour, [*context_issues, issue], 2, source, day)
        issues, header_codes, client_codes, class_codes = self._level3_codes(
            conn, delivery, earlier is not None, header_issues, context_issues
        )
        rejected = bool(issues)
        kop = retour_kop(_child(root, "Header"), day)
        identificatie_retour = self._next_retour_id(conn)
        heen_client = _child(root, "Client")  # present: the heenbericht passed its XSD
        client = (heen_client, client_codes, class_codes) if rejected and heen_client is not None else None
        payload = _retour_xml(
            retour,
            kop,
            identificatie_retour,
            day,
            self.config.xslt_versie,
            header_codes if rejected else (),
            client,
        )
        payload = _checked(retour, payload, day, identificatie_retour)
        all_codes = (*header_codes, *(c for c in class_codes if rejected and c not in ("0200", "0233")))
        if not header_codes and not rejected:
            all_codes = ()
        if earlier is None and delivery is not None:
            self._record(conn, delivery, data, source, issues, all_codes, identificatie_retour, day, payload)
        verdict: Verdict = "rejected" if rejected else "accepted"
        return CakResult(source, verdict, payload, 3 if rejected else None, all_codes, tuple(issues))

    def _level3_codes(
        self,
        conn: Connection,
        delivery: Delivery | None,
        seen_before: bool,
        header_issues: list[Issue],
        context_issues: list[Issue],
    ) -> tuple[list[Issue], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(findings, header codes, Client codes, class codes) of a level-3 assessment (spec section 7).

        8848 and S300 concern the header: they go in the header and the Client and its class get
        0233 (not assessed). Otherwise the Client gets 0200 and the class the codes of the level-3
        findings: TR102 (9102) when the BerichtIdentificatie was ``seen_before`` with other content,
        else the history rules (:func:`ieb.ledger.history.check_history`); 0200 when there are none.
        """
        if header_issues:
            header_codes = tuple(dict.fromkeys(i.retourcode or "" for i in header_issues))
            return header_issues, header_codes, ("0233",), ("0233",)
        assert delivery is not None
        issues = [i for i in context_issues if i.level >= 3]
        if seen_before:
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
        class_codes = tuple(dict.fromkeys(i.retourcode or "" for i in issues)) or ("0200",)
        return issues, (), ("0200",), class_codes

    def _record(
        self,
        conn: Connection,
        delivery: Delivery,
        data: bytes,
        source: str,
        issues: list[Issue],
        codes: tuple[str, ...],
        identificatie_retour: str,
        day: dt.date,
        payload: bytes,
    ) -> None:
        """Store a new delivery in the CAK's ledger with its outcome and its retour (``codes``)."""
        rejected = bool(issues)
        outcome = "rejected" if rejected else "accepted"
        self.ledger.add(
            conn,
            delivery,
            outcome=outcome,
            payload=data,
            source=source,
            retour_codes=codes if rejected else (),
            detail="\n".join(f"{i.code}: {i.message}" for i in issues) or None,
        )
        stored = self.ledger.find(conn, delivery.afzender, delivery.identificatie, delivery.dagtekening)
        assert stored is not None
        self.ledger.set_retour(
            conn,
            stored.id,
            outcome=outcome,
            codes=codes,
            identificatie=identificatie_retour,
            dagtekening=day,
            payload=payload,
            source=None,
            detail=stored.detail,
        )

    # ---------------------------------------------------------------- files

    def process_files(
        self,
        paths: Iterable[str | os.PathLike[str]],
        out_dir: str | os.PathLike[str],
        *,
        today: dt.date | None = None,
    ) -> list[CakResult]:
        """Process files in order; write ``out_dir/<stem>.retour.xml`` (or ``<stem>.geen-retour.txt``).

        ``today`` is the processing day (DagtekeningRetour, rule 8848). Returns one
        :class:`CakResult` per file, in order. Raises ``OSError`` when a file cannot be read or
        ``out_dir`` written; files with the same stem overwrite each other (``ieb simulate process``
        numbers them instead).
        """
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
