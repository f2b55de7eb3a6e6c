"""The month rule: collection from the month after the start, stop month charged, pause rule."""

from __future__ import annotations

import pytest
from policy_builders import d

from ieb.policy import (
    Interval,
    Month,
    PolicyInputError,
    charged_months,
    first_charged_month,
    last_charged_month,
    merge_intervals,
)


def test_collection_starts_the_month_after_the_start_date() -> None:
    assert first_charged_month(d("2024-03-15")) == Month(2024, 4)
    assert first_charged_month(d("2024-12-31")) == Month(2025, 1)


def test_start_on_the_first_is_not_charged_for_that_month_by_default() -> None:
    assert first_charged_month(d("2024-03-01")) == Month(2024, 4)


def test_stop_month_is_charged_in_full() -> None:
    assert last_charged_month(d("2024-06-02")) == Month(2024, 6)
    months = charged_months(Interval(d("2024-03-15"), d("2024-06-02")), Month(2030, 1))
    assert [str(m) for m in months] == ["2024-04", "2024-05", "2024-06"]


def test_start_and_stop_in_the_same_month_charges_nothing() -> None:
    assert charged_months(Interval(d("2024-03-05"), d("2024-03-25")), Month(2030, 1)) == []


def test_open_interval_runs_until_the_horizon() -> None:
    assert len(charged_months(Interval(d("2024-01-10")), Month(2024, 12))) == 11


def test_short_pause_merges_into_one_interval() -> None:
    # Stop 15 March, restart 16 April: exactly one calendar month without support, so no effect.
    merged = merge_intervals([Interval(d("2024-01-10"), d("2024-03-15")), Interval(d("2024-04-16"), None)])
    assert merged == [Interval(d("2024-01-10"), None)]


def test_long_pause_keeps_two_intervals() -> None:
    first, second = Interval(d("2024-01-10"), d("2024-03-15")), Interval(d("2024-05-01"), None)
    assert merge_intervals([second, first]) == [first, second]


def test_impossible_inputs_name_the_field() -> None:
    with pytest.raises(PolicyInputError, match="stop"):
        Interval(d("2024-05-01"), d("2024-04-01"))
    with pytest.raises(PolicyInputError, match="van"):
        Month.parse("2024-13", "van")
    with pytest.raises(PolicyInputError, match="tot"):
        Month.parse("maart", "tot")


def test_month_arithmetic() -> None:
    assert Month(2024, 12).next() == Month(2025, 1)
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert Month(2024, 11).plus(14) == Month(2026, 1)
    assert Month(2024, 2).last_day == d("2024-02-29")
    assert str(Month.parse("2025-07")) == "2025-07"
