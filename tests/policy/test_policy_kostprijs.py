"""Kostprijsbewaking: counted at the national tariff, virtual end date, stop month, changes, pauses."""

from __future__ import annotations

import pytest
from policy_builders import CLIENT, d, vz

from ieb.policy import (
    KostprijsError,
    Month,
    StopReason,
    check_kostprijs,
    derive_periods,
    kostprijs_schedule,
    needs_kostprijs_change,
    remaining_kostprijs,
    virtual_end,
)


def test_worked_example_570_euro_at_19_euro_is_30_months() -> None:
    """CAK/VNG example: a kostprijs of EUR 570 at EUR 19 a month is used up after 30 months."""
    end = virtual_end(57000, Month(2020, 2))
    assert end is not None
    assert end.months == 30
    assert end.stop_month == Month(2022, 7)
    assert end.virtual_end_date == d("2022-07-31")
    assert end.stop_month_remainder_cent == 1900


def test_worked_example_as_a_period_start_january_2020() -> None:
    [period] = derive_periods([vz("hulpmiddel", "2020-01-15", kostprijs=57000)])
    assert period.stop == d("2022-07-31")  # collection Feb 2020 .. Jul 2022 = 30 months
    assert period.stop_reden is StopReason.KOSTPRIJS_BEREIKT
    assert (period.kostprijs_cent, period.kostprijs_start) == (57000, d("2020-01-15"))


def test_tariff_change_on_1_january_is_taken_into_account() -> None:
    # EUR 300 from July 2023: 6 x 19.00 = 114.00 in 2023, then 20.60 a month in 2024: 186 / 20.60 -> 10 months.
    end = virtual_end(30000, Month(2023, 7))
    assert end is not None
    assert (end.stop_month, end.months, end.stop_month_remainder_cent) == (Month(2024, 10), 16, 60)
    naive_at_19 = virtual_end(30000, Month(2020, 1))
    assert naive_at_19 is not None and naive_at_19.months == 16  # 15 x 19 = 285, 16th month 15.00


def test_months_are_counted_at_the_national_tariff_whatever_the_client_paid() -> None:
    months = list(Month(2024, 1).until(Month(2024, 12)))
    assert remaining_kostprijs(30000, months) == 30000 - 12 * 2060
    assert remaining_kostprijs(10000, months) == 0  # never negative


def test_schedule_never_counts_more_than_the_kostprijs() -> None:
    schedule = kostprijs_schedule(5000, Month(2025, 1))
    assert [c for _, c in schedule] == [2100, 2100, 800]


def test_change_only_when_the_new_kostprijs_exceeds_the_remaining_one() -> None:
    assert needs_kostprijs_change(remaining_cent=20000, new_kostprijs_cent=25000)
    assert not needs_kostprijs_change(remaining_cent=20000, new_kostprijs_cent=20000)
    assert not needs_kostprijs_change(remaining_cent=20000, new_kostprijs_cent=15000)


def test_remaining_kostprijs_is_sent_again_after_a_pause() -> None:
    # Woningaanpassing EUR 600 from 10 Jan 2024; delivery paused (beschikking stop 31 Mar, new start
    # 1 Jun). Counted Feb + Mar 2024 = 41.20, so 558.80 is sent again with the new start.
    first = vz("woningaanpassing", "2024-01-10", "2024-03-31", kostprijs=60000, id="wa")
    periods = derive_periods([first])
    assert periods[0].stop == d("2024-03-31")
    from ieb.policy import Event, EventKind, GemeenteParameters, StartTrigger, VoorzieningKind

    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.WONINGAANPASSING: StartTrigger.LEVERING}
    )
    events = [
        Event(voorziening_id="wa", soort=EventKind.START_ZORG, datum=d("2024-01-10")),
        Event(voorziening_id="wa", soort=EventKind.STOP_ZORG, datum=d("2024-03-31")),
        Event(voorziening_id="wa", soort=EventKind.START_ZORG, datum=d("2024-06-01")),
    ]
    open_item = vz("woningaanpassing", "2024-01-10", None, kostprijs=60000, id="wa")
    before, after = derive_periods([open_item], events, params)
    assert before.stop == d("2024-03-31") and before.kostprijs_cent == 60000
    assert after.start == d("2024-06-01")
    assert after.kostprijs_cent == 60000 - 2 * 2060
    assert after.kostprijs_start == d("2024-06-01")
    assert after.stop_reden is StopReason.KOSTPRIJS_BEREIKT


def test_longest_running_kostprijs_item_is_sent() -> None:
    small = vz("hulpmiddel", "2024-01-10", kostprijs=10000, id="a")
    large = vz("woningaanpassing", "2024-03-05", kostprijs=80000, id="b")
    [period] = derive_periods([small, large])
    assert (period.kostprijs_cent, period.kostprijs_start) == (80000, d("2024-03-05"))
    # The larger kostprijs exceeds what is left of the first one: a change is needed.
    assert [(k.voorziening_id, k.kostprijs_cent) for k in period.kostprijzen] == [("a", 10000), ("b", 80000)]


def test_no_change_when_the_new_kostprijs_is_lower_than_the_remaining_one() -> None:
    large = vz("woningaanpassing", "2024-01-10", kostprijs=80000, id="a")
    small = vz("hulpmiddel", "2024-03-05", kostprijs=5000, id="b")
    [period] = derive_periods([large, small])
    assert [k.voorziening_id for k in period.kostprijzen] == ["a"]


def test_no_kostprijs_when_another_voorziening_runs_longer() -> None:
    [period] = derive_periods(
        [vz("hulpmiddel", "2024-01-10", kostprijs=10000), vz("begeleiding", "2024-01-02")]
    )
    assert period.kostprijs_cent is None and period.stop is None


@pytest.mark.parametrize(
    ("kostprijs", "match"),
    [(-100, "negatief"), (1500, "CS333")],
)
def test_bad_kostprijs_is_refused(kostprijs: int, match: str) -> None:
    with pytest.raises(KostprijsError, match=match):
        check_kostprijs(kostprijs, d("2025-01-10"))


def test_kostprijs_below_national_tariff_names_the_voorziening() -> None:
    with pytest.raises(KostprijsError, match=r"voorzieningen\[0\]\.kostprijs_cent") as info:
        derive_periods([vz("hulpmiddel", "2025-01-10", kostprijs=1500, bsn=CLIENT)])
    assert info.value.code == "CS333"
