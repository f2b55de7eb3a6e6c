"""The in-message rules of iEb 1.0 (spec/ieb.md section 6): header values, CS300, CS332-CS334, the
date windows TR112-TR117 (parameters per revision, :mod:`.revisions`) and 8848.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ieb.dates import IEB_START
from ieb.errors import ConfigurationError
from ieb.issues import Issue
from ieb.policy.cs333 import cs333_message, cs333_tariff
from ieb.releases.ieb_1_0.revisions import Revision, revision_on
from ieb.releases.ieb_1_0.table import MESSAGES, START, STOP, VERSIONS
from ieb.releases.rules import GENERIC_RULES, Rule, RuleContext, define_rule

__all__ = ["RULES"]

#: The heenberichten (gemeente -> CAK) and every message of the release, from the table.
HEEN = frozenset(m.name for m in MESSAGES if m.is_heen)
ALL = frozenset(m.name for m in MESSAGES)


def _revision(ctx: RuleContext) -> Revision:
    """The forced revision, or the one in force on the Dagtekening."""
    if isinstance(ctx.revision, Revision):
        return ctx.revision
    dagtekening = ctx.dagtekening
    return revision_on(dagtekening.clamped() if dagtekening is not None else None)


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


@define_rule("CS015", 2, "0001", "BerichtSubversie is 0", ALL)
def _cs015(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _header_value(rule, ctx, "BerichtSubversie", VERSIONS.bericht_subversie, "iEb release 1.0")


@define_rule("CS025", 2, "0001", "BerichtVersie is 1", ALL)
def _cs025(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _header_value(rule, ctx, "BerichtVersie", VERSIONS.bericht_versie, "iEb release 1.0")


@define_rule("CS126", 2, "0001", "BerichtCode hoort bij het bericht", ALL)
def _cs126(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    if ctx.spec.bericht_code:
        yield from _header_value(
            rule, ctx, "BerichtCode", ctx.spec.bericht_code, "de BerichtCode van dit bericht"
        )


@define_rule("CS300", 3, "S300", "Afzender staat in de CBS-gemeentelijst", HEEN)
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


@define_rule("CS332", 2, "0001", "Start- en stopdatum niet voor 1 januari 2020", HEEN)
def _cs332(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    path = f"m:Client/m:{ctx.klasse}/m:{ctx.datum_veld}"
    day = ctx.date(path)
    if day is not None and day < IEB_START:
        yield rule.issue(
            ctx.path_of(path),
            f"{ctx.datum_veld} {day.isoformat()} ligt voor 1 januari 2020; iEb kent geen eigen bijdrage "
            "van voor die datum.",
        )


@define_rule(
    "CS333", 3, "S333", "KostprijsBedrag groter dan het nationale tarief op KostprijsStartdatum", {START.name}
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


@define_rule("CS334", 2, "0001", "KostprijsStartdatum niet voor EbStartdatum", {START.name})
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
    # the revision in force on the Dagtekening (.revisions) sets the window
    rev = _revision(ctx)
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


@define_rule("TR112", 2, "0001", "Eerste aanlevering: datum hoogstens 12 maanden in het verleden", HEEN)
def _tr112(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    if ctx.spec.name in _revision(ctx).tr112_messages:
        yield from _window(rule, ctx, "1", -12)


@define_rule("TR113", 2, "0001", "Eerste aanlevering: datum hoogstens 1 maand in de toekomst", HEEN)
def _tr113(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "1", 1)


@define_rule(
    "TR116", 2, "0001", "Gewijzigde stop: EbStopdatum hoogstens 12 maanden in het verleden", {STOP.name}
)
def _tr116(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "2", -12, ("StopEigenBijdrage",))


@define_rule("TR117", 2, "0001", "Gewijzigde stop: EbStopdatum hoogstens 1 maand in de toekomst", {STOP.name})
def _tr117(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    yield from _window(rule, ctx, "2", 1, ("StopEigenBijdrage",))


@define_rule("8848", 3, "8848", "Dagtekening niet na de systeemdatum van de ontvanger", HEEN)
def _r8848(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    dagtekening = ctx.dagtekening
    if dagtekening is not None and dagtekening > ctx.today:
        yield rule.issue(
            ctx.path_of("m:Header/m:BerichtIdentificatie/b:Dagtekening"),
            f"Dagtekening {dagtekening.isoformat()} ligt na vandaag ({ctx.today.isoformat()}); "
            "een bericht kan niet in de toekomst verstuurd zijn. Gebruik de datum van verzending.",
        )


#: The in-message rules of iEb 1.0 in the order they run. Its own XSD already refuses a date with a
#: timezone, so the generic XSD-DATUM check is left out; IEB-DATUM runs last (a ``final`` rule).
RULES: tuple[Rule, ...] = (
    *GENERIC_RULES[:2],  # CS002, CS125
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
