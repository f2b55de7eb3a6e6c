"""The AOW age (pensioengerechtigde leeftijd) by date of birth, as a dated table.

Source: Rijksoverheid, "Wanneer gaat mijn AOW in?" and the SVB table "AOW-leeftijd", which follow
art. 7a Algemene Ouderdomswet (Wet verhoging AOW- en pensioenrichtleeftijd 2013, Wet versnelling
2015, Wet temporisering verhoging AOW-leeftijd 2019) and the yearly Kamerbrieven of the minister of
SZW that fix the age five years ahead (2028-2031: 67 years and 3 months). Checked 2025.

Each row: people born on or before ``geboren_tot_en_met`` (and after the previous row) reach the
AOW age ``jaren`` + ``maanden``. For people born after the last row the age is not fixed yet; the
table then returns the last fixed age (a legal minimum) with ``vastgesteld=False``. Extend
:data:`AOW_TABLE` when the minister fixes the next year (each November).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ieb.dates import add_months

__all__ = ["AOW_TABLE", "AowAge", "age_on", "aow_age", "aow_date", "has_aow_age_in_month"]


@dataclass(frozen=True, slots=True)
class AowAge:
    """An AOW age: ``jaren`` years and ``maanden`` months; ``vastgesteld`` False when provisional."""

    jaren: int
    maanden: int
    vastgesteld: bool = True
    aow_jaar: int | None = None  # the calendar year the first people of this row reach it

    def __str__(self) -> str:
        text = f"{self.jaren} jaar" + (f" en {self.maanden} maanden" if self.maanden else "")
        return text if self.vastgesteld else text + " (nog niet vastgesteld; minimaal)"


#: (born on or before, AOW age). Rows are in date order; the first row is everything before 1948.
AOW_TABLE: tuple[tuple[dt.date, AowAge], ...] = (
    (dt.date(1947, 12, 31), AowAge(65, 0, aow_jaar=2012)),
    (dt.date(1948, 11, 30), AowAge(65, 1, aow_jaar=2013)),
    (dt.date(1949, 10, 31), AowAge(65, 2, aow_jaar=2014)),
    (dt.date(1950, 9, 30), AowAge(65, 3, aow_jaar=2015)),
    (dt.date(1951, 6, 30), AowAge(65, 6, aow_jaar=2016)),
    (dt.date(1952, 3, 31), AowAge(65, 9, aow_jaar=2017)),
    (dt.date(1952, 12, 31), AowAge(66, 0, aow_jaar=2018)),
    (dt.date(1953, 8, 31), AowAge(66, 4, aow_jaar=2019)),
    (dt.date(1954, 8, 31), AowAge(66, 4, aow_jaar=2020)),
    (dt.date(1955, 8, 31), AowAge(66, 4, aow_jaar=2021)),
    (dt.date(1956, 5, 31), AowAge(66, 7, aow_jaar=2022)),
    (dt.date(1957, 2, 28), AowAge(66, 10, aow_jaar=2023)),
    (dt.date(1957, 12, 31), AowAge(67, 0, aow_jaar=2024)),
    (dt.date(1958, 12, 31), AowAge(67, 0, aow_jaar=2025)),
    (dt.date(1959, 12, 31), AowAge(67, 0, aow_jaar=2026)),
    (dt.date(1960, 12, 31), AowAge(67, 0, aow_jaar=2027)),
    (dt.date(1961, 9, 30), AowAge(67, 3, aow_jaar=2028)),
    (dt.date(1962, 9, 30), AowAge(67, 3, aow_jaar=2029)),
    (dt.date(1963, 9, 30), AowAge(67, 3, aow_jaar=2030)),
    (dt.date(1964, 9, 30), AowAge(67, 3, aow_jaar=2031)),
)


def aow_age(geboortedatum: dt.date) -> AowAge:
    """The AOW age of someone born on ``geboortedatum`` (provisional after the last fixed row).

    Source: art. 7a AOW and the SVB/Rijksoverheid table by birth date (:data:`AOW_TABLE`); for a
    birth date after the last fixed row the last fixed age is returned with ``vastgesteld=False``.
    """
    for born_until, age in AOW_TABLE:
        if geboortedatum <= born_until:
            return age
    last = AOW_TABLE[-1][1]
    return AowAge(last.jaren, last.maanden, vastgesteld=False)


def _add_months(day: dt.date, months: int) -> dt.date:
    return add_months(day, months)  # the one month arithmetic (ieb.dates), total


def aow_date(geboortedatum: dt.date) -> dt.date:
    """The day on which someone reaches the AOW age (birth date plus the age; 31st clamps to month end)."""
    age = aow_age(geboortedatum)
    return _add_months(geboortedatum, age.jaren * 12 + age.maanden)


def age_on(geboortedatum: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day``."""
    years = day.year - geboortedatum.year
    if (day.month, day.day) < (geboortedatum.month, geboortedatum.day):
        years -= 1
    return years


def has_aow_age_in_month(geboortedatum: dt.date, first_day: dt.date) -> bool:
    """True when the AOW age was reached on or before ``first_day`` (the first day of a month).

    Inferred rule [I]: a month counts as "below AOW age" when the person is below it on any day of
    that month, so a household is treated as an AOW household from the month after the AOW date
    (or the same month when the AOW date is the 1st).
    """
    return aow_date(geboortedatum) <= first_day
