"""A compiled one-pass check of the heenberichten the planner itself builds (issue 22).

The planner's pre-flight used to run every planned message through the generic validation engine
(:func:`ieb.validation.validate_bytes`: hardened parse, XSD, then each rule walking the tree by path).
For a message the planner built from a :class:`~ieb.ledger.history.Delivery` the tree is known, so
this module validates it against the same compiled XSD and applies the release pack's compiled
checker (:mod:`ieb.releases.compiled`, the one ``validate_bytes`` uses too; the checks come from the
pack) to its values, with the same parameters as the engine (revision by Dagtekening, CBS
gemeentelijst, national tariffs).

It answers with the rule codes that fail (an empty tuple: the message passes), or ``None`` when it
cannot tell (a foreign file, a pack without a compiled checker, a value the checker does not read
itself). The planner then runs the full engine: for ``None``, and whenever a code is found (the
engine writes the exact Dutch messages). The full engine stays the only validator of foreign files.
``tests/ledger/test_fastcheck.py`` proves with hypothesis that both give the same verdict on
planner-built and on mutated messages of every built-in release.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from lxml import etree

from ieb.codec import to_xml
from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.issues import Issue
from ieb.ledger.history import Delivery, pack_of
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import Registry, default_registry
from ieb.releases.compiled import Checker, Env, checker_of
from ieb.releases.pack import MessageDef
from ieb.validation.gemeenten import GemeenteLijst, bundled_gemeenten

__all__ = ["planned_codes", "planned_message"]

#: Our own, trusted bytes: no DTD, no entities, no network; a document larger than this is not one
#: the planner built (``None``).
_MAX_BYTES = 64 * 1024
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
)


class _Unknown(Exception):
    """The tree is not of the shape the planner fills in: build through the model."""


def _loader(gemeenten: GemeenteLijst | None) -> Callable[[], GemeenteLijst]:
    return bundled_gemeenten if gemeenten is None else (lambda: gemeenten)


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
    known: tuple[Checker, list[str | None]] | None = None,
) -> tuple[str, ...] | None:
    """``known``: the checker and the slot values of a tree built from a :class:`_Shape` (read when
    the shape was made, the delivery's values set since), instead of reading ``root``."""
    if known is not None:
        checker, values = known
    else:
        try:
            release, spec = registry.detect(root)
        except UnknownMessageError:
            return None
        found = checker_of(release, spec)
        if found is None:
            return None
        checker = found
        read = checker.values(root)
        if read is None:
            return None
        values = read
    if not checker.spec.schema.validate(root):
        return ("XSD",)
    failing = checker.failing(values, Env(today, tariffs, _loader(gemeenten)))
    if failing is None:
        return None
    return tuple(rule.issue_code or rule.code for rule in failing)


# ------------------------------------------------------------------------- building, checked

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class _Shape:
    """A message tree built once through the model (``to_xml(d.to_message())``), with the paths
    (child indexes from the root) of the elements that carry a Delivery's values."""

    root: etree._Element
    #: Delivery attribute, child indexes from the root, the checker's slots of that element
    slots: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    checker: Checker
    #: the checker's slot values as read from the tree; the slots are overwritten per delivery
    values: tuple[str | None, ...]


#: Delivery attribute -> the element local name it is written to (every built-in release)
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
        if row.date_element:
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
            shape = _shape_of(d, row, root)
    except (ValueError, ConfigurationError, UnknownMessageError, _Unknown, etree.XMLSyntaxError):
        shape = None  # no model, or a value the model refuses: the caller builds the usual way
    _SHAPES[key] = shape
    return shape


def _shape_of(d: Delivery, row: MessageDef, root: etree._Element) -> _Shape | None:
    """The shape of the tree ``root`` built for ``d`` (None: not one the checker reads)."""
    release, spec = default_registry.detect(root)
    checker = checker_of(release, spec)
    if checker is None:
        return None
    nodes, layout = checker.layout(root)
    values = checker.values(root)
    if values is None:
        return None
    names = dict(_LEAVES, datum=row.date_element or "")
    stop = _stop_leaf(row)
    if stop is not None:
        names["stopdatum"] = stop
    by_name: dict[str, int] = {}
    for position, el in enumerate(nodes):
        if isinstance(el.tag, str) and not len(el):
            local = el.tag.rpartition("}")[2]
            if local in by_name:
                raise _Unknown(local)
            by_name[local] = position
    slots = tuple(
        (
            attr,
            _path(root, nodes[by_name[name]]),
            tuple(k for k, p in enumerate(layout.positions) if p == by_name[name]),
        )
        for attr, name in names.items()
        if name in by_name
    )
    written = {attr for attr, _, _ in slots}
    needed = {a for a in names if getattr(d, a) is not None}
    if not needed <= written:
        return None
    return _Shape(root, slots, checker, tuple(values))


def _stop_leaf(row: MessageDef) -> str | None:
    for path in row.klasse_fields:
        leaf = path[-1]
        if leaf != row.date_element and leaf.endswith("Stopdatum"):
            return leaf
    return None


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _element(d: Delivery) -> tuple[etree._Element, tuple[Checker, list[str | None]]] | None:
    """``d``'s message tree and what :func:`_codes` needs to know about it; None when ``d`` has a
    value the tree built once cannot carry as the model writes it (the caller builds through the
    model then)."""
    shape = _shape(d)
    if shape is None:
        return None
    root = copy.deepcopy(shape.root)
    values = list(shape.values)
    for attr, steps, slots in shape.slots:
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
        for k in slots:
            values[k] = text
    return root, (shape.checker, values)


def planned_message(
    d: Delivery,
    *,
    today: dt.date,
    gemeenten: GemeenteLijst | None = None,
    tariffs: TariffTable = NATIONAL_TARIFFS,
) -> tuple[bytes, list[Issue]]:
    """The heenbericht of a planned delivery as bytes and its in-message issues (none: it passes).

    Exactly ``to_xml(d.to_message())`` and ``validate_bytes(xml, today=..., gemeenten=...,
    tariffs=...).issues``: for a release with a compiled checker the message is written from a tree
    built once per message shape (values set in place, no model), validated against the XSD in
    memory and checked by the pack's compiled rules; when those find anything (or cannot tell) the
    message is built through its model and the full engine reports the exact issues. Raises what
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
