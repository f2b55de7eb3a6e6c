"""The standard's rules as addressable checks: one :class:`Rule` per rule code.

Each rule looks at the parsed document (not the model), so it reports its problem even when the
document also has schema errors; every problem is reported, not just the first. Levels: 1 schema /
parse, 2 in-message rule (retourcode 0001), 3 needs the receiver's context (8848, S300, S333) or history
(the history rules live with the ledger).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree

from ieb.dates import IEB_START, XsdDate, add_months
from ieb.errors import ConfigurationError
from ieb.policy.cs333 import cs333_message, cs333_tariff
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.types import BASIS_NS, bsn_is_valid, mask_bsn
from ieb.validation.report import Issue
from ieb.validation.revisions import Revision, revision_on
from ieb.values import collapse, element_text, read_date, read_integer, read_string

if TYPE_CHECKING:  # pragma: no cover
    from ieb.releases.pack import MessageDef
    from ieb.validation.gemeenten import GemeenteLijst

__all__ = [
    "GENERIC_RULES",
    "IEB_1_0_RULES",
    "IEB_START",
    "Rule",
    "RuleContext",
    "add_months",
    "rule_by_code",
]

HEEN = frozenset({"WMO401", "WMO403"})
ALL_IEB = frozenset({"WMO401", "WMO402", "WMO403", "WMO404"})
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
    #: the revision whose rule parameters apply; None: the one in force on the Dagtekening
    revision: Revision | None = None
    #: what :meth:`find` and :meth:`date` found per path (rules ask for the same few paths; the
    #: tree does not change while the rules run)
    _found: dict[str, etree._Element | None] = field(default_factory=dict, repr=False)
    _dates: dict[str, XsdDate | None] = field(default_factory=dict, repr=False)

    @property
    def gemeenten(self) -> GemeenteLijst:
        """The CBS gemeente list for CS300 (loaded once, on first use)."""
        if self._gemeenten is None:
            if self.gemeenten_loader is None:
                from ieb.validation.gemeenten import bundled_gemeenten

                self._gemeenten = bundled_gemeenten()
            else:
                self._gemeenten = self.gemeenten_loader()
        return self._gemeenten

    @property
    def ns(self) -> dict[str, str]:
        """Prefixes for paths: ``m`` the message namespace, ``b`` the basisschema."""
        return {"m": self.spec.namespace, "b": BASIS_NS}

    def _key(self, path: str) -> tuple[str, ...]:
        return _steps(path, self.spec.namespace)

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
                prefix = self.spec.name.lower()
            elif q.namespace == BASIS_NS:
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
        prefix = self.spec.name.lower()
        return f"/{prefix}:Bericht/" + path.replace("m:", f"{prefix}:").replace("b:", "ieb:")

    @property
    def dagtekening(self) -> XsdDate | None:
        """The header's Dagtekening (any year), or None when absent or not a date."""
        return self.date("m:Header/m:BerichtIdentificatie/b:Dagtekening")

    @property
    def klasse(self) -> str:
        """StartEigenBijdrage (WMO401/402) or StopEigenBijdrage (WMO403/404)."""
        return "StartEigenBijdrage" if self.spec.name in ("WMO401", "WMO402") else "StopEigenBijdrage"

    @property
    def datum_veld(self) -> str:
        """EbStartdatum or EbStopdatum, the date field of this message's class."""
        return "EbStartdatum" if self.klasse == "StartEigenBijdrage" else "EbStopdatum"

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
def _steps(path: str, namespace: str) -> tuple[str, ...]:
    ns = {"m": namespace, "b": BASIS_NS}
    return tuple(f"{{{ns[p]}}}{local}" for p, _, local in (step.partition(":") for step in path.split("/")))


Check = Callable[[RuleContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    """One rule of the standard: its code, level, retourcode and the check that applies it."""

    code: str
    level: int
    retourcode: str | None
    title: str
    check: Check = field(repr=False)
    berichten: frozenset[str] | None = None  # None: every message of the release
    issue_code: str | None = None  # the code reported, when it differs from the rule's own name

    def applies_to(self, bericht: str) -> bool:
        """True when the rule is checked for this message (``WMO401`` ...)."""
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


_RULES: dict[str, Rule] = {}


def _rule(
    code: str, level: int, retourcode: str | None, title: str, berichten: Iterable[str] | None = None
) -> Callable[[Callable[[Rule, RuleContext], Iterator[Issue]]], Rule]:
    def wrap(fn: Callable[[Rule, RuleContext], Iterator[Issue]]) -> Rule:
        holder: list[Rule] = []

        def check(ctx: RuleContext) -> Iterator[Issue]:
            return fn(holder[0], ctx)

        issue_code = "XSD" if code.startswith("XSD-") else None
        r = Rule(
            code, level, retourcode, title, check, frozenset(berichten) if berichten else None, issue_code
        )
        holder.append(r)
        _RULES[code] = r
        return r

    return wrap


def rule_by_code(code: str) -> Rule:
    """The rule with this code (``CS002``, ``TR112``, ...)."""
    try:
        return _RULES[code]
    except KeyError:
        raise ConfigurationError(
            f"onbekende regelcode {code!r}; bekend: {', '.join(sorted(_RULES))}"
        ) from None


def _typed_elements(ctx: RuleContext, type_name: str) -> Iterator[etree._Element]:
    """Elements of the document whose declared type is (based on) ``type_name``."""
    for path, base in ctx.spec.types.items():
        if base == type_name:
            yield from ctx.elements_at(path)


# ---------------------------------------------------------------- generic (every release)


@_rule("CS002", 2, "0001", "Bsn voldoet aan de 11-proef")
def _cs002(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in _typed_elements(ctx, "LDT_BurgerServicenummer"):
        value = read_string(el)
        if re.fullmatch(r"[0-9]{9}", value) and not bsn_is_valid(value):
            yield rule.issue(
                ctx.location(el),
                f"Het burgerservicenummer {mask_bsn(value)} voldoet niet aan de 11-proef. "
                "Controleer het Bsn van de cliënt in de basisregistratie personen.",
            )


@_rule("CS125", 2, "0001", "StatusAanlevering is 1, 2 of 3")
def _cs125(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in _typed_elements(ctx, "LDT_StatusAanlevering"):
        value = read_string(el)
        if value not in ("1", "2", "3"):
            yield rule.issue(
                ctx.location(el),
                f"StatusAanlevering {value!r} is niet toegestaan; gebruik 1 (eerste aanlevering), "
                "2 (wijziging) of 3 (verwijderen).",
            )


@_rule("XSD-DATUM", 1, "0001", "Datum zonder tijdzone (LDT_Datum); gemeld als XSD")
def _datum(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    for el in _typed_elements(ctx, "LDT_Datum"):
        value = collapse(element_text(el))
        if not re.fullmatch(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}", value):
            yield rule.issue(
                ctx.location(el),
                f"Datum {value!r} in {etree.QName(el).localname} moet de vorm JJJJ-MM-DD hebben, "
                "zonder tijd of tijdzone.",
            )


GENERIC_RULES: tuple[Rule, ...] = (_cs002, _cs125, _datum)


# ---------------------------------------------------------------- iEb 1.0


def _header_value(
    rule: Rule, ctx: RuleContext, element: str, expected: str | int, what: str
) -> Iterator[Issue]:
    path = f"m:Header/m:{element}"
    value = ctx.integer(path) if isinstance(expected, int) else ctx.text(path)
    if value is not None and value != expected:
        yield rule.issue(
            ctx.path_of(f"m:Header/m:{element}"),
            f"{element} is {value!r} maar moet {expected} zijn voor {ctx.spec.name} ({what}).",
        )


@_rule("CS015", 2, "0001", "BerichtSubversie is 0", ALL_IEB)
def _cs015(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _header_value(rule, ctx, "BerichtSubversie", 0, "iEb release 1.0")


@_rule("CS025", 2, "0001", "BerichtVersie is 1", ALL_IEB)
def _cs025(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _header_value(rule, ctx, "BerichtVersie", 1, "iEb release 1.0")


@_rule("CS126", 2, "0001", "BerichtCode hoort bij het bericht", ALL_IEB)
def _cs126(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    if ctx.spec.bericht_code:
        yield from _header_value(
            rule, ctx, "BerichtCode", ctx.spec.bericht_code, "de BerichtCode van dit bericht"
        )


@_rule("CS300", 3, "S300", "Afzender staat in de CBS-gemeentelijst", HEEN)
def _cs300(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    code = ctx.text("m:Header/m:Afzender")
    if code is None or not re.fullmatch(r"[0-9]{4}", code):
        return  # the XSD reports a malformed code
    dagtekening = ctx.dagtekening
    day = dagtekening.clamped() if dagtekening is not None else ctx.today
    if not ctx.gemeenten.is_valid(code, day):
        known = ctx.gemeenten.lookup(code)
        hint = (
            f" Code {code} ({known.naam}) was geldig tot {known.einddatum}; gebruik de code van de nieuwe gemeente."
            if known is not None and known.einddatum is not None
            else ""
        )
        yield rule.issue(
            ctx.path_of("m:Header/m:Afzender"),
            f"Afzender {code} is op {day.isoformat()} geen gemeentecode in de lijst van het CBS.{hint}",
        )


@_rule("CS332", 2, "0001", "Start- en stopdatum niet voor 1 januari 2020", HEEN)
def _cs332(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    path = f"m:Client/m:{ctx.klasse}/m:{ctx.datum_veld}"
    day = ctx.date(path)
    if day is not None and day < IEB_START:
        yield rule.issue(
            ctx.path_of(path),
            f"{ctx.datum_veld} {day.isoformat()} ligt voor 1 januari 2020; iEb kent geen eigen bijdrage "
            "van voor die datum.",
        )


@_rule(
    "CS333", 3, "S333", "KostprijsBedrag groter dan het nationale tarief op KostprijsStartdatum", {"WMO401"}
)
def _cs333(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    base = "m:Client/m:StartEigenBijdrage/m:EbKostprijs"
    bedrag = ctx.integer(f"{base}/b:KostprijsBedrag")
    start = ctx.date(f"{base}/b:KostprijsStartdatum")
    if bedrag is None or start is None or bedrag < 0:
        return
    try:
        # a year beyond 9999 uses the newest tariff (XsdDate.clamped), a year before 1 has none
        tariff = cs333_tariff(bedrag, start.clamped(), ctx.tariffs)
    except ConfigurationError:
        return  # no national tariff before 2019: CS332/CS334 report such dates
    if tariff is not None:
        yield rule.issue(
            ctx.path_of(f"{base}/b:KostprijsBedrag"), cs333_message(bedrag, start.clamped(), tariff)
        )


@_rule("CS334", 2, "0001", "KostprijsStartdatum niet voor EbStartdatum", {"WMO401"})
def _cs334(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    start = ctx.date("m:Client/m:StartEigenBijdrage/m:EbStartdatum")
    kstart = ctx.date("m:Client/m:StartEigenBijdrage/m:EbKostprijs/b:KostprijsStartdatum")
    if start is not None and kstart is not None and kstart < start:
        yield rule.issue(
            ctx.path_of("m:Client/m:StartEigenBijdrage/m:EbKostprijs/b:KostprijsStartdatum"),
            f"KostprijsStartdatum {kstart.isoformat()} ligt voor EbStartdatum {start.isoformat()}; "
            "de kostprijsbewaking kan niet eerder beginnen dan de eigen bijdrage.",
        )


def _window(
    rule: Rule,
    ctx: RuleContext,
    status: str,
    months: int,
    klassen: Iterable[str] = ("StartEigenBijdrage", "StopEigenBijdrage"),
) -> Iterator[Issue]:
    if ctx.klasse not in klassen or ctx.status != status:
        return
    dagtekening = ctx.dagtekening
    path = f"m:Client/m:{ctx.klasse}/m:{ctx.datum_veld}"
    day = ctx.date(path)
    if dagtekening is None or day is None:
        return
    # the revision in force on the Dagtekening (ieb.validation.revisions) sets the window
    rev = ctx.revision or revision_on(dagtekening.clamped())
    if months < 0:
        months = -rev.months_back(rule.code)
    else:
        months = rev.months_ahead(rule.code)
    limit = dagtekening.add_months(months)  # total: any year the XSD allows
    wat = "eerste aanlevering" if status == "1" else "wijziging"
    if months < 0 and day < limit:
        yield rule.issue(
            ctx.path_of(path),
            f"{ctx.datum_veld} {day.isoformat()} ligt meer dan {-months} maanden voor de dagtekening "
            f"{dagtekening.isoformat()}; een {wat} mag hoogstens {-months} maanden terug gaan "
            f"(vanaf {limit.isoformat()}; iEb-revisie {rev.name}).",
        )
    elif months > 0 and day > limit:
        yield rule.issue(
            ctx.path_of(path),
            f"{ctx.datum_veld} {day.isoformat()} ligt meer dan 1 maand na de dagtekening "
            f"{dagtekening.isoformat()}; een {wat} mag hoogstens tot {limit.isoformat()} vooruit liggen.",
        )


@_rule("TR112", 2, "0001", "Eerste aanlevering: datum hoogstens 12 maanden in het verleden", HEEN)
def _tr112(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    dagtekening = ctx.dagtekening
    rev = ctx.revision or revision_on(dagtekening.clamped() if dagtekening is not None else None)
    if ctx.spec.name in rev.tr112_messages:
        yield from _window(rule, ctx, "1", -12)


@_rule("TR113", 2, "0001", "Eerste aanlevering: datum hoogstens 1 maand in de toekomst", HEEN)
def _tr113(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "1", 1)


@_rule("TR116", 2, "0001", "Gewijzigde stop: EbStopdatum hoogstens 12 maanden in het verleden", {"WMO403"})
def _tr116(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "2", -12, ("StopEigenBijdrage",))


@_rule("TR117", 2, "0001", "Gewijzigde stop: EbStopdatum hoogstens 1 maand in de toekomst", {"WMO403"})
def _tr117(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "2", 1, ("StopEigenBijdrage",))


@_rule("8848", 3, "8848", "Dagtekening niet na de systeemdatum van de ontvanger", HEEN)
def _r8848(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    dagtekening = ctx.dagtekening
    if dagtekening is not None and dagtekening > ctx.today:
        yield rule.issue(
            ctx.path_of("m:Header/m:BerichtIdentificatie/b:Dagtekening"),
            f"Dagtekening {dagtekening.isoformat()} ligt na vandaag ({ctx.today.isoformat()}); "
            "een bericht kan niet in de toekomst verstuurd zijn. Gebruik de datum van verzending.",
        )


#: iEb 1.0: its own XSD already refuses a date with a timezone, so the generic date check is left out.
IEB_1_0_RULES: tuple[Rule, ...] = (
    _cs002,
    _cs125,
    _cs015,
    _cs025,
    _cs126,
    _cs300,
    _cs332,
    _cs333,
    _cs334,
    _tr112,
    _tr113,
    _tr116,
    _tr117,
    _r8848,
)


@_rule("IEB-DATUM", 2, "0001", "Datum binnen de jaren 0001-9999 (grens van deze bibliotheek)", ALL_IEB)
def _ieb_datum(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    """A date the XSD allows but no system of the chain can hold (years before 0001 or after 9999).
    Run by ``validate_bytes`` only when no other level-1/2 problem was found, so a rule of the
    standard (TR113, CS332, ...) decides such a date whenever one applies."""
    for el in _typed_elements(ctx, "LDT_Datum"):
        day = read_date(el)
        if day is not None and not day.in_python_range:
            yield rule.issue(
                ctx.location(el),
                f"Datum {day.isoformat()} in {etree.QName(el).localname} ligt buiten de jaren 0001-9999; "
                "zo'n datum kan niet verwerkt worden. Controleer de datum.",
            )


#: Run after the other rules, only when they found nothing at level 1 or 2.
DATE_RANGE_RULE = _ieb_datum
