"""The rule engine: one :class:`Rule` per rule code, run on a parsed document with a :class:`RuleContext`.

A rule is defined once, with :func:`define_rule`, as a module-level object, and belongs to the pack
whose :class:`~ieb.releases.pack.RuleSet` lists it (a test fails on a defined rule no pack lists).
Each rule looks at the parsed document (not the model), so it reports its problem even when the
document also has schema errors; every problem is reported, not just the first. Levels: 1 schema /
parse, 2 in-message rule (retourcode 0001), 3 needs the receiver's context.

The rules here are the generic ones (every release): CS002 (11-proef), CS125 (StatusAanlevering),
XSD-DATUM (a date without timezone) and IEB-DATUM (years 0001-9999, this library's limit). A
release's own rules live in its pack; the engine asks the table (``ctx.spec``: namespaces, klasse,
date element), never a message name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from lxml import etree

from ieb.dates import XsdDate
from ieb.errors import ConfigurationError
from ieb.issues import Issue
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases.pack import MessageDef, RuleKind
from ieb.types import bsn_is_valid, mask_bsn
from ieb.values import collapse, element_text, read_date, read_integer, read_string

if TYPE_CHECKING:  # pragma: no cover
    from ieb.validation.gemeenten import GemeenteLijst

__all__ = [
    "DATE_RANGE_RULE",
    "GENERIC_RULES",
    "MAX_ISSUES_PER_RULE",
    "Check",
    "Rule",
    "RuleContext",
    "define_rule",
    "typed_elements",
]

#: At most this many issues per rule are listed one by one (a document repeating an element 100 000
#: times is refused by the XSD anyway; the rest is summarised in one more issue).
MAX_ISSUES_PER_RULE = 50


@dataclass
class RuleContext:
    """What a rule may look at: the parsed document, which message it is, and the receiver's context."""

    root: etree._Element
    spec: MessageDef
    today: dt.date
    tariffs: TariffTable = NATIONAL_TARIFFS
    gemeenten_loader: Callable[[], GemeenteLijst] | None = None
    _gemeenten: GemeenteLijst | None = field(default=None, repr=False)
    #: the revision whose rule parameters apply (an object of the pack's ``revisions``); None: the
    #: one in force on the Dagtekening
    revision: object | None = None
    #: what :meth:`find` and :meth:`date` found per path (rules ask for the same few paths; the
    #: tree does not change while the rules run)
    _found: dict[str, etree._Element | None] = field(default_factory=dict, repr=False)
    _dates: dict[str, XsdDate | None] = field(default_factory=dict, repr=False)

    @property
    def gemeenten(self) -> GemeenteLijst:
        """The CBS gemeente list for CS300 (loaded once, on first use)."""
        if self._gemeenten is None:
            if self.gemeenten_loader is None:
                raise ConfigurationError("geen gemeentelijst gegeven voor de regels (gemeenten_loader)")
            self._gemeenten = self.gemeenten_loader()
        return self._gemeenten

    @property
    def ns(self) -> dict[str, str]:
        """Prefixes for paths: ``m`` the message namespace, ``b`` the basisschema."""
        return {"m": self.spec.namespace, "b": self.basis_namespace}

    @property
    def basis_namespace(self) -> str:
        """The release's basisschema namespace (empty when the table does not know it)."""
        return self.spec.basis_namespace or ""

    def _key(self, path: str) -> tuple[str, ...]:
        return _steps(path, self.spec.namespace, self.basis_namespace)

    def find(self, path: str) -> etree._Element | None:
        """Find by a path with prefixes ``m:`` (message namespace) and ``b:`` (basisschema): the first
        element at each step, as XPath's ``m:a/m:b`` would give first."""
        try:
            return self._found[path]
        except KeyError:
            pass
        node: etree._Element | None = self.root
        for tag in self._key(path):
            assert node is not None
            node = next(iter(node.iterchildren(tag)), None)
            if node is None:
                break
        self._found[path] = node
        return node

    def elements_at(self, local_path: tuple[str, ...]) -> Iterator[etree._Element]:
        """All elements at a path of local names from the root, in document order, found by walking
        down the path (memory does not grow with the document's element count)."""
        if not local_path or etree.QName(self.root).localname != local_path[0]:
            return iter(())
        return _walk(self.root, local_path[1:])

    def text(self, path: str) -> str | None:
        """The ``xs:string`` value at ``path`` (whitespace preserved, comments and PIs left out)."""
        el = self.find(path)
        return None if el is None else read_string(el)

    def integer(self, path: str) -> int | None:
        """The ``xs:integer`` value at ``path``, or None when absent or not an integer (the XSD says so)."""
        el = self.find(path)
        return None if el is None else read_integer(el)

    def date(self, path: str) -> XsdDate | None:
        """The ``xs:date`` value at ``path`` (any year the XSD allows), or None when absent or not a
        date (the XSD reports that)."""
        try:
            return self._dates[path]
        except KeyError:
            pass
        el = self.find(path)
        value = None if el is None else read_date(el)
        self._dates[path] = value
        return value

    def location(self, element: etree._Element) -> str:
        """An XPath with the standard's prefixes (``/wmo401:Bericht/wmo401:Client/wmo401:Bsn``)."""
        parts = []
        node: etree._Element | None = element
        while node is not None:
            q = etree.QName(node)
            if q.namespace == self.spec.namespace:
                prefix = self.spec.prefix
            elif q.namespace and q.namespace == self.spec.basis_namespace:
                prefix = "ieb"
            else:
                prefix = node.prefix or "ns"
            step = f"{prefix}:{q.localname}" if q.namespace else q.localname
            parent = node.getparent()
            if parent is not None:
                same = [c for c in parent if c.tag == node.tag]
                if len(same) > 1:
                    step += f"[{same.index(node) + 1}]"
            parts.append(step)
            node = parent
        return "/" + "/".join(reversed(parts))

    def path_of(self, path: str) -> str:
        """The XPath of ``path`` (``m:``/``b:`` prefixes) in the standard's prefixes, also when absent."""
        el = self.find(path)
        if el is not None:
            return self.location(el)
        prefix = self.spec.prefix
        return f"/{prefix}:{self.spec.root_name}/" + path.replace("m:", f"{prefix}:").replace("b:", "ieb:")

    @property
    def dagtekening(self) -> XsdDate | None:
        """The header's Dagtekening (any year), or None when absent or not a date."""
        return self.date("m:Header/m:BerichtIdentificatie/b:Dagtekening")

    @property
    def klasse(self) -> str:
        """The berichtklasse of this message from the table (``StartEigenBijdrage``); empty when
        the table does not know it."""
        return self.spec.klasse or ""

    @property
    def datum_veld(self) -> str:
        """The date element of this message's klasse from the table (``EbStartdatum``)."""
        return self.spec.date_element or ""

    @property
    def status(self) -> str | None:
        """The class's StatusAanlevering as written (``1``, ``2``, ``3``), or None."""
        return self.text(f"m:Client/m:{self.klasse}/m:StatusAanlevering")


def _walk(node: etree._Element, rest: tuple[str, ...]) -> Iterator[etree._Element]:
    if not rest:
        yield node
        return
    for child in node:
        tag = child.tag
        if isinstance(tag, str) and tag.rpartition("}")[2] == rest[0]:
            yield from _walk(child, rest[1:])


@lru_cache(maxsize=1024)
def _steps(path: str, namespace: str, basis: str) -> tuple[str, ...]:
    ns = {"m": namespace, "b": basis}
    return tuple(f"{{{ns[p]}}}{local}" for p, _, local in (step.partition(":") for step in path.split("/")))


Check = Callable[[RuleContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    """One in-message rule: its code, level, retourcode (``None`` or ``"0001"`` for a generic
    rejection) and the check that applies it; ``berichten``: the message names it applies to
    (None: every message of the release); ``issue_code``: the code reported when it differs from
    the rule's own (``XSD`` for XSD-DATUM)."""

    kind: ClassVar[RuleKind] = RuleKind.MESSAGE

    code: str
    level: int
    retourcode: str | None
    title: str
    check: Check = field(repr=False)
    berichten: frozenset[str] | None = None  # None: every message of the release
    issue_code: str | None = None  # the code reported, when it differs from the rule's own name

    def applies_to(self, bericht: str) -> bool:
        """True when the rule is checked for the message named ``bericht``."""
        return self.berichten is None or bericht in self.berichten

    def run(self, ctx: RuleContext) -> list[Issue]:
        """The rule's issues for one document (at most MAX_ISSUES_PER_RULE listed, the rest summed up)."""
        if not self.applies_to(ctx.spec.name):
            return []
        issues: list[Issue] = []
        more = 0
        for issue in self.check(ctx):
            if len(issues) < MAX_ISSUES_PER_RULE:
                issues.append(issue)
            else:
                more += 1
        if more:
            issues.append(self.issue(None, f"En nog {more} keer dezelfde fout ({self.code})."))
        return issues

    def issue(self, location: str | None, message: str) -> Issue:
        """An issue of this rule at ``location`` (an XPath) with a Dutch ``message``."""
        return Issue(self.issue_code or self.code, self.retourcode, self.level, location, message)


def define_rule(
    code: str, level: int, retourcode: str | None, title: str, berichten: Iterable[str] | None = None
) -> Callable[[Callable[[Rule, RuleContext], Iterator[Issue]]], Rule]:
    """Define a rule: decorate ``check(rule, ctx) -> issues``; the result is the :class:`Rule`.

    Registers nothing: the rule belongs to the pack whose RuleSet lists it. A code starting with
    ``XSD-`` reports its issues as ``XSD`` (a level-1 finding the XSD engine cannot express)."""

    def wrap(fn: Callable[[Rule, RuleContext], Iterator[Issue]]) -> Rule:
        holder: list[Rule] = []

        def check(ctx: RuleContext) -> Iterator[Issue]:
            return fn(holder[0], ctx)

        issue_code = "XSD" if code.startswith("XSD-") else None
        r = Rule(
            code, level, retourcode, title, check, frozenset(berichten) if berichten else None, issue_code
        )
        holder.append(r)
        return r

    return wrap


def typed_elements(ctx: RuleContext, type_name: str) -> Iterator[etree._Element]:
    """Elements of the document whose declared type is (based on) ``type_name``."""
    for path, base in ctx.spec.types.items():
        if base == type_name:
            yield from ctx.elements_at(path)


# ---------------------------------------------------------------- generic (every release)


@define_rule("CS002", 2, "0001", "Bsn voldoet aan de 11-proef")
def _cs002(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in typed_elements(ctx, "LDT_BurgerServicenummer"):
        value = read_string(el)
        if re.fullmatch(r"[0-9]{9}", value) and not bsn_is_valid(value):
            yield rule.issue(
                ctx.location(el),
                f"Het burgerservicenummer {mask_bsn(value)} voldoet niet aan de 11-proef. "
                "Controleer het Bsn van de cliënt in de basisregistratie personen.",
            )


@define_rule("CS125", 2, "0001", "StatusAanlevering is 1, 2 of 3")
def _cs125(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in typed_elements(ctx, "LDT_StatusAanlevering"):
        value = read_string(el)
        if value not in ("1", "2", "3"):
            yield rule.issue(
                ctx.location(el),
                f"StatusAanlevering {value!r} is niet toegestaan; gebruik 1 (eerste aanlevering), "
                "2 (wijziging) of 3 (verwijderen).",
            )


@define_rule("XSD-DATUM", 1, "0001", "Datum zonder tijdzone (LDT_Datum); gemeld als XSD")
def _datum(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in typed_elements(ctx, "LDT_Datum"):
        value = collapse(element_text(el))
        if not re.fullmatch(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}", value):
            yield rule.issue(
                ctx.location(el),
                f"Datum {value!r} in {etree.QName(el).localname} moet de vorm JJJJ-MM-DD hebben, "
                "zonder tijd of tijdzone.",
            )


GENERIC_RULES: tuple[Rule, ...] = (_cs002, _cs125, _datum)


@define_rule("IEB-DATUM", 2, "0001", "Datum binnen de jaren 0001-9999 (grens van deze bibliotheek)")
def _ieb_datum(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    """A date the XSD allows but no system of the chain can hold (years before 0001 or after 9999).
    Run by ``validate_bytes`` only when no other level-1/2 problem was found, so a rule of the
    standard (TR113, CS332, ...) decides such a date whenever one applies."""
    for el in typed_elements(ctx, "LDT_Datum"):
        day = read_date(el)
        if day is not None and not day.in_python_range:
            yield rule.issue(
                ctx.location(el),
                f"Datum {day.isoformat()} in {etree.QName(el).localname} ligt buiten de jaren 0001-9999; "
                "zo'n datum kan niet verwerkt worden. Controleer de datum.",
            )


#: Listed by a pack as a ``final`` rule: run only when the other rules found nothing at level 1 or 2.
DATE_RANGE_RULE = _ieb_datum
