"""The compiled checker of a release pack: the in-message rules of one message as plain checks over
the values found in one pass over the tree (issue 22).

The rule engine (:mod:`ieb.releases.rules`) runs each rule as a generator over a
:class:`~ieb.releases.rules.RuleContext` that finds every value again and writes Dutch findings. Most
files have no finding, and for those the engine is the expensive way to say so. A pack therefore
supplies, next to each rule, a *check factory* (``ReleasePack.compiled``: a zero-argument callable
returning ``{rule: factory}``, called on first use, so importing a pack stays cheap). A factory gets
a :class:`Compiler` for one message, asks it for the value slots it reads (:meth:`Compiler.at`,
:meth:`Compiler.first`, :meth:`Compiler.typed`) and returns a :data:`Check`:
``check(values, env) -> bool`` over the values of those slots (plain strings) and the receiver's
context (:class:`Env`).

A check answers for its rule only:

* ``True``: the engine's rule certainly reports nothing for this document;
* ``False``: the engine's rule certainly reports at least one finding;
* it raises :class:`Unsure` when its plain reading might differ from the engine's (a date with
  whitespace, a year outside 1000-8999, ...).

:func:`checker_of` compiles one :class:`Checker` per (pack, message) when every rule that applies
to the message has a factory (the generic rules of :mod:`ieb.releases.rules` have theirs here);
otherwise there is none and the engine runs. Users:

* ``ieb.validation.validate_bytes`` asks :meth:`Checker.clean` on an XSD-valid tree and returns
  without the engine when it is True; otherwise the engine alone writes the findings (texts,
  locations and order cannot differ);
* the planner's pre-flight (``ieb.ledger.fastcheck``) asks :meth:`Checker.failing` for the codes of
  the rules a message it built fails, and lets the engine write them.

Reading the values (:meth:`Checker.values`): one ``iter()`` over every node of the tree gives its
tags, child counts and texts; tags and child counts fix the tree's layout, and for each layout (kept,
bounded) the slot positions are worked out once, exactly as the engine finds elements: ``at`` is
:meth:`RuleContext.find` (the first child with that namespaced tag at each step), ``first`` the first
of :meth:`RuleContext.elements_at` (local names), ``typed`` every element of a type (as
:func:`~ieb.releases.rules.typed_elements`). The checker declines (:meth:`Checker.values` is None)
when a slot's element is not a leaf (a comment inside a value) or a typed path holds two elements.
Values are the element's text (``""`` when empty; None when absent). Nothing here reads a file or
the network; no value of a hostile file is kept beyond the layout (bounded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from lxml import etree

from ieb.errors import ConfigurationError
from ieb.policy.cs333 import cs333_tariff
from ieb.policy.tariffs import TariffTable
from ieb.releases.pack import MessageDef, ReleasePack
from ieb.releases.rules import DATE_RANGE_RULE, GENERIC_RULES, Rule
from ieb.values import collapse, parse_xsd_integer

if TYPE_CHECKING:  # pragma: no cover
    from ieb.validation.gemeenten import GemeenteLijst

__all__ = [
    "GENERIC_FACTORIES",
    "Check",
    "CheckFactory",
    "Checker",
    "Compiler",
    "Env",
    "Unsure",
    "Values",
    "checker_of",
    "compile_checker",
    "date_of",
    "eleven_proof",
    "integer_of",
    "passes",
]

#: The values of one document by slot: the element's text (``""`` when empty), None when absent.
Values = Sequence[str | None]


class Unsure(Exception):
    """A check cannot tell from the plain values: the engine decides."""


class Env:
    """What a check may know besides the values: ``today`` (the receiver's date), ``tariffs`` (the
    national tariffs, eurocent), ``revision`` (a forced revision object of the pack, or None) and the
    CBS gemeente list (loaded on first use, as the engine does)."""

    __slots__ = ("_lijst", "_loader", "revision", "tariffs", "today")

    def __init__(
        self,
        today: dt.date,
        tariffs: TariffTable,
        gemeenten_loader: Callable[[], GemeenteLijst],
        revision: object | None = None,
    ) -> None:
        self.today = today
        self.tariffs = tariffs
        self.revision = revision
        self._loader = gemeenten_loader
        self._lijst: GemeenteLijst | None = None

    @property
    def gemeenten(self) -> GemeenteLijst:
        """The gemeente list (the loader is called once)."""
        if self._lijst is None:
            self._lijst = self._loader()
        return self._lijst

    def gemeente_valid(self, code: str, day: dt.date) -> bool:
        """``self.gemeenten.is_valid(code, day)``, remembered per list, code and day (bounded)."""
        lijst = self.gemeenten
        key = (id(lijst), code, day)
        hit = _GEMEENTEN.get(key)
        if hit is not None and hit[0] is lijst:
            return hit[1]
        valid = lijst.is_valid(code, day)
        if len(_GEMEENTEN) >= _MEMO_MAX:
            _GEMEENTEN.clear()
        _GEMEENTEN[key] = (lijst, valid)
        return valid

    def tariff_fails(self, bedrag: int, start: dt.date) -> bool:
        """``cs333_tariff(bedrag, start, self.tariffs) is not None`` (False when the table has no
        tariff on ``start``): the tariff in force is remembered per table and date (bounded)."""
        tariffs = self.tariffs
        key = (id(tariffs), start)
        hit = _TARIFFS.get(key)
        if hit is None or hit[0] is not tariffs:
            try:
                # the limit itself: no amount (0 eurocent) is above a (positive) tariff
                tariff = cs333_tariff(0, start, tariffs)
                limit = None if tariff is None else tariff.bedrag_cent
            except ConfigurationError:
                limit = None
            if len(_TARIFFS) >= _MEMO_MAX:
                _TARIFFS.clear()
            hit = _TARIFFS[key] = (tariffs, limit)
        limit = hit[1]
        return limit is not None and bedrag <= limit


#: remembered answers of the gemeente list and the tariff table (the object is kept, so an id is
#: never taken for another object's)
_GEMEENTEN: dict[tuple[int, str, dt.date], tuple[object, bool]] = {}
_TARIFFS: dict[tuple[int, dt.date], tuple[object, int | None]] = {}
_MEMO_MAX = 4096


#: A compiled rule: True = certainly no finding, False = certainly a finding; raises Unsure.
Check = Callable[[Values, Env], bool]
#: Makes the check of one rule for the message of a :class:`Compiler`.
CheckFactory = Callable[["Compiler"], Check]


def passes(values: Values, env: Env) -> bool:
    """The check of a rule that can find nothing in this message."""
    return True


# ------------------------------------------------------------------------------ plain readers

#: plain date texts already read (bounded: emptied when full)
_DATES: dict[str, dt.date] = {}
_DATES_MAX = 4096


def eleven_proof(value: str) -> bool:
    """:func:`ieb.types.bsn_is_valid` for nine ASCII digits (weights 9..2 and -1, sum divisible by
    11), without the generic path (a test compares both on every kind of nine digits). On the
    digits' byte values the sum is off by 48 times the weights' sum (43): 48 * 43 % 11 == 7."""
    b = value.encode("ascii")
    return (
        9 * b[0] + 8 * b[1] + 7 * b[2] + 6 * b[3] + 5 * b[4] + 4 * b[5] + 3 * b[6] + 2 * b[7] - b[8]
    ) % 11 == 7


def date_of(text: str | None) -> dt.date | None:
    """The ``xs:date`` value of a plain ``JJJJ-MM-DD`` text with a year 1000-8999 (where
    :class:`~ieb.dates.XsdDate` and :class:`datetime.date` order, shift by months and clamp alike);
    None when absent. Raises :class:`Unsure` for any other text (whitespace, a timezone, another
    year, not a date: the engine reads it)."""
    if text is None:
        return None
    day = _DATES.get(text)
    if day is not None:
        return day
    if (
        len(text) != 10
        or not text.isascii()
        or text[4] != "-"
        or text[7] != "-"
        or not (text[:4].isdigit() and text[5:7].isdigit() and text[8:].isdigit())
    ):
        raise Unsure
    year = int(text[:4])
    if not 1000 <= year <= 8999:
        raise Unsure
    try:
        day = dt.date(year, int(text[5:7]), int(text[8:]))
    except ValueError:
        raise Unsure from None
    if len(_DATES) >= _DATES_MAX:
        _DATES.clear()
    _DATES[text] = day
    return day


def integer_of(text: str | None) -> int | None:
    """The ``xs:integer`` value of a text exactly as :func:`ieb.values.read_integer` reads it
    (whitespace collapsed, ``+`` and leading zeros allowed); None when absent or not an integer."""
    if text is None:
        return None
    if 0 < len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return parse_xsd_integer(collapse(text))


# ------------------------------------------------------------------------------ slots and layouts

_AT, _FIRST, _EVERY = "at", "first", "every"
LocalPath = tuple[str, ...]


class Compiler:
    """What a check factory asks for one message (``spec``): the slots of the values it reads.
    Slot numbers index the :data:`Values` a check gets."""

    def __init__(self, spec: MessageDef) -> None:
        self.spec = spec
        self.slots: list[tuple[str, tuple[str, ...]]] = []
        self._index: dict[tuple[str, tuple[str, ...]], int] = {}

    def _slot(self, kind: str, key: tuple[str, ...]) -> int:
        slot = self._index.get((kind, key))
        if slot is None:
            slot = self._index[(kind, key)] = len(self.slots)
            self.slots.append((kind, key))
        return slot

    def at(self, path: str) -> int:
        """The slot of ``RuleContext.find(path)``: a path with ``m:`` (message namespace) and ``b:``
        (basisschema) prefixes, the first child with that tag at each step."""
        ns = {"m": self.spec.namespace, "b": self.spec.basis_namespace or ""}
        tags = tuple(f"{{{ns[p]}}}{local}" for p, _, local in (s.partition(":") for s in path.split("/")))
        return self._slot(_AT, tags)

    def first(self, local_path: LocalPath) -> int:
        """The slot of the first element at ``local_path`` (local names from the root, as
        ``RuleContext.elements_at``)."""
        return self._slot(_FIRST, tuple(local_path))

    def typed(self, type_name: str) -> tuple[int, ...]:
        """The slots of the elements of the schema's paths typed ``type_name`` (as ``typed_elements``
        finds them; the checker declines a document with two elements on one such path)."""
        return tuple(self._slot(_EVERY, path) for path, base in self.spec.types.items() if base == type_name)


class _Layout:
    """Where the slots are in one layout: ``positions`` the node position per slot (-1: absent),
    ``present`` the slots found (a None text there is an empty element), ``take`` picks the slots'
    nodes from the nodes (with a node that stands for "absent" appended)."""

    __slots__ = ("positions", "present", "take")

    def __init__(self, positions: tuple[int, ...]) -> None:
        self.positions = positions
        self.present = tuple(k for k, p in enumerate(positions) if p >= 0)
        # itemgetter of one index returns the item itself, of several a tuple: always ask two or more
        self.take: Callable[[list[Any]], tuple[Any, ...]] = itemgetter(*positions, -1, -1)


#: the layout of a tree the checker declines (a slot on a non-leaf, a typed path twice)
_DECLINE = _Layout(())


class _Absent:
    """Stands for an absent element among the nodes (its text is None); not an lxml node, so it
    is shared by every thread."""

    __slots__ = ()
    text = None


_ABSENT = _Absent()
_TAG = attrgetter("tag")
_TEXT = attrgetter("text")


def _local(tag: object) -> str | None:
    return tag.rpartition("}")[2] if isinstance(tag, str) else None


def _layout(
    slots: Sequence[tuple[str, tuple[str, ...]]], tags: Sequence[object], sizes: Sequence[int]
) -> _Layout:
    """The slot positions in the tree whose nodes in document order have ``tags`` and ``sizes``
    (child counts): the tree is rebuilt from them and searched as the engine searches."""
    children: list[list[int]] = [[] for _ in tags]
    stack = [0]
    left = [sizes[0]] if sizes else []
    for i in range(1, len(tags)):
        while left[-1] == 0:
            stack.pop()
            left.pop()
        children[stack[-1]].append(i)
        left[-1] -= 1
        if sizes[i]:
            stack.append(i)
            left.append(sizes[i])

    def walk(node: int, rest: LocalPath) -> list[int]:
        if not rest:
            return [node]
        found: list[int] = []
        for child in children[node]:
            if _local(tags[child]) == rest[0]:
                found.extend(walk(child, rest[1:]))
        return found

    positions: list[int] = []
    for kind, key in slots:
        if kind == _AT:
            node: int | None = 0
            for tag in key:
                assert node is not None
                node = next((c for c in children[node] if tags[c] == tag), None)
                if node is None:
                    break
            hits = [] if node is None else [node]
        else:
            hits = walk(0, key[1:]) if key and _local(tags[0]) == key[0] else []
            if kind == _EVERY and len(hits) > 1:
                return _DECLINE  # "every element" would be more than one value
        position = hits[0] if hits else -1
        if position >= 0 and sizes[position]:
            return _DECLINE  # a value with a comment (or more) inside: read by the engine
        positions.append(position)
    return _Layout(tuple(positions))


class Checker:
    """The compiled in-message rules of one message (see the module text). ``rules``: the rules
    that apply, message rules first, with their ``checks``; ``finals``: how many of them (at the
    end) are ``final`` rules, run by the engine only when no level-1/2 finding was made; ``slots``:
    what each value slot reads (kind, path)."""

    __slots__ = ("_last", "_layouts", "checks", "finals", "rules", "slots", "spec")

    #: at most this many layouts are kept per message (hostile files may have many)
    MAX_LAYOUTS = 256
    #: only layouts of at most this many nodes are kept (a key is as long as its tree, and a valid
    #: file may hold any number of comments: 256 such keys could hold GBs; tests/attack)
    MAX_KEPT_NODES = 1024

    def __init__(
        self,
        spec: MessageDef,
        rules: tuple[Rule, ...],
        checks: tuple[Check, ...],
        finals: int,
        slots: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> None:
        self.spec = spec
        self.rules = rules
        self.checks = checks
        self.finals = finals
        self.slots = slots
        self._layouts: dict[tuple[object, ...], _Layout] = {}
        self._last: tuple[tuple[object, ...], _Layout] | None = None

    def layout(self, root: etree._Element) -> tuple[list[Any], _Layout]:
        """The nodes of ``root`` in document order (elements, comments, processing instructions)
        and the positions of the slots among them."""
        nodes: list[Any] = list(root.iter())
        if len(nodes) > self.MAX_KEPT_NODES:  # worked out for this tree only, not remembered
            return nodes, _layout(self.slots, list(map(_TAG, nodes)), list(map(len, nodes)))
        key = (*map(_TAG, nodes), *map(len, nodes))
        last = self._last  # files of one layout come in runs: compare before hashing
        if last is not None and last[0] == key:
            return nodes, last[1]
        layouts = self._layouts
        found = layouts.get(key)
        if found is None:
            n = len(nodes)
            found = _layout(self.slots, key[:n], key[n:])
            if len(layouts) >= self.MAX_LAYOUTS:
                layouts.clear()
            layouts[key] = found
        self._last = (key, found)
        return nodes, found

    def values(self, root: etree._Element) -> list[str | None] | None:
        """The values of the slots in ``root`` (None: the checker declines this tree)."""
        nodes, layout = self.layout(root)
        if layout is _DECLINE:
            return None
        nodes.append(_ABSENT)  # position -1: absent
        values: list[str | None] = list(map(_TEXT, layout.take(nodes)))
        del values[-2:]
        if None in values:
            for k in layout.present:
                if values[k] is None:
                    values[k] = ""
        return values

    def clean(
        self,
        root: etree._Element,
        *,
        today: dt.date,
        tariffs: TariffTable,
        gemeenten_loader: Callable[[], GemeenteLijst],
        revision: object | None = None,
    ) -> bool:
        """True when the engine would report nothing for this (XSD-valid) tree; False when it may
        report something. Never raises for a parsed tree."""
        values = self.values(root)
        if values is None:
            return False
        env = Env(today, tariffs, gemeenten_loader, revision)
        try:
            for check in self.checks:
                if not check(values, env):
                    return False
        except Unsure:
            return False
        return True

    def failing(self, values: Values, env: Env) -> tuple[Rule, ...] | None:
        """The rules the engine would report for a tree with these values, in engine order (the
        final rules only when no other rule reports at level 1 or 2); None when a check is unsure."""
        failed: list[Rule] = []
        last = len(self.rules) - self.finals
        try:
            for i, (rule, check) in enumerate(zip(self.rules, self.checks, strict=True)):
                if i == last and any(r.level <= 2 for r in failed):
                    break
                if not check(values, env):
                    failed.append(rule)
        except Unsure:
            return None
        return tuple(failed)


# ------------------------------------------------------------------------------ the generic rules


def _every(check_one: Callable[[str], bool], slots: tuple[int, ...]) -> Check:
    """A check that holds when ``check_one`` holds for each present value of ``slots``."""
    if check_one is _plain_date:  # a text already read as a date (in _DATES) is one: no call for it
        if len(slots) == 1:
            (k,) = slots
            return lambda values, env: (value := values[k]) is None or value in _DATES or _plain_date(value)

        def dates(values: Values, env: Env) -> bool:
            for k in slots:
                value = values[k]
                if value is not None and value not in _DATES:
                    _plain_date(value)
            return True

        return dates
    if len(slots) == 1:
        (k,) = slots
        return lambda values, env: (value := values[k]) is None or check_one(value)

    def check(values: Values, env: Env) -> bool:
        for k in slots:
            value = values[k]
            if value is not None and not check_one(value):
                return False
        return True

    return check


def _bsn_ok(value: str) -> bool:
    # CS002 reads nine ASCII digits only ([0-9]{9}); for ASCII text isdigit() is exactly [0-9]
    return not (len(value) == 9 and value.isascii() and value.isdigit()) or eleven_proof(value)


def _status_ok(value: str) -> bool:
    return value in ("1", "2", "3")


def _plain_date(value: str) -> bool:
    date_of(value)  # JJJJ-MM-DD, a year 1000-8999 (else Unsure): the form is right, the year in range
    return True


def _cs002(c: Compiler) -> Check:
    return _every(_bsn_ok, c.typed("LDT_BurgerServicenummer"))


def _cs125(c: Compiler) -> Check:
    return _every(_status_ok, c.typed("LDT_StatusAanlevering"))


def _datum(c: Compiler) -> Check:
    return _every(_plain_date, c.typed("LDT_Datum"))


#: The factories of the generic rules (CS002, CS125, XSD-DATUM, IEB-DATUM), by rule. A pack maps
#: its own copies of a generic rule (``dataclasses.replace``) to these itself.
GENERIC_FACTORIES: Mapping[Rule, CheckFactory] = {
    GENERIC_RULES[0]: _cs002,
    GENERIC_RULES[1]: _cs125,
    GENERIC_RULES[2]: _datum,
    DATE_RANGE_RULE: _datum,
}


# ------------------------------------------------------------------------------ compiling


def compile_checker(
    spec: MessageDef,
    message_rules: Sequence[Rule],
    final_rules: Sequence[Rule],
    factories: Mapping[Any, CheckFactory],
) -> Checker | None:
    """The checker of ``spec`` for these rule lists (as ``validate_bytes`` runs them), or None when
    a rule that applies to the message has no factory in ``factories`` (or the generic ones)."""
    compiler = Compiler(spec)
    rules: list[Rule] = []
    checks: list[Check] = []
    finals = 0
    for group, is_final in ((message_rules, False), (final_rules, True)):
        for rule in group:
            if not rule.applies_to(spec.name):
                continue
            factory = factories.get(rule) or GENERIC_FACTORIES.get(rule)
            if factory is None:
                return None
            rules.append(rule)
            checks.append(factory(compiler))
            finals += is_final
    return Checker(spec, tuple(rules), tuple(checks), finals, tuple(compiler.slots))


#: (id of pack, id of message) -> (the pack and message, kept alive so no id is reused; the checker)
_CACHE: dict[tuple[int, int], tuple[ReleasePack, MessageDef, Checker | None]] = {}
_CACHE_MAX = 512


def checker_of(pack: ReleasePack, spec: MessageDef) -> Checker | None:
    """The compiled checker of message ``spec`` of ``pack`` for the rules ``validate_bytes`` runs
    (the pack's message rules, or the generic ones when it lists none, then its final rules), or
    None when a rule has no check factory. Compiled once per (pack, message); the pack's factories
    (``pack.compiled``) are loaded on the first call."""
    key = (id(pack), id(spec))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit[2]
    if len(_CACHE) >= _CACHE_MAX:  # packs made per call (--release-dir) must not grow it forever
        _CACHE.clear()
    factories: Mapping[Any, CheckFactory] = pack.compiled() if pack.compiled is not None else {}
    checker = compile_checker(spec, pack.rules.message or GENERIC_RULES, pack.rules.final, factories)
    _CACHE[key] = (pack, spec, checker)
    return checker
