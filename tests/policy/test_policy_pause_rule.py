"""The pause rule at its edges: a municipal parameter (``pauzeregel``) with the VNG reading as default.

VNG (vraag en antwoord "Wanneer kan het abonnementstarief worden gepauzeerd?"): a pause is a stop
plus a new start and only has effect when it lasts longer than a calendar month. As dates: the
restart lies after (the day after the stop) + one calendar month; a day that does not exist in the
shorter month clamps to its last day.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_builders import CLIENT, d, lid, vz

from ieb.policy import (
    GemeenteParameters,
    Household,
    Interval,
    Month,
    PauseRule,
    PolicyInputError,
    Reason,
    derive_periods,
    estimate_household,
    merge_intervals,
    parameters_from_csv,
    parameters_to_csv,
    pause_has_effect,
)
from ieb.policy.months import add_calendar_months, pause_end

DEFAULT = PauseRule.LONGER_THAN_CALENDAR_MONTH


@pytest.mark.parametrize(
    ("stop", "restart", "effect", "why"),
    [
        ("2025-03-31", "2025-05-01", False, "exactly April without support: not longer than a month"),
        ("2025-03-31", "2025-05-02", True, "one day longer than April"),
        ("2025-03-15", "2025-04-20", True, "35 days, longer than 16 March .. 15 April"),
        ("2025-03-15", "2025-04-16", False, "16 March .. 15 April: exactly one calendar month"),
        ("2025-03-15", "2025-04-17", True, "one day longer"),
        ("2025-01-31", "2025-03-01", False, "exactly February (28 days)"),
        ("2025-01-31", "2025-03-02", True, "one day longer than February"),
        ("2025-01-30", "2025-02-28", False, "31 Jan + 1 month clamps to 28 Feb"),
        ("2025-01-30", "2025-03-01", True, "after the clamped end"),
        ("2024-01-30", "2024-02-29", False, "leap year: clamps to 29 Feb"),
        ("2024-01-30", "2024-03-01", True, "leap year: after 29 Feb"),
        ("2024-12-31", "2025-02-01", False, "across the year: exactly January"),
        ("2024-12-31", "2025-02-02", True, "across the year: longer than January"),
        ("2025-02-28", "2025-04-01", False, "exactly March"),
        ("2025-03-10", "2025-03-20", False, "ten days"),
        ("2025-03-10", "2025-03-11", False, "adjacent: no day without support"),
        ("2025-03-10", "2025-03-10", False, "restart on the stop date"),
        ("2025-03-10", "2025-03-05", False, "overlap"),
    ],
)
def test_default_rule_vng(stop: str, restart: str, effect: bool, why: str) -> None:
    assert pause_has_effect(d(stop), d(restart)) is effect, why
    assert pause_has_effect(d(stop), d(restart), DEFAULT) is effect, why


@pytest.mark.parametrize(
    ("rule", "stop", "restart", "effect"),
    [
        (PauseRule.WHOLE_CALENDAR_MONTH_FREE, "2025-03-31", "2025-05-01", True),  # April entirely free
        (PauseRule.WHOLE_CALENDAR_MONTH_FREE, "2025-03-31", "2025-04-30", False),
        (PauseRule.WHOLE_CALENDAR_MONTH_FREE, "2025-03-15", "2025-04-20", False),  # no whole month free
        (PauseRule.WHOLE_CALENDAR_MONTH_FREE, "2025-03-15", "2025-05-01", True),
        (PauseRule.ANY_GAP, "2025-03-31", "2025-04-01", False),  # adjacent
        (PauseRule.ANY_GAP, "2025-03-31", "2025-04-02", True),  # one day without support
    ],
)
def test_other_rules_a_gemeente_may_choose(rule: PauseRule, stop: str, restart: str, effect: bool) -> None:
    assert pause_has_effect(d(stop), d(restart), rule) is effect


def test_pause_end_names_the_last_restart_without_effect() -> None:
    assert pause_end(d("2025-03-31")) == d("2025-05-01")
    assert pause_end(d("2025-03-15")) == d("2025-04-16")
    assert pause_end(d("2025-01-30")) == d("2025-02-28")
    assert pause_end(dt.date(9999, 12, 20)) == dt.date.max


def test_add_calendar_months_clamps_and_refuses_the_end_of_the_calendar() -> None:
    assert add_calendar_months(d("2025-01-31"), 1) == d("2025-02-28")
    assert add_calendar_months(d("2025-03-31"), -1) == d("2025-02-28")
    with pytest.raises(PolicyInputError, match="datum"):
        add_calendar_months(dt.date(9999, 12, 1), 1)


dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@given(dates, st.integers(min_value=1, max_value=80))
def test_default_rule_is_a_threshold(stop: dt.date, gap: int) -> None:
    restart = stop + dt.timedelta(days=gap)
    expected = restart > add_calendar_months(stop + dt.timedelta(days=1), 1)
    assert pause_has_effect(stop, restart) is expected
    # Monotone: a longer pause never loses its effect.
    if expected:
        assert pause_has_effect(stop, restart + dt.timedelta(days=1))
    # Never more lenient than "a whole calendar month free", never stricter than "any gap" ...
    if pause_has_effect(stop, restart, PauseRule.WHOLE_CALENDAR_MONTH_FREE) and gap > 62:
        assert expected
    if expected:
        assert pause_has_effect(stop, restart, PauseRule.ANY_GAP)


@given(dates, st.integers(min_value=1, max_value=80))
def test_a_pause_without_effect_charges_as_continuous(stop: dt.date, gap: int) -> None:
    restart = stop + dt.timedelta(days=gap)
    start = dt.date(2019, 12, 10)
    merged = merge_intervals([Interval(start, stop), Interval(restart, None)])
    if pause_has_effect(stop, restart):
        assert len(merged) == 2
    else:
        assert merged == [Interval(start, None)]


def _months(pauzeregel: PauseRule, stop: str, restart: str, van: str, tot: str) -> list[tuple[str, int]]:
    params = GemeenteParameters(gemeentecode="0363", pauzeregel=pauzeregel)
    items = [
        vz("huishoudelijke_hulp", "2025-01-10", stop, id="a"),
        vz("huishoudelijke_hulp", restart, id="b"),
    ]
    schatting = estimate_household(
        Household(leden=(lid(),)), items, params, Month.parse(van), Month.parse(tot)
    )
    return [(str(m.maand), m.bedrag_cent) for m in schatting.maanden]


def test_field_case_one_calendar_month_has_no_effect() -> None:
    # policy-2026-11/pauze_precies_een_kalendermaand: Feb..Jul 2025 all charged, total 126.00.
    months = _months(DEFAULT, "2025-03-31", "2025-05-01", "2025-02", "2025-07")
    assert months == [(f"2025-{m:02d}", 2100) for m in range(2, 8)]


def test_one_day_longer_frees_april_and_the_restart_month() -> None:
    months = dict(_months(DEFAULT, "2025-03-31", "2025-05-02", "2025-03", "2025-06"))
    assert months == {"2025-03": 2100, "2025-04": 0, "2025-05": 0, "2025-06": 2100}


def test_stop_mid_march_restart_20_april_frees_april() -> None:
    months = dict(_months(DEFAULT, "2025-03-15", "2025-04-20", "2025-03", "2025-05"))
    assert months == {"2025-03": 2100, "2025-04": 0, "2025-05": 2100}


def test_the_gemeente_may_keep_the_whole_month_reading() -> None:
    months = dict(
        _months(PauseRule.WHOLE_CALENDAR_MONTH_FREE, "2025-03-31", "2025-05-01", "2025-03", "2025-06")
    )
    assert months == {"2025-03": 2100, "2025-04": 0, "2025-05": 0, "2025-06": 2100}


def test_pause_reason_is_startmaand_after_a_pause_with_effect() -> None:
    params = GemeenteParameters(gemeentecode="0363")
    items = [vz("begeleiding", "2025-01-10", "2025-03-15", id="a"), vz("begeleiding", "2025-04-20", id="b")]
    schatting = estimate_household(Household(leden=(lid(),)), items, params, Month(2025, 4), Month(2025, 4))
    assert schatting.maanden[0].reden is Reason.STARTMAAND


def test_periods_for_the_planner_follow_the_gemeentes_rule() -> None:
    items = [vz("begeleiding", "2025-01-10", "2025-03-31", id="a"), vz("begeleiding", "2025-05-01", id="b")]
    [one] = derive_periods(items, parameters=GemeenteParameters(gemeentecode="0363"))
    assert (one.bsn, one.start, one.stop) == (CLIENT, d("2025-01-10"), None)
    two = derive_periods(
        items, parameters=GemeenteParameters(gemeentecode="0363", pauzeregel=PauseRule.ANY_GAP)
    )
    assert [(p.start, p.stop) for p in two] == [(d("2025-01-10"), d("2025-03-31")), (d("2025-05-01"), None)]


def test_pause_rule_in_csv_round_trip_and_bad_value() -> None:
    params = GemeenteParameters(gemeentecode="0363", pauzeregel=PauseRule.WHOLE_CALENDAR_MONTH_FREE)
    text = parameters_to_csv(params)
    assert "pauzeregel;;;;hele_kalendermaand_vrij;;" in text
    assert parameters_from_csv(text) == params
    with pytest.raises(PolicyInputError, match="pauzeregel"):
        parameters_from_csv(text.replace("hele_kalendermaand_vrij", "twee_weken"))
