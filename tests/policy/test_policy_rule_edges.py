"""More edges of the same kinds as issue 16: boundaries of "below", "longer than", "on any day",
and who in the household a rule looks at. Each was checked against the documented rule."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_builders import ANDER, CLIENT, KIND1, KIND2, PARTNER, d, lid, vz

from ieb.policy import (
    Event,
    EventKind,
    Exemption,
    ExemptionGround,
    GemeenteParameters,
    Household,
    HouseholdType,
    IncomeComparison,
    Member,
    MinimaLimits,
    Month,
    PauseRule,
    Period,
    Reason,
    Role,
    StartTrigger,
    Voorziening,
    VoorzieningKind,
    derive_periods,
    estimate_household,
)
from ieb.policy.parameters import Grenzen

FAST = settings(max_examples=60, deadline=None)
DEFAULT = GemeenteParameters(gemeentecode="0363")


def months(leden: tuple[Member, ...], items: list[Voorziening], params: GemeenteParameters, van: str, tot: str,
           inkomen: int | None = None) -> list[tuple[str, int, Reason]]:  # fmt: skip
    schatting = estimate_household(
        Household(leden=leden, inkomen_cent_per_jaar=inkomen),
        items,
        params,
        Month.parse(van),
        Month.parse(tot),
    )
    return [(str(m.maand), m.bedrag_cent, m.reden) for m in schatting.maanden]


# --- start and stop at month boundaries -------------------------------------------------------


def test_start_on_the_last_day_and_stop_on_the_first_of_the_next_month_charges_that_month() -> None:
    assert months(
        (lid(),), [vz("begeleiding", "2025-03-31", "2025-04-01")], DEFAULT, "2025-03", "2025-05"
    ) == [
        ("2025-03", 0, Reason.STARTMAAND),
        ("2025-04", 2100, Reason.LANDELIJK_TARIEF),
        ("2025-05", 0, Reason.GEEN_VOORZIENING),
    ]


def test_start_and_stop_in_the_same_month_charge_nothing_even_from_the_1st_to_the_last() -> None:
    got = months((lid(),), [vz("begeleiding", "2025-03-01", "2025-03-31")], DEFAULT, "2025-03", "2025-04")
    assert [bedrag for _, bedrag, _ in got] == [0, 0]


# --- individual exemptions: "on any day of the month" -----------------------------------------


def vrijstelling(vanaf: str, tot: str | None) -> GemeenteParameters:
    x = Exemption(bsn=CLIENT, grond=ExemptionGround.ONVOLDOENDE_DRAAGKRACHT, vanaf=d(vanaf),
                     tot=d(tot) if tot else None)  # fmt: skip
    return GemeenteParameters(gemeentecode="0363", vrijstellingen=(x,))


def test_exemption_ending_on_the_last_day_of_a_month_frees_that_month_only() -> None:
    got = months((lid(),), [vz("huishoudelijke_hulp", "2024-01-10")], vrijstelling("2025-01-01", "2025-03-31"),
                 "2025-03", "2025-04")  # fmt: skip
    assert got == [("2025-03", 0, Reason.VRIJSTELLING), ("2025-04", 2100, Reason.LANDELIJK_TARIEF)]


def test_exemption_ending_on_the_1st_still_frees_that_month() -> None:
    got = months((lid(),), [vz("huishoudelijke_hulp", "2024-01-10")], vrijstelling("2025-01-01", "2025-04-01"),
                 "2025-04", "2025-05")  # fmt: skip
    assert got == [("2025-04", 0, Reason.VRIJSTELLING), ("2025-05", 2100, Reason.LANDELIJK_TARIEF)]


def test_exemption_starting_on_the_last_day_frees_that_month() -> None:
    got = months((lid(),), [vz("huishoudelijke_hulp", "2024-01-10")], vrijstelling("2025-03-31", None),
                 "2025-02", "2025-03")  # fmt: skip
    assert got == [("2025-02", 2100, Reason.LANDELIJK_TARIEF), ("2025-03", 0, Reason.VRIJSTELLING)]


# --- minima limits: from which month, and the cell at the AOW boundary -------------------------

GRENZEN = Grenzen(
    eenpersoons=2_000_000, meerpersoons=2_800_000, eenpersoons_aow=2_200_000, meerpersoons_aow=3_000_000
)


def test_minima_limit_dated_mid_month_applies_from_the_next_month() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", minima=(MinimaLimits(vanaf=d("2025-03-15"), grens_cent_per_jaar=GRENZEN),)
    )
    got = months((lid(),), [vz("huishoudelijke_hulp", "2024-01-10")], params, "2025-03", "2025-04", inkomen=1)
    assert [r for _, _, r in got] == [Reason.LANDELIJK_TARIEF, Reason.MINIMA]


def test_minima_cell_switches_when_the_client_reaches_aow_age_on_the_1st() -> None:
    # Born 1958-05-01: AOW (67) on 2025-05-01. Income 21,000 is above the one-person limit (20,000)
    # and below the one-person AOW limit (22,000): charged in April, exempt from May.
    params = GemeenteParameters(
        gemeentecode="0363", minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),)
    )
    client = lid(CLIENT, "1958-05-01")
    got = months((client,), [vz("huishoudelijke_hulp", "2024-01-10")], params, "2025-04", "2025-05",
                 inkomen=2_100_000)  # fmt: skip
    assert [r for _, _, r in got] == [Reason.LANDELIJK_TARIEF, Reason.MINIMA]


def test_minima_cell_of_a_couple_uses_the_partner_not_a_child() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),)
    )
    client, partner = lid(CLIENT, "1950-06-15", rol="client"), lid(PARTNER, "1951-01-01", rol="partner")
    kind = lid(KIND1, "2010-01-01", rol="overig")
    item = [vz("huishoudelijke_hulp", "2024-01-10")]
    # 29,000 is below the multi-person AOW limit (30,000): exempt as a couple at AOW age ...
    assert (
        months((client, partner, kind), item, params, "2025-06", "2025-06", inkomen=2_900_000)[0][2]
        is Reason.MINIMA
    )
    # ... but above the one-person AOW limit when there is no partner, whatever the children.
    assert months((lid(CLIENT, "1950-06-15", rol="client"), kind), item, params, "2025-06", "2025-06",
                  inkomen=2_900_000)[0][2] is Reason.LANDELIJK_TARIEF  # fmt: skip


# --- the pause rule and the kostprijs ----------------------------------------------------------


def _delivered(restart: str) -> list[Period]:
    """One hulpmiddel (kostprijs EUR 300) delivered 10-01, taken back 31-03, delivered again on ``restart``."""
    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.HULPMIDDEL: StartTrigger.LEVERING}
    )
    item = vz("hulpmiddel", "2025-01-01", kostprijs=30_000, id="hm")
    events = [
        Event(voorziening_id="hm", soort=EventKind.START_ZORG, datum=d("2025-01-10")),
        Event(voorziening_id="hm", soort=EventKind.STOP_ZORG, datum=d("2025-03-31")),
        Event(voorziening_id="hm", soort=EventKind.START_ZORG, datum=d(restart)),
    ]
    return derive_periods([item], events, params)


def test_a_pause_without_effect_keeps_counting_the_kostprijs_through_the_gap() -> None:
    [period] = _delivered("2025-05-01")
    # One continuous period: Feb..Dec 2025 = 11 x 21.00, then Jan..Mar 2026 3 x 21.80; 3.60 is left
    # for April 2026, the stop month.
    assert period.start == d("2025-01-10") and period.stop == d("2026-04-30")
    assert period.restant_stopmaand_cent == 30_000 - 11 * 2100 - 3 * 2180 == 360


def test_a_pause_with_effect_sends_the_remaining_kostprijs_with_the_new_start() -> None:
    first, second = _delivered("2025-05-02")
    assert (first.stop, second.start) == (d("2025-03-31"), d("2025-05-02"))
    assert second.kostprijs_cent == 30_000 - 2 * 2100  # February and March were counted


# --- properties: children never change the outcome, roles keep today's meaning ----------------

birth = st.dates(min_value=dt.date(1935, 1, 1), max_value=dt.date(2000, 12, 31))
child_birth = st.dates(min_value=dt.date(2008, 1, 1), max_value=dt.date(2019, 12, 31))
dates = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2025, 12, 31))
SOORTEN = [s for s in VoorzieningKind if s is not VoorzieningKind.ROLSTOEL]


@st.composite
def adult_items(draw: st.DrawFn, bsns: tuple[str, ...]) -> list[Voorziening]:
    items = []
    for index in range(draw(st.integers(0, 3))):
        start = draw(dates)
        stop = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=dt.date(2026, 6, 30))))
        items.append(Voorziening(id=f"v{index}", bsn=draw(st.sampled_from(bsns)), soort=draw(st.sampled_from(SOORTEN)),
                                 start=start, stop=stop))  # fmt: skip
    return items


@FAST
@given(st.data())
def test_adding_a_child_without_voorzieningen_changes_nothing(data: st.DataObject) -> None:
    couple = data.draw(st.booleans())
    client = Member(bsn=CLIENT, geboortedatum=data.draw(birth), rol=Role.CLIENT)
    leden: tuple[Member, ...] = (client,)
    if couple:
        leden += (Member(bsn=PARTNER, geboortedatum=data.draw(birth), rol=Role.PARTNER),)
    items = data.draw(adult_items(tuple(m.bsn for m in leden)))
    child = Member(
        bsn=KIND2,
        geboortedatum=data.draw(child_birth),
        rol=data.draw(st.sampled_from([Role.CHILD, Role.OTHER])),
    )
    inkomen = data.draw(st.one_of(st.none(), st.integers(0, 4_000_000)))
    params = GemeenteParameters(
        gemeentecode="0363", minima=(MinimaLimits(vanaf=d("2021-01-01"), grens_cent_per_jaar=GRENZEN),)
    )
    without = months(leden, items, params, "2021-01", "2026-06", inkomen)
    assert months((*leden, child), items, params, "2021-01", "2026-06", inkomen) == without
    assert months((child, *reversed(leden)), items, params, "2021-01", "2026-06", inkomen) == without


@FAST
@given(birth, birth, st.data())
def test_two_adults_without_roles_mean_client_and_partner(
    a: dt.date, b: dt.date, data: st.DataObject
) -> None:
    plain = (Member(bsn=CLIENT, geboortedatum=a), Member(bsn=PARTNER, geboortedatum=b))
    with_roles = (
        Member(bsn=CLIENT, geboortedatum=a, rol=Role.CLIENT),
        Member(bsn=PARTNER, geboortedatum=b, rol=Role.PARTNER),
    )
    items = data.draw(adult_items((CLIENT, PARTNER)))
    assert months(plain, items, DEFAULT, "2021-01", "2026-06") == months(
        with_roles, items, DEFAULT, "2021-01", "2026-06"
    )


@FAST
@given(st.integers(1, 5_000_000), st.integers(0, 5_000_000))
def test_strict_comparison_differs_only_exactly_at_the_limit(limit: int, income: int) -> None:
    grenzen = Grenzen(eenpersoons=limit, meerpersoons=limit, eenpersoons_aow=limit, meerpersoons_aow=limit)
    strict = MinimaLimits(vanaf=d("2024-01-01"), grens_cent_per_jaar=grenzen)
    loose = strict.model_copy(update={"vergelijking": IncomeComparison.AT_OR_BELOW})
    for kind in (HouseholdType.EENPERSOONS, HouseholdType.MEERPERSOONS_AOW):
        assert strict.exempts(income, kind) == (income < limit)
        assert (strict.exempts(income, kind) != loose.exempts(income, kind)) == (income == limit)


@FAST
@given(st.data())
def test_more_pauses_never_charge_more_months_without_kostprijs(data: st.DataObject) -> None:
    items = data.draw(adult_items((CLIENT,)))
    items = [v for v in items if v.kostprijs_cent is None]
    charged = {}
    for rule in PauseRule:
        params = GemeenteParameters(gemeentecode="0363", pauzeregel=rule)
        charged[rule] = {
            m for m, bedrag, _ in months((lid(),), items, params, "2021-01", "2026-06") if bedrag
        }
    assert charged[PauseRule.ANY_GAP] <= charged[PauseRule.LONGER_THAN_CALENDAR_MONTH]
    assert charged[PauseRule.ANY_GAP] <= charged[PauseRule.WHOLE_CALENDAR_MONTH_FREE]


def test_an_adult_housemate_without_voorziening_gives_no_reason() -> None:
    got = months(
        (lid(CLIENT, rol="client"), lid(ANDER, "1990-01-01", rol="overig")), [], DEFAULT, "2025-01", "2025-01"
    )
    assert got == [("2025-01", 0, Reason.GEEN_VOORZIENING)]
