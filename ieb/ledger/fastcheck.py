"""A compiled one-pass check of the heenberichten the planner itself builds (issue 22).

The planner's pre-flight used to run every planned message through the generic validation engine
(:func:`ieb.validation.validate_bytes`: hardened parse, XSD, then each rule walking the tree by path).
For a message the planner built from a :class:`~ieb.ledger.history.Delivery` the layout is known:
every element occurs once, values are plain (no comments, no surrounding whitespace, dates within
the years 0001-9999). :func:`planned_codes` reads such a document in one pass over its elements,
validates it against the same compiled XSD and applies the in-message rules of iEb 1.0 and 4.0 to
the values read, with the same parameters as the engine (revision by Dagtekening, CBS gemeentelijst,
national tariffs).

It answers with the rule codes that fail (an empty tuple: the message passes), or ``None`` when the
document is not of that known shape (a foreign file, a release whose rules are not compiled here, a
value the engine would read differently). The planner then runs the full engine: for ``None``, and
whenever a code is found (the engine writes the exact Dutch messages). The full engine stays the
only validator of foreign files. ``tests/ledger/test_fastcheck.py`` proves with hypothesis that both
give the same verdict on planner-built and on mutated messages.

Sources of the rules: :mod:`ieb.releases.ieb_1_0.rules` (CS002, CS125, CS015, CS025, CS126, CS300,
CS332-CS334, TR112, TR113, TR116, TR117, 8848) and :mod:`ieb.releases.ieb_4_0.rules` (CS002, CS125,
XSD-DATUM, TR394, TR378, TR409, TR135); the ``final`` rule IEB-DATUM never fires on a date this
module accepts (years 0001-9999 only).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from lxml import etree

from ieb.codec import to_xml
from ieb.dates import IEB_START, add_months
from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.issues import Issue
from ieb.ledger.history import Delivery, pack_of
from ieb.policy.cs333 import cs333_tariff
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import Registry, default_registry
from ieb.releases.ieb_1_0 import table as TABLE_10
from ieb.releases.ieb_1_0.revisions import revision_on
from ieb.releases.pack import MessageDef, ReleasePack
from ieb.types import bsn_is_valid
from ieb.validation.gemeenten import GemeenteLijst, bundled_gemeenten

__all__ = ["COMPILED_RULES", "planned_codes", "planned_message"]

#: The rule lists (in-message, final) of the packs whose rules are compiled here, by pack name. A pack
#: registered under that name with other rules is not checked here (``None``: the full engine runs).
COMPILED_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ieb-1.0": (
        (
            "CS002",
            "CS125",
            "CS015",
            "CS025",
            "CS126",
            "CS300",
            "CS332",
            "CS333",
            "CS334",
            "TR112",
            "TR113",
            "TR116",
            "TR117",
            "8848",
        ),
        ("IEB-DATUM",),
    ),
    "ieb-4.0": (("CS002", "CS125", "XSD-DATUM", "TR394", "TR378", "TR409", "TR135"), ("IEB-DATUM",)),
}

#: Our own, trusted bytes: no DTD, no entities, no network; a document larger than this is not one
#: the planner built (``None``).
_MAX_BYTES = 64 * 1024
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"-?[0-9]{1,18}")
_BSN = re.compile(r"[0-9]{9}")


class _Unknown(Exception):
    """The document is not of the planner's shape: let the full engine decide."""


Values = dict[str, str]


def _date(values: Values, name: str) -> dt.date | None:
    text = values.get(name)
    if text is None:
        return None
    if not _DATE.fullmatch(text):
        raise _Unknown(name)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise _Unknown(name) from None
    if day.year < 1:  # pragma: no cover - four digits and fromisoformat refuse year 0
        raise _Unknown(name)
    return day


def _int(values: Values, name: str) -> int | None:
    text = values.get(name)
    if text is None:
        return None
    if not _INT.fullmatch(text):
        raise _Unknown(name)
    return int(text)


def _read(root: etree._Element) -> Values:
    """Every leaf element's text by local name (one pass). Raises _Unknown for a comment,
    processing instruction, attribute, repeated name or mixed text."""
    values: Values = {}
    branches: set[str] = set()
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str) or el.attrib:
            raise _Unknown("node")
        local = tag.rpartition("}")[2]
        if local in values or local in branches:
            raise _Unknown(local)
        if len(el):
            if el.text is not None and el.text.strip():
                raise _Unknown(local)
            branches.add(local)
        else:
            text = el.text or ""
            if text != text.strip() or "\n" in text or "\r" in text or "\t" in text:
                raise _Unknown(local)  # the engine's readers collapse or keep whitespace per type
            values[local] = text
        if el.tail is not None and el.tail.strip():
            raise _Unknown(local)
    return values


# ------------------------------------------------------------------------------------ iEb 1.0

_VERSIONS_10 = TABLE_10.VERSIONS
_START_10 = TABLE_10.START.name
_STOP_10 = TABLE_10.STOP.name


@functools.lru_cache(maxsize=64)
def _windows_10(dagtekening: dt.date) -> tuple[frozenset[str], dt.date, dt.date, dt.date, dt.date]:
    """The revision's TR112 messages and the limits of TR112 / TR113 / TR116 / TR117 for one
    Dagtekening (a plan has one Dagtekening: computed once)."""
    rev = revision_on(dagtekening)
    return (
        rev.tr112_messages,
        add_months(dagtekening, -rev.months_back("TR112")),
        add_months(dagtekening, rev.months_ahead("TR113")),
        add_months(dagtekening, -rev.months_back("TR116")),
        add_months(dagtekening, rev.months_ahead("TR117")),
    )


def _check_10(
    spec: MessageDef,
    values: Values,
    today: dt.date,
    gemeenten: Callable[[], GemeenteLijst],
    tariffs: TariffTable,
) -> list[str]:
    codes: list[str] = []
    name = spec.name
    heen = spec.is_heen
    bsn = values.get("Bsn")
    if bsn is not None and _BSN.fullmatch(bsn) and not bsn_is_valid(bsn):
        codes.append("CS002")
    status = values.get("StatusAanlevering")
    if status is not None and status not in ("1", "2", "3"):
        codes.append("CS125")
    subversie, versie = _int(values, "BerichtSubversie"), _int(values, "BerichtVersie")
    if subversie is not None and subversie != _VERSIONS_10.bericht_subversie:
        codes.append("CS015")
    if versie is not None and versie != _VERSIONS_10.bericht_versie:
        codes.append("CS025")
    code = values.get("BerichtCode")
    if spec.bericht_code and code is not None and code != spec.bericht_code:
        codes.append("CS126")
    dagtekening = _date(values, "Dagtekening")
    if not heen:
        return codes
    afzender = values.get("Afzender")
    if afzender is not None and len(afzender) == 4 and afzender.isascii() and afzender.isdigit():
        if not gemeenten().is_valid(afzender, dagtekening if dagtekening is not None else today):
            codes.append("CS300")
    datum = _date(values, spec.date_element or "")
    if datum is not None and datum < IEB_START:
        codes.append("CS332")
    if name == _START_10:
        bedrag, kstart = _int(values, "KostprijsBedrag"), _date(values, "KostprijsStartdatum")
        if bedrag is not None and kstart is not None and bedrag >= 0:
            try:
                if cs333_tariff(bedrag, kstart, tariffs) is not None:
                    codes.append("CS333")
            except ConfigurationError:
                pass
        start = _date(values, "EbStartdatum")
        if start is not None and kstart is not None and kstart < start:
            codes.append("CS334")
    if dagtekening is not None and datum is not None:
        tr112_messages, tr112, tr113, tr116, tr117 = _windows_10(dagtekening)
        klasse = spec.klasse or ""
        in_class = klasse in ("StartEigenBijdrage", "StopEigenBijdrage")
        if name in tr112_messages and in_class and status == "1" and datum < tr112:
            codes.append("TR112")
        if in_class and status == "1" and datum > tr113:
            codes.append("TR113")
        if name == _STOP_10 and klasse == "StopEigenBijdrage" and status == "2":
            if datum < tr116:
                codes.append("TR116")
            if datum > tr117:
                codes.append("TR117")
    if dagtekening is not None and dagtekening > today:
        codes.append("8848")
    return codes


# ------------------------------------------------------------------------------------ iEb 4.0


def _check_40(
    spec: MessageDef,
    values: Values,
    today: dt.date,
    gemeenten: Callable[[], GemeenteLijst],
    tariffs: TariffTable,
) -> list[str]:
    from ieb.releases.ieb_4_0.delivery import WMO405 as start_stop
    from ieb.releases.ieb_4_0.rules import HEEN, PARAMETERS

    codes: list[str] = []
    name = spec.name
    bsn = values.get("Bsn")
    if bsn is not None and _BSN.fullmatch(bsn) and not bsn_is_valid(bsn):
        codes.append("CS002")
    status = values.get("StatusAanlevering")
    if status is not None and status not in ("1", "2", "3"):
        codes.append("CS125")
    # XSD-DATUM: every date was read strictly (JJJJ-MM-DD) or the document is _Unknown
    dagtekening = _date(values, "Dagtekening")
    for leaf in ("EbStartdatum", "EbStopdatum", "KostprijsStartdatum", "BwStartdatum", "BwStopdatum"):
        _date(values, leaf)
    if name == start_stop and status == "2":
        stop = _date(values, "EbStopdatum")
        if stop is not None and dagtekening is not None:
            if stop < add_months(dagtekening, -PARAMETERS.revision_term_months):
                codes.append("TR394")
    if name in HEEN:
        afzender = values.get("Afzender")
        if afzender is not None and len(afzender) == 4 and afzender.isdigit():
            day = dagtekening if dagtekening is not None else today
            start = _date(values, "EbStartdatum" if name == start_stop else "BwStartdatum")
            days = [day] + ([start] if start is not None else [])
            lijst = gemeenten()
            if not any(lijst.is_valid(afzender, d) for d in days):
                codes.append("TR378")
    if name == start_stop:
        bedrag, kstart = _int(values, "KostprijsBedrag"), _date(values, "KostprijsStartdatum")
        if bedrag is not None and kstart is not None and bedrag >= 0:
            try:
                if cs333_tariff(bedrag, kstart, tariffs) is not None:
                    codes.append("TR409")
            except ConfigurationError:
                pass
    if name in HEEN and dagtekening is not None and dagtekening > today:
        codes.append("TR135")
    return codes


_CHECKS = {"ieb-1.0": _check_10, "ieb-4.0": _check_40}


def _compiled(pack: ReleasePack) -> bool:
    expected = COMPILED_RULES.get(pack.name)
    if expected is None:
        return False
    message = tuple(r.code for r in pack.rules.message)
    final = tuple(r.code for r in pack.rules.final)
    return (message, final) == expected


def planned_codes(
    xml: bytes,
    *,
    today: dt.date,
    gemeenten: GemeenteLijst | None = None,
    tariffs: TariffTable = NATIONAL_TARIFFS,
    registry: Registry | None = None,
) -> tuple[str, ...] | None:
    """The codes of the rules a planner-built heenbericht fails, or ``None`` when it cannot tell.

    ``xml``: the serialised message (bytes as sent); ``today``: the receiver's system date (8848 /
    TR135); ``gemeenten``: the CBS list (default the bundled one, as ``validate_bytes``);
    ``tariffs``: the national tariffs (CS333 / TR409, eurocent). ``("XSD",)`` means the document is
    not valid against its XSD (nothing else is looked at). An empty tuple: the message passes levels
    1 and 2 and the level-3 rules without history, exactly as :func:`ieb.validation.validate_bytes`
    with the same arguments would report no issue. Never raises for any bytes.
    """
    if not isinstance(xml, bytes) or len(xml) > _MAX_BYTES:
        return None
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        return None
    return _codes(root, today, gemeenten, tariffs, registry or default_registry)


def _codes(
    root: etree._Element,
    today: dt.date,
    gemeenten: GemeenteLijst | None,
    tariffs: TariffTable,
    registry: Registry,
    known: tuple[ReleasePack, MessageDef, Values] | None = None,
) -> tuple[str, ...] | None:
    """``known``: the release, message and leaf values of a tree built from a :class:`_Shape` (read
    when the shape was made, the delivery's values set since), instead of reading ``root``."""
    if known is not None:
        release, spec, values = known
    else:
        try:
            release, spec = registry.detect(root)
        except UnknownMessageError:
            return None
        if not _compiled(release):
            return None
        try:
            values = _read(root)
        except _Unknown:
            return None
    if not spec.schema.validate(root):
        return ("XSD",)
    lijst: list[GemeenteLijst] = [gemeenten] if gemeenten is not None else []

    def loader() -> GemeenteLijst:
        if not lijst:
            lijst.append(bundled_gemeenten())
        return lijst[0]

    try:
        codes = _CHECKS[release.name](spec, values, today, loader, tariffs)
    except _Unknown:
        return None
    return tuple(codes)


# ------------------------------------------------------------------------- building, checked

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class _Shape:
    """A message tree built once through the model (``to_xml(d.to_message())``), with the paths
    (child indexes from the root) of the elements that carry a Delivery's values."""

    root: etree._Element
    #: Delivery attribute, element local name, child indexes from the root
    slots: tuple[tuple[str, str, tuple[int, ...]], ...]
    release: ReleasePack
    spec: MessageDef
    #: every leaf's text as read from the tree (:func:`_read`); the slots are overwritten per delivery
    values: Values


#: Delivery attribute -> the element local name it is written to (all releases compiled here)
_LEAVES = {
    "afzender": "Afzender",
    "identificatie": "Identificatie",
    "dagtekening": "Dagtekening",
    "bsn": "Bsn",
    "eb_start_nummer": "EbStartNummer",
    "status": "StatusAanlevering",
    "kostprijs_bedrag": "KostprijsBedrag",
    "kostprijs_startdatum": "KostprijsStartdatum",
}
_SHAPES: dict[tuple[object, ...], _Shape | None] = {}
#: sample values of the right type for building a shape (the values are overwritten per delivery)
_SAMPLE_DAY = dt.date(2024, 1, 1)


def _path(root: etree._Element, el: etree._Element) -> tuple[int, ...]:
    steps: list[int] = []
    node = el
    while node is not root:
        parent = node.getparent()
        assert parent is not None
        steps.append(parent.index(node))
        node = parent
    return tuple(reversed(steps))


def _shape(d: Delivery) -> _Shape | None:
    """The tree of ``d``'s message shape (which optional values are present), built once."""
    try:
        pack = pack_of(d.bericht)
    except UnknownMessageError:
        return None
    # the pack object is part of the key: a pack registered anew (an official XSD folder) gets its own
    key = (pack, d.bericht, d.kostprijs_bedrag is None, d.kostprijs_startdatum is None, d.stopdatum is None)
    if key in _SHAPES:
        return _SHAPES[key]
    shape: _Shape | None = None
    try:
        row = d.row
        if pack.name in _CHECKS and row.date_element:
            sample = replace(
                d,
                afzender="0363",
                identificatie="1",
                dagtekening=_SAMPLE_DAY,
                bsn="999900006",
                eb_start_nummer=1,
                status="1",
                datum=_SAMPLE_DAY,
                kostprijs_bedrag=None if d.kostprijs_bedrag is None else 1,
                kostprijs_startdatum=None if d.kostprijs_startdatum is None else _SAMPLE_DAY,
                stopdatum=None if d.stopdatum is None else _SAMPLE_DAY,
            )
            root = etree.fromstring(to_xml(sample.to_message()), _PARSER)
            names = dict(_LEAVES, datum=row.date_element)
            stop = _stop_leaf(row)
            if stop is not None:
                names["stopdatum"] = stop
            by_name: dict[str, etree._Element] = {}
            for el in root.iter():
                if isinstance(el.tag, str) and not len(el):
                    local = el.tag.rpartition("}")[2]
                    if local in by_name:
                        raise _Unknown(local)
                    by_name[local] = el
            slots = tuple(
                (attr, name, _path(root, by_name[name])) for attr, name in names.items() if name in by_name
            )
            written = {attr for attr, _, _ in slots}
            needed = {a for a in names if getattr(d, a) is not None}
            release, spec = default_registry.detect(root)
            if needed <= written and _compiled(release):
                shape = _Shape(root, slots, release, spec, _read(root))
    except (ValueError, ConfigurationError, UnknownMessageError, _Unknown, etree.XMLSyntaxError):
        shape = None  # no model, or a value the model refuses: the caller builds the usual way
    _SHAPES[key] = shape
    return shape


def _stop_leaf(row: MessageDef) -> str | None:
    for path in row.klasse_fields:
        leaf = path[-1]
        if leaf != row.date_element and leaf.endswith("Stopdatum"):
            return leaf
    return None


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _element(d: Delivery) -> tuple[etree._Element, tuple[ReleasePack, MessageDef, Values]] | None:
    """``d``'s message tree and what :func:`_codes` needs to know about it; None when ``d`` has a
    value the one-pass reader would refuse (the caller builds through the model then)."""
    shape = _shape(d)
    if shape is None:
        return None
    root = copy.deepcopy(shape.root)
    values = dict(shape.values)
    for attr, name, steps in shape.slots:
        text = _text(getattr(d, attr))
        if text != text.strip() or "\n" in text or "\r" in text or "\t" in text:
            return None
        node = root
        for i in steps:
            node = node[i]
        try:
            node.text = text
        except ValueError:  # a character XML cannot carry
            return None
        values[name] = text
    return root, (shape.release, shape.spec, values)


def planned_message(
    d: Delivery,
    *,
    today: dt.date,
    gemeenten: GemeenteLijst | None = None,
    tariffs: TariffTable = NATIONAL_TARIFFS,
) -> tuple[bytes, list[Issue]]:
    """The heenbericht of a planned delivery as bytes and its in-message issues (none: it passes).

    Exactly ``to_xml(d.to_message())`` and ``validate_bytes(xml, today=..., gemeenten=...,
    tariffs=...).issues``: for a release compiled here the message is written from a tree built
    once per message shape (values set in place, no model), validated against the XSD in memory
    and checked by the compiled rules; when those find anything (or cannot tell) the message is
    built through its model and the full engine reports the exact issues. Raises what
    :meth:`Delivery.to_message` raises for a value the model refuses (``ValueError``).
    """
    from ieb.validation import validate_bytes

    built = _element(d)
    if built is not None:
        root, known = built
        if _codes(root, today, gemeenten, tariffs, default_registry, known) == ():
            return _DECLARATION + etree.tostring(root, encoding="UTF-8") + b"\n", []
    xml = to_xml(d.to_message())
    codes = planned_codes(xml, today=today, gemeenten=gemeenten, tariffs=tariffs)
    if codes == ():
        return xml, []
    return xml, list(validate_bytes(xml, today=today, gemeenten=gemeenten, tariffs=tariffs).issues)
