"""The CAK side, offline: process heenberichten in order and write the retour for each.

Release-neutral: the heenbericht's release pack (found by its namespace in the registry, or by the
``functie`` the GGk envelope names) says which retour answers it (its message table), which history
rules apply (its rule set), which retourcodes go in the header (its retourcode table) and writes
the retour (its retour writer). This module names no message.

Processing follows spec section 7 (IV028/IV032). **Every heenbericht gets exactly one retour that is
valid under the published XSD of its retour**, whatever the input (see docs/validation.md, "The
retour never fails"):

* **Level 1** (not well-formed, not XSD-valid): with ``level1="retour"`` (IV028, the default) the
  retour is the header copied from the heenbericht plus RetourCode 0001. With ``level1="none"``
  (IV032) no level-1 failure gets a retour. A file that breaks OP192 only by its encoding (a byte
  order mark, UTF-16, a declared ISO-8859-1) has its header read from a bounded transcoding
  (:func:`_header_root`). Input that is not a heenbericht at all (not XML, another
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
retour's schema.

IdentificatieRetour is a sequence number of the CAK ledger (``1``, ``2``, ...);
DagtekeningRetour is the processing day (``today``, injectable). A heenbericht whose BerichtIdentificatie
was processed before is answered with the stored retour when the bytes are identical (a retry);
with different content it is refused at class level (iEb 1.0: TR102, 9102) and not stored.
"""

from __future__ import annotations

import codecs
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

from ieb.dates import parse_xsd_date
from ieb.ledger.history import Delivery, check_history
from ieb.ledger.store import COUNTED_CAK, Ledger
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import default_registry, get_pack
from ieb.releases.pack import MessageDef, ReleasePack, RetourRequest
from ieb.store.db import open_database
from ieb.types import mask_bsns
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import GemeenteLijst
from ieb.validation.report import Issue
from ieb.values import collapse, element_text
from ieb.xmlsafe import MAX_BYTES, XmlProblem, parse_bytes

__all__ = [
    "CakConfig",
    "CakResult",
    "CakSimulator",
    "RetourKop",
    "Verdict",
    "readable_root",
    "repeat_rule",
    "retour_kop",
]

Verdict = Literal["accepted", "rejected", "technical", "no_retour", "repeat"]
#: The rules that refuse a BerichtIdentificatie received before with other content, newest first:
#: the first one a release lists (history rules or retourcode table) answers the repeat.
_REPEAT_RULES = ("TR056", "TR102")
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
    #: the one release this CAK speaks (``ieb simulate --release``); None: every registered release.
    #: A heenbericht of another release gets no retour (a Dutch reason naming both releases).
    release: str | None = None


@dataclass(frozen=True)
class CakResult:
    """The outcome of one heenbericht at the CAK.

    ``source``: where the message came from (a path, or ``<bytes>``); ``verdict``: ``accepted``,
    ``rejected`` (level 3), ``technical`` (RetourCode 0001, levels 1-2), ``no_retour`` (IV032 or an
    unreadable message without ``functie``) or ``repeat`` (a byte-identical retry answered with the
    stored retour); ``retour``: the retour's bytes (valid under the published XSD) or None;
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
    #: the Fo01 code to answer with instead of a retour (the release's ``level1_fo01``: IB001 in
    #: iEb 4.0 for a payload that is not XSD-valid); None: StUF055 when there is no retour
    fo01_code: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the CAK took the delivery into its ledger (now, or the first time of a repeat)."""
        return self.verdict == "accepted" or (self.verdict == "repeat" and not self.codes)


# ---------------------------------------------------------------- reading the heenbericht

_XSD_SPACE = " \t\n\r"
_GEMEENTE = re.compile(r"[0-9]{4}")
_VERSIE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
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
    """LDT_Datum (xs:date without timezone), on the whitespace-collapsed value, decided as libxml2's
    XSD check decides it (:func:`ieb.dates.parse_xsd_date`: any year but 0000 up to 2**63 - 1 either
    side of zero); one date reader for the whole project, so a value the retour's schema refuses is
    never copied into it."""
    day = parse_xsd_date(value)
    return day is not None and day.tz_minutes is None


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


def retour_kop(
    header: etree._Element | None, dagtekening_retour: dt.date, retour: MessageDef | None = None
) -> RetourKop:
    """The header values for the retour of a heenbericht with this ``Header`` element (or None).

    Copied exactly when valid under their type; otherwise replaced by the CAK's fixed rule:
    Identificatie: each line break becomes a space, cut to 12 characters, ``ONBEKEND`` when nothing
    visible is left; Afzender: ``0000`` (Tabel 33 "Onbekend", never a gemeente); Dagtekening: the date
    without its timezone when that is a date, else ``dagtekening_retour``; a BasisschemaXsdVersie or
    BerichtXsdVersie: the version the ``retour`` (a table row; default the first retour of the
    default pack) is checked against (iEb 1.0: 1.2.0).
    """
    row = retour or get_pack().retours()[0]
    written = (
        (row.versions.basisschema_xsd, row.versions.bericht_xsd)
        if row.versions is not None
        else ("1.0.0", "1.0.0")
    )
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
    for name, fallback in zip(("BasisschemaXsdVersie", "BerichtXsdVersie"), written, strict=True):
        versie = _value(_path(header, "XsdVersie", name))
        if versie is None or not _VERSIE.fullmatch(versie):
            vervangen.append(name)
            versie = fallback
        versies.append(versie)
    return RetourKop(afzender, identificatie, dagtekening, versies[0], versies[1], tuple(vervangen))


def _find(name: str) -> tuple[ReleasePack, MessageDef] | None:
    """The registered pack and table row of message ``name`` (any case), or None."""
    for pack in default_registry:
        row = pack.messages.get(name.upper())
        if row is not None:
            return pack, row
    return None


def _retour_of(root: etree._Element | None, functie: str | None) -> tuple[ReleasePack, MessageDef] | None:
    """The pack and retour row for a heenbericht root (by its namespace, in any registered release),
    else for the message ``functie`` names (as the GGk envelope states it); None when neither is a
    heenbericht of a registered release."""
    found: tuple[ReleasePack, MessageDef] | None = None
    if root is not None:
        found = default_registry.by_namespace(etree.QName(root).namespace or "")
    if (found is None or not found[1].is_heen) and functie is not None:
        found = _find(functie)
    if found is None or not found[1].is_heen:
        return None
    pack, row = found
    return pack, pack.retour_of(row.name)


def _delivery(root: etree._Element, row: MessageDef) -> Delivery | None:
    """The delivery of an XSD-valid heenbericht (table row ``row``), read from its values by the
    table's klasse, key, date and kostprijs elements; None when a date lies outside what the ledger
    can hold (years 1..9999)."""
    header = _child(root, "Header")
    klasse = _path(root, "Client", row.klasse or "")
    dagtekening = _python_date(_collapsed(_path(header, "BerichtIdentificatie", "Dagtekening")))
    datum = _python_date(_collapsed(_child(klasse, row.date_element or "")))
    if dagtekening is None or datum is None:
        return None
    values: dict[str, etree._Element] = {}
    for path in row.klasse_fields:
        el = _path(klasse, *path)
        if el is not None:
            values[path[-1]] = el
    bedrag: int | None = None
    kstart: dt.date | None = None
    if "KostprijsBedrag" in values:
        bedrag = int(_collapsed(values["KostprijsBedrag"]) or "")
        kstart = _python_date(_collapsed(values.get("KostprijsStartdatum")))
        if kstart is None:
            return None
    stopdatum: dt.date | None = None
    stop = next((k for k in values if k != row.date_element and k.endswith("Stopdatum")), None)
    if stop is not None:
        stopdatum = _python_date(_collapsed(values[stop]))
        if stopdatum is None:
            return None
    return Delivery(
        row.name,
        _value(_child(header, "Afzender")) or "",
        _value(_path(header, "BerichtIdentificatie", "Identificatie")) or "",
        dagtekening,
        _value(_path(root, "Client", "Bsn")) or "",
        int(_collapsed(_child(klasse, row.key_element or "")) or ""),
        _value(_child(klasse, "StatusAanlevering")) or "",
        datum,
        bedrag,
        kstart,
        stopdatum,
    )


# ---------------------------------------------------------------- a header behind an OP192 fault

#: Byte order marks and the encodings they announce (UTF-32 before UTF-16: its BOM starts alike).
_BOM_CODECS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: The first bytes of ``<?`` or ``<B`` without a BOM (XML 1.0 appendix F).
_NUL_CODECS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_DECLARED = re.compile(rb"^<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")
#: Declared encodings the CAK reads a header in (text codecs only: never a bytes-to-bytes codec
#: such as ``base64`` or ``zlib`` that a hostile declaration could name).
_TEXT_CODECS = frozenset(
    {"ascii", "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "latin-1"}
    | {f"iso8859-{n}" for n in (*range(1, 12), 13, 14, 15, 16)}
    | {f"cp{n}" for n in (*range(1250, 1259), 437, 850, 858)}
)


def _codec(data: bytes) -> str:
    """The encoding ``data`` is written in: its BOM, its NUL pattern, its declaration, else UTF-8."""
    for bom, name in _BOM_CODECS:
        if data.startswith(bom):
            return name
    for head, name in _NUL_CODECS:
        if data.startswith(head):
            return name
    declared = _DECLARED.match(data)
    if declared is not None:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            return "utf-8"
        if name.startswith(("utf-16", "utf-32")):
            return "utf-8"  # no BOM and no NUL pattern: the bytes are ASCII-compatible, the declaration wrong
        return name if name in _TEXT_CODECS else "utf-8"
    return "utf-8"


def _header_root(data: bytes) -> etree._Element | None:
    """The root of a heenbericht that breaks OP192 only by how it is encoded (a byte order mark,
    UTF-16/UTF-32, a declared ISO-8859-1 or windows-1252, bytes that are not UTF-8), read to find the
    Header its level-1 retour copies; None when even that cannot be read.

    The bytes are decoded in their own encoding (bytes that do not decode become U+FFFD), the BOM
    and the XML declaration dropped, and the UTF-8 result parsed by :func:`ieb.xmlsafe.parse_bytes`
    with all its limits (size, DTD, elements, depth). Nothing else of the message is assessed: the
    retour is header + 0001 (IV028).
    """
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_BYTES:
        return None
    raw = bytes(data)
    name = _codec(raw)
    for bom, bom_codec in _BOM_CODECS:
        if bom_codec == name and raw.startswith(bom):
            raw = raw[len(bom) :]
            break
    text = raw.decode(name, errors="replace")
    text = _DECLARATION.sub("", text.lstrip("\ufeff"), count=1)
    try:
        return parse_bytes(text.encode("utf-8"))
    except XmlProblem:
        return None


def _readable_root(
    data: bytes, parsed: etree._Element | None, issues: Sequence[Issue]
) -> etree._Element | None:
    """``parsed`` when the validator could parse the message; after an OP192 fault the root read
    by :func:`_header_root`; else None."""
    if parsed is not None:
        return parsed
    if any(i.code == "OP192" for i in issues):
        return _header_root(data)
    return None


def readable_root(data: bytes) -> etree._Element | None:
    """The root of heenbericht ``data`` as far as the CAK reads it to write a retour: the parsed
    document, or after an OP192 fault only (a BOM, another encoding) the root read from a bounded
    transcoding (:func:`_header_root`); None when the header cannot be read at all. Never raises;
    never touches files or the network. The retour check (:mod:`ieb.conformance.retourcheck`) reads
    a heenbericht this way, so both agree on which header a retour copies."""
    try:
        return parse_bytes(data)
    except XmlProblem as problem:
        return _readable_root(data, None, problem.issues)
    except Exception:  # noqa: BLE001 - any input bytes: unreadable is None
        return None


# ---------------------------------------------------------------- writing the retour


def _retour_xml(
    pack: ReleasePack,
    retour: MessageDef,
    kop: RetourKop,
    identificatie_retour: str,
    day: dt.date,
    xslt_versie: str | None,
    header_codes: Sequence[str],
    client: tuple[etree._Element, Sequence[str], Sequence[str]] | None = None,
) -> bytes:
    """The retour, written by the release pack's retour writer (``pack.retour_writer``).

    ``client`` is (the heenbericht's Client element, client codes, class codes): the writer copies
    its values (XSD values) in the retour's order. Raises ConfigurationError for a pack without a
    retour writer.
    """
    heen_client, client_codes, class_codes = client if client is not None else (None, (), ())
    request = RetourRequest(
        retour=retour,
        heen_header={
            "Afzender": kop.afzender,
            "Identificatie": kop.identificatie,
            "Dagtekening": kop.dagtekening,
            "BasisschemaXsdVersie": kop.basisschema_xsd_versie,
            "BerichtXsdVersie": kop.bericht_xsd_versie,
        },
        identificatie_retour=identificatie_retour,
        dagtekening_retour=day,
        xslt_versie=xslt_versie,
        header_codes=tuple(header_codes),
        client=heen_client,
        client_codes=tuple(client_codes),
        klasse_codes=tuple(class_codes),
    )
    return pack.require_retour_writer()(request)


def _schema_problem(retour: MessageDef, payload: bytes) -> str | None:
    """The first problem of ``payload`` under the retour's schema, or None when valid."""
    schema = retour.schema
    if schema.validate(parse_bytes(payload)):
        return None
    errors = list(schema.error_log)  # type: ignore[call-overload]
    return str(errors[-1].message) if errors else "ongeldig"


def _checked(
    pack: ReleasePack, retour: MessageDef, payload: bytes, day: dt.date, identificatie_retour: str = "1"
) -> bytes:
    """``payload`` when the retour's schema accepts it; otherwise (a bug: every value written is
    checked or copied from a valid heenbericht) a header-only technical retour with the fixed
    replacement values, which is valid by construction, so the CAK still answers."""
    problem = _schema_problem(retour, payload)
    if problem is None:
        return payload
    log.error(
        "CAK-retour %s zou ongeldig zijn (%s); technische retour met vaste kopwaarden", retour.name, problem
    )
    return _retour_xml(
        pack, retour, retour_kop(None, day, retour), identificatie_retour, day, None, ("0001",)
    )


def repeat_rule(pack: ReleasePack) -> tuple[str, str]:
    """(rule code, retourcode) with which ``pack`` refuses a BerichtIdentificatie received before
    with other content: the first of :data:`_REPEAT_RULES` the pack lists (history rules or its
    retourcode table), with its retourcode; ``("TR102", "9102")`` when it lists none."""
    for rule in _REPEAT_RULES:
        code = pack.retourcodes.retourcode(rule)
        if code is not None:
            return rule, code
    return "TR102", "9102"


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

        ``functie`` (the heenbericht's name, as the GGk envelope states it) lets input that is not
        readable as a heenbericht still get its level-1 retour. Never raises for any input bytes.
        """
        day = today or self.today or dt.date.today()
        try:
            report = validate_bytes(
                data, today=day, gemeenten=self.config.gemeenten, tariffs=self.config.tariffs
            )
        except Exception as exc:  # noqa: BLE001 - the CAK answers every message, even when a check breaks
            return self._unassessable(data, functie, source, day, "validatie", exc)
        if self.config.release is not None and report.release not in (None, self.config.release):
            reason = (
                f"dit CAK spreekt release {self.config.release}; een {report.bericht} van release "
                f"{report.release} wordt niet verwerkt"
            )
            return CakResult(source, "no_retour", None, 1, (), tuple(report.issues), reason)
        root = _readable_root(data, report.root, report.issues)
        level = report.level
        target = _retour_of(root, functie)
        heen = False
        if target is not None and report.bericht is not None:
            pack, retour_row = target
            own = pack.messages.get(report.bericht.upper())
            heen = own is not None and own.is_heen and own.answers == retour_row.name
        if target is None:
            reason = (
                report.issues[0].message
                if report.issues and root is None
                else f"geen heenbericht van een bekende release maar {report.bericht or 'onbekend'}"
            )
            return CakResult(
                source, "no_retour", None, 1, (), tuple(report.issues), f"kop onleesbaar: {reason}"
            )
        if not heen or (level is not None and level <= 2):
            return self._technical(root, target, report.issues, level if heen and level else 1, source, day)
        assert root is not None
        try:
            delivery = _delivery(root, target[0].heen_of(target[1].name))
            with self.engine.begin() as conn:
                return self._assess(conn, root, target, delivery, data, report.issues, source, day)
        except (ValueError, OverflowError, ArithmeticError) as exc:  # a rule that cannot decide this value
            return self._unassessable(data, functie, source, day, "beoordeling", exc)

    def _unassessable(
        self, data: bytes, functie: str | None, source: str, day: dt.date, stage: str, exc: Exception
    ) -> CakResult:
        """A technical retour (0001) for a message whose checks broke down: the CAK cannot assess it."""
        log.warning("CAK kon %s niet beoordelen (%s): %s", source, stage, mask_bsns(str(exc)))
        try:
            root: etree._Element | None = parse_bytes(data)
        except XmlProblem as problem:
            root = _readable_root(data, None, problem.issues)
        target = _retour_of(root, functie)
        issue = Issue(
            "XSD", "0001", 2, None, f"Het CAK kon het bericht niet beoordelen ({stage}); technisch afgekeurd."
        )
        if target is None:
            return CakResult(source, "no_retour", None, 1, (), (issue,), f"kop onleesbaar: {issue.message}")
        return self._technical(root, target, [issue], 2, source, day)

    def _technical(
        self,
        root: etree._Element | None,
        target: tuple[ReleasePack, MessageDef],
        issues: Sequence[Issue],
        level: int,
        source: str,
        day: dt.date,
        codes: tuple[str, ...] = ("0001",),
    ) -> CakResult:
        pack, retour = target
        if level == 1 and self.config.level1 == "none" and not pack.level1_fo01:
            return CakResult(
                source, "no_retour", None, 1, (), tuple(issues), "niveau 1 zonder retour (IV032)"
            )
        encoding_only = bool(issues) and all(i.code == "OP192" for i in issues)
        # iEb 4.0: the CAK answers an XSD-invalid payload with Fo01; a file whose only fault is its
        # encoding (a BOM, UTF-16: OP192) is valid under the XSD, so it gets its retour (header + 0001)
        if level == 1 and pack.level1_fo01 and not encoding_only:
            first = issues[0].message if issues else "niet geldig volgens het XSD"
            return CakResult(
                source,
                "no_retour",
                None,
                1,
                (),
                tuple(issues),
                f"het bericht is niet geldig volgens het XSD ({pack.name}): {first}",
                fo01_code=pack.level1_fo01,
            )
        kop = retour_kop(_child(root, "Header"), day, retour)
        with self.engine.begin() as conn:
            payload = _retour_xml(
                pack,
                retour,
                kop,
                self._next_retour_id(conn),
                day,
                self.config.xslt_versie if level == 2 else None,
                codes,
            )
            payload = _checked(pack, retour, payload, day)
        reason = f"kopwaarden vervangen: {', '.join(kop.vervangen)}" if kop.vervangen else None
        return CakResult(source, "technical", payload, level, codes, tuple(issues), reason)

    def _next_retour_id(self, conn: Connection) -> str:
        return str(self.ledger.next_value(conn, "cak", "retour"))

    def _assess(
        self,
        conn: Connection,
        root: etree._Element,
        target: tuple[ReleasePack, MessageDef],
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
        pack, retour = target
        header_issues = [i for i in context_issues if i.retourcode in pack.retourcodes.header_codes]
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
            return self._technical(root, target, [*context_issues, issue], 2, source, day)
        issues, header_codes, client_codes, class_codes = self._level3_codes(
            conn, pack, delivery, earlier is not None, header_issues, context_issues
        )
        rejected = bool(issues)
        kop = retour_kop(_child(root, "Header"), day, retour)
        identificatie_retour = self._next_retour_id(conn)
        heen_client = _child(root, "Client")  # present: the heenbericht passed its XSD
        client = (heen_client, client_codes, class_codes) if rejected and heen_client is not None else None
        payload = _retour_xml(
            pack,
            retour,
            kop,
            identificatie_retour,
            day,
            self.config.xslt_versie,
            header_codes if rejected else (),
            client,
        )
        payload = _checked(pack, retour, payload, day, identificatie_retour)
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
        pack: ReleasePack,
        delivery: Delivery | None,
        seen_before: bool,
        header_issues: list[Issue],
        context_issues: list[Issue],
    ) -> tuple[list[Issue], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(findings, header codes, Client codes, class codes) of a level-3 assessment (spec section 7).

        The pack's header codes (iEb 1.0: 8848 and S300) concern the header: they go in the header
        and the Client and its class get 0233 (not assessed). Otherwise the Client gets 0200 and the
        class the codes of the level-3 findings: the pack's repeat rule (:data:`_REPEAT_RULES`; iEb
        1.0: TR102, 9102) when the BerichtIdentificatie was ``seen_before`` with other content, else
        the history rules the pack lists (:func:`ieb.ledger.history.check_history`); 0200 when there
        are none.
        """
        if header_issues:
            header_codes = tuple(dict.fromkeys(i.retourcode or "" for i in header_issues))
            return header_issues, header_codes, ("0233",), ("0233",)
        assert delivery is not None
        issues = [i for i in context_issues if i.level >= 3]
        if seen_before:
            rule, code = repeat_rule(pack)
            issues.append(
                Issue(
                    rule,
                    code,
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
            release=delivery.row.release,
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
