"""The in-message rules of iEb 4.0 and their parameters (ZIN informatiemodel iEb 4.0, codelist EB001).

==========  =====  ==========  ======================================================================
rule        level  retourcode  what (source: issue 20 public facts)
==========  =====  ==========  ======================================================================
CS002       2      0001        Bsn passes the 11-proef (generic check)
CS125       2      0001        StatusAanlevering 1, 2 or 3 (generic check)
TR394       2      0001        WMO405 status 2: EbStopdatum >= Dagtekening - revision term
TR378       3      S300        Afzender is a gemeentecode of the CBS list valid on the date
TR409       3      S333        KostprijsBedrag greater than the national tariff on KostprijsStartdatum
TR135       3      8848        Dagtekening not in the future (the receiver's system date)
==========  =====  ==========  ======================================================================

Rules read values through the binding (``binding.toml``: model field -> element path), never through
namespaces, so they work on the stand-in and on an official folder alike. The history rules (TR056,
TR063, TR393, 9395, overlap) need the ledger and live with the history engine; their codes are listed
in :data:`HISTORY_RULE_CODES`.

ASSUMED (not public): the revision term of TR394 (36 months, the term TR393 names), TR378's "the
date" read as the Dagtekening or, after a herindeling, the period's start, TR135 applied to the
Dagtekening (as 8848 in 1.0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ieb.dates import XsdDate
from ieb.errors import ConfigurationError
from ieb.issues import Issue
from ieb.policy.cs333 import cs333_tariff
from ieb.releases.ieb_4_0.binding import load_binding
from ieb.releases.rules import DATE_RANGE_RULE, GENERIC_RULES, Rule, RuleContext, define_rule
from ieb.values import read_date, read_integer, read_string

__all__ = [
    "FINAL_RULES",
    "HISTORY_RULE_CODES",
    "IEB_4_0_RULES",
    "PARAMETERS",
    "Parameters40",
]

HEEN = frozenset({"WMO405", "WMO407"})


@dataclass(frozen=True)
class Parameters40:
    """Rule parameters of iEb 4.0 (``name`` and ``in_force`` make it a revision of the pack).

    ``revision_term_months``: TR394's statutory revision term (ASSUMED 36); ``tr393_months``: TR393 /
    9395 (36, public); ``tr056_from`` / ``tr063_from``: the dates those rules apply from (public)."""

    name: str = "4.0"
    in_force: dt.date = dt.date(2025, 4, 7)
    revision_term_months: int = 36
    tr393_months: int = 36
    tr056_from: dt.date = dt.date(2022, 10, 1)
    tr063_from: dt.date = dt.date(2025, 4, 7)
    source: str = "ZIN informatiemodel iEb 4.0 (TR394, TR393), codelist EB001; revision term ASSUMED"


PARAMETERS = Parameters40()


def parameters_of(ctx: RuleContext) -> Parameters40:
    """The 4.0 parameters in force for ``ctx`` (a forced :class:`Parameters40`, else the default)."""
    forced = ctx.revision
    return forced if isinstance(forced, Parameters40) else PARAMETERS


def element(ctx: RuleContext, field: str) -> etree._Element | None:
    """The element bound to model ``field`` in this message, or None (absent, or not bound)."""
    binding = load_binding().get(ctx.spec.name)
    bound = binding.fields.get(field) if binding is not None else None
    if binding is None or bound is None:
        return None
    return next(iter(ctx.elements_at(binding.full_path(bound))), None)


def text(ctx: RuleContext, field: str) -> str | None:
    """The string value of the element bound to ``field``, or None."""
    el = element(ctx, field)
    return None if el is None else read_string(el)


def date(ctx: RuleContext, field: str) -> XsdDate | None:
    """The date value of the element bound to ``field``, or None (absent or not a date)."""
    el = element(ctx, field)
    return None if el is None else read_date(el)


def integer(ctx: RuleContext, field: str) -> int | None:
    """The integer value of the element bound to ``field``, or None."""
    el = element(ctx, field)
    return None if el is None else read_integer(el)


def where(ctx: RuleContext, field: str) -> str | None:
    """The XPath of the element bound to ``field`` (None when absent)."""
    el = element(ctx, field)
    return None if el is None else ctx.location(el)


@define_rule(
    "TR394",
    2,
    "0001",
    "Wijziging: EbStopdatum niet voor Dagtekening min de herzieningstermijn",
    frozenset({"WMO405"}),
)
def tr394(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    if text(ctx, "status_aanlevering") != "2":
        return
    stop, dagtekening = date(ctx, "eb_stopdatum"), date(ctx, "dagtekening")
    if stop is None or dagtekening is None:
        return
    months = parameters_of(ctx).revision_term_months
    limit = dagtekening.add_months(-months)
    if stop < limit:
        yield rule.issue(
            where(ctx, "eb_stopdatum"),
            f"EbStopdatum {stop.isoformat()} ligt meer dan {months} maanden voor de dagtekening "
            f"{dagtekening.isoformat()}; een gewijzigde periode mag niet eerder stoppen dan "
            f"{limit.isoformat()} (herzieningstermijn, TR394).",
        )


@define_rule("TR378", 3, "S300", "Afzender staat in de CBS-gemeentelijst die op de datum geldt", HEEN)
def tr378(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    code = text(ctx, "afzender")
    if code is None or len(code) != 4 or not code.isdigit():
        return  # the XSD reports a malformed code
    dagtekening = date(ctx, "dagtekening")
    day = dagtekening.clamped() if dagtekening is not None else ctx.today
    start = date(ctx, "eb_startdatum" if ctx.spec.name == "WMO405" else "bw_startdatum")
    days = [day] + ([start.clamped()] if start is not None else [])
    if any(ctx.gemeenten.is_valid(code, d) for d in days):
        return  # after a herindeling the list valid on the period's start may apply
    known = ctx.gemeenten.lookup(code)
    hint = (
        f" Code {code} ({known.naam}) was geldig tot {known.einddatum}; gebruik de code van de nieuwe gemeente."
        if known is not None and known.einddatum is not None
        else ""
    )
    yield rule.issue(
        where(ctx, "afzender"),
        f"Afzender {code} is op {day.isoformat()} geen gemeentecode in de lijst van het CBS (TR378).{hint}",
    )


@define_rule(
    "TR409",
    3,
    "S333",
    "KostprijsBedrag groter dan het nationale tarief op KostprijsStartdatum",
    frozenset({"WMO405"}),
)
def tr409(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    bedrag, start = integer(ctx, "kostprijs_bedrag"), date(ctx, "kostprijs_startdatum")
    if bedrag is None or start is None or bedrag < 0:
        return
    try:
        tariff = cs333_tariff(bedrag, start.clamped(), ctx.tariffs)
    except ConfigurationError:
        return  # no national tariff on that date: nothing to compare with
    if tariff is not None:
        hoe = "gelijk aan" if bedrag == tariff.bedrag_cent else "lager dan"
        yield rule.issue(
            where(ctx, "kostprijs_bedrag"),
            f"KostprijsBedrag {bedrag / 100:.2f} euro is {hoe} het nationale tarief van "
            f"{tariff.bedrag_cent / 100:.2f} euro op {start.isoformat()}; de kostprijs moet groter zijn "
            "dan het tarief (TR409). Stuur geen kostprijs mee, of controleer het bedrag (in eurocent).",
        )


@define_rule("TR135", 3, "8848", "Dagtekening niet na de systeemdatum van de ontvanger", HEEN)
def tr135(rule: Rule, ctx: RuleContext) -> Iterator[Issue]:
    dagtekening = date(ctx, "dagtekening")
    if dagtekening is not None and dagtekening > ctx.today:
        yield rule.issue(
            where(ctx, "dagtekening"),
            f"Dagtekening {dagtekening.isoformat()} ligt na vandaag ({ctx.today.isoformat()}); een bericht "
            "kan niet in de toekomst verstuurd zijn (TR135). Gebruik de datum van verzending.",
        )


#: The in-message rules of iEb 4.0 in the order they run.
IEB_4_0_RULES: tuple[Rule, ...] = (*GENERIC_RULES, tr394, tr378, tr409, tr135)
#: Run only when the others found nothing at level 1 or 2: dates the XSD allows but Python cannot hold.
FINAL_RULES: tuple[Rule, ...] = (dataclasses.replace(DATE_RANGE_RULE, berichten=None),)
#: The history rules of iEb 4.0 (defined with the history engine), in the order they run. ``TR395``
#: is the ASSUMED rule code of retourcode 9395 (the rule text is not public); ``OP291`` is the overlap
#: check of 1.0 applied to 4.0 periods (its 4.0 retourcode is not public: it reports 0001).
HISTORY_RULE_CODES: tuple[str, ...] = ("TR056", "TR063", "TR393", "TR395", "OP291")
