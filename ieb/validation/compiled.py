"""A compiled one-pass checker for the in-message rules: the fast way to say "no finding" (issue 22).

The rule engine (:mod:`ieb.releases.rules`) runs every rule as a generator over a
:class:`~ieb.releases.rules.RuleContext` that looks each value up again; that is 60 % of
``validate_bytes`` on a valid file. For a message whose rule set is known here, :func:`checker_for`
compiles, once per (pack, message), one function that reads every value the rules look at in a single
walk over the tree and answers one question: is the document certainly free of rule findings?

* ``True``: the full engine would report nothing for this document (message rules and ``final``
  rules); ``validate_bytes`` returns without running it.
* ``False``: "maybe not" - ``validate_bytes`` runs the full engine, which alone writes findings. So a
  finding's text, location and order always come from the one engine; the checker only skips work.

The checker is sound by construction where it is unsure: it answers ``False`` when a path the rules
read holds two elements with the same local name (the engine's "first element" and "all elements"
would differ from one element), when an element sits in another namespace than the rules' path
says, or when a value is not plain (a comment or whitespace in it, a date outside the years
1000-8999, where the engine's :class:`~ieb.dates.XsdDate` and :class:`datetime.date` could differ).
It is compiled only when every rule of the message's rule list
is one of the rule objects below (by identity); a pack with any other rule keeps the full engine.
A property test (``tests/core/test_compiled_rules.py``) checks that both give the same verdict on
mutated files of iEb 1.0.

Shapes: dates are :class:`datetime.date` (plain ``JJJJ-MM-DD`` only), amounts integers in eurocent,
the gemeente list is loaded only when CS300 applies (as the engine does). The checker never raises
for a parsed tree; it reads nothing from disk or network.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree

from ieb.dates import IEB_START, add_months
from ieb.errors import ConfigurationError
from ieb.policy.cs333 import cs333_tariff
from ieb.policy.tariffs import TariffTable
from ieb.releases.pack import MessageDef
from ieb.releases.rules import DATE_RANGE_RULE, GENERIC_RULES, Rule
from ieb.values import read_integer, read_string

if TYPE_CHECKING:  # pragma: no cover
    from ieb.validation.gemeenten import GemeenteLijst

__all__ = ["Checker", "checker_for"]

LocalPath = tuple[str, ...]

_NINE_DIGITS = re.compile(r"[0-9]{9}")
_FOUR_DIGITS = re.compile(r"[0-9]{4}")


def _eleven_proof(value: str) -> bool:
    """:func:`ieb.types.bsn_is_valid` for nine ASCII digits (weights 9..2 and -1, sum divisible by
    11), without the generic path (a test compares both on every kind of nine digits)."""
    d = [ord(c) - 48 for c in value]
    return (
        9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7] - d[8]
    ) % 11 == 0


class _Bail(Exception):
    """A value the checker does not read itself (comments, whitespace, a rare year): the engine decides."""


def _string(el: etree._Element) -> str:
    """``read_string`` (xs:string, preserved), with the common case of a plain text node first."""
    return (el.text or "") if len(el) == 0 else read_string(el)


def _integer(el: etree._Element) -> int | None:
    """``read_integer``, with the common case of plain ASCII digits first."""
    text = el.text
    if len(el) == 0 and text and len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return read_integer(el)


#: plain date texts already read (bounded: emptied when full)
_DATES: dict[str, dt.date] = {}
_DATES_MAX = 4096


def _date(el: etree._Element) -> dt.date:
    """The date of a plain ``JJJJ-MM-DD`` text with a year 1000-8999 (where :class:`XsdDate` and
    :class:`datetime.date` order, shift by months and clamp alike); raises _Bail for anything else."""
    text = el.text
    if len(el) != 0 or text is None:
        raise _Bail
    known = _DATES.get(text)
    if known is not None:
        return known
    if (
        len(text) != 10
        or not text.isascii()
        or text[4] != "-"
        or text[7] != "-"
        or not (text[:4].isdigit() and text[5:7].isdigit() and text[8:].isdigit())
    ):
        raise _Bail
    year = int(text[:4])
    if not 1000 <= year <= 8999:
        raise _Bail
    try:
        day = dt.date(year, int(text[5:7]), int(text[8:]))
    except ValueError:
        raise _Bail from None
    if len(_DATES) >= _DATES_MAX:
        _DATES.clear()
    _DATES[text] = day
    return day


class _Doc:
    """The values of one document the checks read: elements by local path, found in one walk."""

    __slots__ = ("_dates", "_revision", "found", "gemeenten_loader", "revision", "tariffs", "today")

    def __init__(
        self,
        found: dict[LocalPath, etree._Element],
        today: dt.date,
        tariffs: TariffTable,
        gemeenten_loader: Callable[[], GemeenteLijst],
        revision: object | None,
    ) -> None:
        self.found = found
        self.today = today
        self.tariffs = tariffs
        self.gemeenten_loader = gemeenten_loader
        self.revision = revision
        self._revision: object | None = None
        self._dates: dict[LocalPath, dt.date | None] = {}

    def text(self, path: LocalPath) -> str | None:
        el = self.found.get(path)
        return None if el is None else _string(el)

    def integer(self, path: LocalPath) -> int | None:
        el = self.found.get(path)
        return None if el is None else _integer(el)

    def date(self, path: LocalPath) -> dt.date | None:
        """The date at ``path`` (None when absent); raises _Bail for a value not read here."""
        try:
            return self._dates[path]
        except KeyError:
            el = self.found.get(path)
            value = None if el is None else _date(el)
            self._dates[path] = value
            return value


Check = Callable[[_Doc], bool]  # True: this rule certainly finds nothing


@dataclass
class _Builder:
    """What a message's checks need: the paths to read (local names from the root) and, for paths
    the rules address with a namespace, the element tag expected at each step."""

    spec: MessageDef
    paths: set[LocalPath] = field(default_factory=set)
    tags: dict[LocalPath, str] = field(default_factory=dict)

    def ns_path(self, path: str) -> LocalPath:
        """A rule path with ``m:``/``b:`` prefixes (as ``RuleContext.find`` takes) as a local path
        from the root; the expected tag of each step is remembered."""
        ns = {"m": self.spec.namespace, "b": self.spec.basis_namespace or ""}
        local: LocalPath = (self.spec.root_name,)
        for step in path.split("/"):
            prefix, _, name = step.partition(":")
            local = (*local, name)
            self.tags[local] = f"{{{ns[prefix]}}}{name}"
            self.paths.add(local)
        return local

    def typed(self, type_name: str) -> tuple[LocalPath, ...]:
        """The local paths of the elements typed ``type_name`` (as ``typed_elements`` finds them)."""
        found = tuple(path for path, base in self.spec.types.items() if base == type_name)
        self.paths.update(p[: i + 1] for p in found for i in range(len(p)))
        return found


@dataclass(frozen=True)
class Checker:
    """The compiled rules of one message: ``checker(root, ...)`` is True when the full engine
    would find nothing (see the module text); never raises for a parsed, XSD-valid tree."""

    root_name: str
    trie: _Level
    checks: tuple[Check, ...]

    def __call__(
        self,
        root: etree._Element,
        *,
        today: dt.date,
        tariffs: TariffTable,
        gemeenten_loader: Callable[[], GemeenteLijst],
        revision: object | None,
    ) -> bool:
        tag = root.tag
        if not isinstance(tag, str) or tag.rpartition("}")[2] != self.root_name:
            return False
        found: dict[LocalPath, etree._Element] = {}
        if not _walk(root, self.trie, found):
            return False
        doc = _Doc(found, today, tariffs, gemeenten_loader, revision)
        try:
            for check in self.checks:
                if not check(doc):
                    return False
        except _Bail:
            return False
        return True


class _Level:
    """One level of the paths the checks read: child local name -> (its local path, next level)."""

    __slots__ = ("expected", "memo", "names")

    #: at most this many distinct tags are remembered per level (hostile files may use many)
    MEMO = 256

    def __init__(self) -> None:
        self.names: dict[str, tuple[LocalPath, _Level]] = {}
        #: local name -> the tag (Clark notation) a rule's namespaced path expects there
        self.expected: dict[str, str] = {}
        #: element tag (Clark notation, or the Comment/PI factory) -> the entry of its local name,
        #: or _WRONG_NAMESPACE
        self.memo: dict[object, tuple[LocalPath, _Level] | None] = {}

    def entry(self, tag: object) -> tuple[LocalPath, _Level] | None:
        entry = None
        if isinstance(tag, str):
            local = tag.rpartition("}")[2]
            entry = self.names.get(local)
            expected = self.expected.get(local)
            if entry is not None and expected is not None and tag != expected:
                entry = _WRONG_NAMESPACE  # the engine's find() would not take this element
        if len(self.memo) < self.MEMO:
            self.memo[tag] = entry
        return entry


#: the entry of an element in another namespace than a rule's path says: the engine decides
_WRONG_NAMESPACE: tuple[LocalPath, _Level] = ((), _Level())


def _walk(node: etree._Element, level: _Level, found: dict[LocalPath, etree._Element]) -> bool:
    """Record the children of ``node`` named in ``level`` (and theirs, recursively) in ``found``;
    False when a local name occurs twice (then the engine's "first" and "all" elements differ)."""
    memo = level.memo
    for child in node:
        tag = child.tag
        try:
            entry = memo[tag]
        except KeyError:
            entry = level.entry(tag)
        if entry is None:
            continue
        if entry is _WRONG_NAMESPACE:
            return False
        path, sub = entry
        if path in found:
            return False
        found[path] = child
        if sub.names and not _walk(child, sub, found):
            return False
    return True


def _trie(root_name: str, paths: set[LocalPath], tags: dict[LocalPath, str]) -> _Level:
    """The levels of ``paths``; ``tags``: the tag a namespaced rule path expects at a local path."""
    top = _Level()
    for path in sorted(paths, key=len):
        if len(path) < 2 or path[0] != root_name:
            continue
        level = top
        for i in range(1, len(path)):
            name = path[i]
            if name not in level.names:
                level.names[name] = (path[: i + 1], _Level())
            expected = tags.get(path[: i + 1])
            if expected is not None:
                level.expected[name] = expected
            level = level.names[name][1]
    return top


# ------------------------------------------------------------------------------ the known rules


def _generic_checks() -> dict[int, Callable[[_Builder], Check]]:
    cs002, cs125, xsd_datum = GENERIC_RULES

    def bsn(b: _Builder) -> Check:
        paths = b.typed("LDT_BurgerServicenummer")

        def check(doc: _Doc) -> bool:
            for path in paths:
                el = doc.found.get(path)
                if el is not None:
                    value = _string(el)
                    if _NINE_DIGITS.fullmatch(value) and not _eleven_proof(value):
                        return False
            return True

        return check

    def status(b: _Builder) -> Check:
        paths = b.typed("LDT_StatusAanlevering")

        def check(doc: _Doc) -> bool:
            for path in paths:
                el = doc.found.get(path)
                if el is not None and _string(el) not in ("1", "2", "3"):
                    return False
            return True

        return check

    def datum_form(b: _Builder) -> Check:
        paths = b.typed("LDT_Datum")

        def check(doc: _Doc) -> bool:
            for path in paths:
                doc.date(path)  # a date read here has the form JJJJ-MM-DD (else _Bail)
            return True

        return check

    def date_range(b: _Builder) -> Check:
        paths = b.typed("LDT_Datum")

        def check(doc: _Doc) -> bool:
            for path in paths:
                doc.date(path)  # a date read here has a year 1000-8999 (else _Bail)
            return True

        return check

    return {id(cs002): bsn, id(cs125): status, id(xsd_datum): datum_form, id(DATE_RANGE_RULE): date_range}


def _ieb_1_0_checks() -> dict[int, Callable[[_Builder], Check]]:
    from ieb.releases.ieb_1_0.revisions import Revision, revision_on
    from ieb.releases.ieb_1_0.rules import RULES
    from ieb.releases.ieb_1_0.table import VERSIONS

    by_code = {rule.code: rule for rule in RULES}
    # pure functions of a few values that repeat from file to file: remembered
    revision_on_day = lru_cache(maxsize=1024)(revision_on)

    @lru_cache(maxsize=4096)
    def window_limit(rev: Revision, code: str, back: bool, dagtekening: dt.date) -> tuple[int, dt.date]:
        months = -rev.months_back(code) if back else rev.months_ahead(code)
        return months, add_months(dagtekening, months)

    dagtekening_path = "m:Header/m:BerichtIdentificatie/b:Dagtekening"

    def revision_of(doc: _Doc, dagtekening: dt.date | None) -> Revision:
        if isinstance(doc.revision, Revision):
            return doc.revision
        if not isinstance(doc._revision, Revision):
            doc._revision = revision_on_day(dagtekening)
        return doc._revision

    def header(
        element: str, expected: Callable[[MessageDef], str | int | None]
    ) -> Callable[[_Builder], Check]:
        def build(b: _Builder) -> Check:
            want = expected(b.spec)
            if want is None or want == "":
                return lambda doc: True
            path = b.ns_path(f"m:Header/m:{element}")
            if isinstance(want, int):
                return lambda doc: (v := doc.integer(path)) is None or v == want
            return lambda doc: (v := doc.text(path)) is None or v == want

        return build

    def cs300(b: _Builder) -> Check:
        afzender = b.ns_path("m:Header/m:Afzender")
        dag_path = b.ns_path(dagtekening_path)

        def check(doc: _Doc) -> bool:
            code = doc.text(afzender)
            if code is None or not _FOUR_DIGITS.fullmatch(code):
                return True
            dagtekening = doc.date(dag_path)
            day = dagtekening if dagtekening is not None else doc.today
            return doc.gemeenten_loader().is_valid(code, day)

        return check

    def datum_path(b: _Builder) -> LocalPath | None:
        if not b.spec.klasse or not b.spec.date_element:
            return None
        return b.ns_path(f"m:Client/m:{b.spec.klasse}/m:{b.spec.date_element}")

    def cs332(b: _Builder) -> Check:
        path = datum_path(b)
        if path is None:
            return lambda doc: True
        return lambda doc: (day := doc.date(path)) is None or not day < IEB_START

    def cs333(b: _Builder) -> Check:
        base = "m:Client/m:StartEigenBijdrage/m:EbKostprijs"
        bedrag_path = b.ns_path(f"{base}/b:KostprijsBedrag")
        start_path = b.ns_path(f"{base}/b:KostprijsStartdatum")

        def check(doc: _Doc) -> bool:
            bedrag = doc.integer(bedrag_path)
            start = doc.date(start_path)
            if bedrag is None or start is None or bedrag < 0:
                return True
            try:
                return cs333_tariff(bedrag, start, doc.tariffs) is None
            except ConfigurationError:
                return True

        return check

    def cs334(b: _Builder) -> Check:
        start_path = b.ns_path("m:Client/m:StartEigenBijdrage/m:EbStartdatum")
        kstart_path = b.ns_path("m:Client/m:StartEigenBijdrage/m:EbKostprijs/b:KostprijsStartdatum")

        def check(doc: _Doc) -> bool:
            start, kstart = doc.date(start_path), doc.date(kstart_path)
            return start is None or kstart is None or not kstart < start

        return check

    def window(
        code: str, status: str, back: bool, klassen: tuple[str, ...], tr112: bool = False
    ) -> Callable[[_Builder], Check]:
        def build(b: _Builder) -> Check:
            klasse = b.spec.klasse or ""
            if klasse not in klassen:
                return lambda doc: True
            path = datum_path(b)
            if path is None:  # pragma: no cover - a klasse without a date element
                return lambda doc: False
            status_path = b.ns_path(f"m:Client/m:{klasse}/m:StatusAanlevering")
            dag_path = b.ns_path(dagtekening_path)
            name = b.spec.name

            def check(doc: _Doc) -> bool:
                dagtekening = doc.date(dag_path)
                rev = revision_of(doc, dagtekening)
                if tr112 and name not in rev.tr112_messages:
                    return True
                if doc.text(status_path) != status:
                    return True
                day = doc.date(path)
                if dagtekening is None or day is None:
                    return True
                months, limit = window_limit(rev, code, back, dagtekening)
                return not ((months < 0 and day < limit) or (months > 0 and day > limit))

            return check

        return build

    def r8848(b: _Builder) -> Check:
        dag_path = b.ns_path(dagtekening_path)
        return lambda doc: (d := doc.date(dag_path)) is None or not d > doc.today

    both = ("StartEigenBijdrage", "StopEigenBijdrage")
    builders: dict[str, Callable[[_Builder], Check]] = {
        "CS015": header("BerichtSubversie", lambda spec: VERSIONS.bericht_subversie),
        "CS025": header("BerichtVersie", lambda spec: VERSIONS.bericht_versie),
        "CS126": header("BerichtCode", lambda spec: spec.bericht_code),
        "CS300": cs300,
        "CS332": cs332,
        "CS333": cs333,
        "CS334": cs334,
        "TR112": window("TR112", "1", True, both, tr112=True),
        "TR113": window("TR113", "1", False, both),
        "TR116": window("TR116", "2", True, ("StopEigenBijdrage",)),
        "TR117": window("TR117", "2", False, ("StopEigenBijdrage",)),
        "8848": r8848,
    }
    return {id(by_code[code]): build for code, build in builders.items()}


_KNOWN: dict[int, Callable[[_Builder], Check]] | None = None
#: (id of spec, of message rules, of final rules) -> (the three objects, kept alive so no id is
#: reused, and the checker or None)
_CACHE: dict[tuple[int, int, int], tuple[object, object, object, Checker | None]] = {}
_CACHE_MAX = 512


def _known() -> dict[int, Callable[[_Builder], Check]]:
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = {**_generic_checks(), **_ieb_1_0_checks()}
    return _KNOWN


def checker_for(
    spec: MessageDef, message_rules: tuple[Rule, ...], final_rules: tuple[Rule, ...]
) -> Checker | None:
    """The compiled checker of ``spec`` for these rule lists (as ``validate_bytes`` runs them), or
    None when one of the rules that apply to the message is not known here (the engine runs).
    Compiled once per (rule lists, message) and cached."""
    key = (id(spec), id(message_rules), id(final_rules))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit[3]
    if len(_CACHE) >= _CACHE_MAX:  # registries made per call (--release-dir) must not grow it forever
        _CACHE.clear()
    known = _known()
    builder = _Builder(spec)
    checks: list[Check] = []
    checker: Checker | None = None
    for rule in (*message_rules, *final_rules):
        if not rule.applies_to(spec.name):
            continue
        build = known.get(id(rule))
        if build is None:
            break
        checks.append(build(builder))
    else:
        checker = Checker(spec.root_name, _trie(spec.root_name, builder.paths, builder.tags), tuple(checks))
    _CACHE[key] = (spec, message_rules, final_rules, checker)
    return checker
