"""The AOW-age table and the national tariff table."""

from __future__ import annotations

import json

import pytest
from policy_builders import d

from ieb.errors import ConfigurationError
from ieb.policy import (
    NATIONAL_TARIFFS,
    TariffPeriod,
    aow_age,
    aow_date,
    has_aow_age_in_month,
    monthly_tariff,
    national_tariff,
    table_from_environ,
    tariffs_from_json,
)
from ieb.policy.tariffs import tariffs_to_json


@pytest.mark.parametrize(
    ("geboren", "jaren", "maanden"),
    [
        ("1947-12-31", 65, 0),
        ("1948-06-01", 65, 1),
        ("1952-12-31", 66, 0),
        ("1953-01-01", 66, 4),  # 2019
        ("1955-08-31", 66, 4),  # 2021
        ("1955-09-01", 66, 7),  # 2022
        ("1957-02-28", 66, 10),  # 2023
        ("1957-03-01", 67, 0),  # 2024
        ("1960-12-31", 67, 0),  # 2027
        ("1961-01-01", 67, 3),  # 2028
        ("1964-09-30", 67, 3),  # 2031, last fixed year
    ],
)
def test_aow_age_from_the_rijksoverheid_table(geboren: str, jaren: int, maanden: int) -> None:
    age = aow_age(d(geboren))
    assert (age.jaren, age.maanden, age.vastgesteld) == (jaren, maanden, True)


def test_aow_age_after_the_table_is_provisional() -> None:
    age = aow_age(d("1970-01-01"))
    assert not age.vastgesteld and (age.jaren, age.maanden) == (67, 3)
    assert "nog niet vastgesteld" in str(age)


def test_aow_date_and_month() -> None:
    assert aow_date(d("1957-03-01")) == d("2024-03-01")
    assert aow_date(d("1955-09-30")) == d("2022-04-30")
    assert has_aow_age_in_month(d("1957-03-01"), d("2024-03-01"))
    assert not has_aow_age_in_month(d("1957-03-02"), d("2024-03-01"))


@pytest.mark.parametrize(
    ("day", "cent", "periode"),
    [
        ("2019-06-01", 1750, TariffPeriod.VIER_WEKEN),
        ("2020-01-01", 1900, TariffPeriod.MAAND),
        ("2023-12-31", 1900, TariffPeriod.MAAND),
        ("2024-01-01", 2060, TariffPeriod.MAAND),
        ("2025-07-01", 2100, TariffPeriod.MAAND),
        ("2026-01-01", 2180, TariffPeriod.MAAND),
    ],
)
def test_national_tariff_table(day: str, cent: int, periode: TariffPeriod) -> None:
    tariff = national_tariff(d(day))
    assert (tariff.bedrag_cent, tariff.periode) == (cent, periode)


def test_monthly_tariff_refuses_the_four_week_periods_of_2019() -> None:
    with pytest.raises(ConfigurationError, match="4 weken"):
        monthly_tariff(d("2019-05-01"))


def test_future_year_from_configuration() -> None:
    extra = json.dumps([{"vanaf": "2027-01-01", "bedrag_cent": 2250, "bron": "test"}])
    table = table_from_environ({"IEB_TARIEVEN": extra})
    assert national_tariff(d("2027-03-01"), table).bedrag_cent == 2250
    assert national_tariff(d("2026-03-01"), table).bedrag_cent == 2180
    assert table_from_environ({}) is NATIONAL_TARIFFS
    assert len(tariffs_from_json(tariffs_to_json(table))) == len(table.entries)


@pytest.mark.parametrize(
    "text",
    [
        "nee",
        "{}",
        '[{"vanaf": "2027-02-30", "bedrag_cent": 1}]',
        '[{"vanaf": "2027-01-01", "bedrag_cent": -5}]',
        '[{"vanaf": "2027-01-01", "bedrag_cent": 19.5}]',
        '[{"vanaf": "2027-01-01", "bedrag_cent": 100, "bedrag": 1}]',
    ],
)
def test_bad_tariff_configuration_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="tarieven"):
        tariffs_from_json(text)
