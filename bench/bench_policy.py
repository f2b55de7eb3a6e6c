"""Benchmark of ``ieb.policy``: prints ratios against a baseline measured in the same run.

Baseline: a plain loop that looks up the national tariff for each month of the horizon (the least
any monthly estimate must do). Measured: ``estimate_household`` and ``derive_periods`` for a
two-person household with four voorzieningen over ten years. Run: ``python bench/bench_policy.py``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from ieb.policy import (
    GemeenteParameters,
    Household,
    Member,
    Month,
    Voorziening,
    VoorzieningKind,
    derive_periods,
    estimate_household,
    national_tariff,
)

VAN, TOT = Month(2020, 1), Month(2029, 12)
LEDEN = (
    Member(bsn="999900006", geboortedatum=dt.date(1950, 6, 15)),
    Member(bsn="999900018", geboortedatum=dt.date(1952, 2, 1)),
)
ITEMS = [
    Voorziening(
        bsn="999900006",
        soort=VoorzieningKind.HUISHOUDELIJKE_HULP,
        start=dt.date(2020, 3, 10),
        stop=dt.date(2023, 5, 1),
    ),
    Voorziening(
        bsn="999900006", soort=VoorzieningKind.HULPMIDDEL, start=dt.date(2021, 1, 10), kostprijs_cent=57000
    ),
    Voorziening(
        bsn="999900018",
        soort=VoorzieningKind.BEGELEIDING,
        start=dt.date(2024, 7, 1),
        stop=dt.date(2025, 1, 1),
    ),
    Voorziening(
        bsn="999900018",
        soort=VoorzieningKind.WONINGAANPASSING,
        start=dt.date(2025, 6, 1),
        kostprijs_cent=250000,
    ),
]
PARAMS = GemeenteParameters(gemeentecode="0363")


def baseline() -> None:
    total = 0
    for m in VAN.until(TOT):
        total += national_tariff(m.first_day).bedrag_cent
    assert total > 0


def estimate() -> None:
    estimate_household(Household(leden=LEDEN), ITEMS, PARAMS, VAN, TOT)


def periods() -> None:
    derive_periods(ITEMS, parameters=PARAMS)


def best_of(fn: Callable[[], None], repeat: int = 5, number: int = 20) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        timings.append((time.perf_counter() - start) / number)
    return min(timings)


def main() -> None:
    base = best_of(baseline)
    print(f"baseline (tariff lookup, {len(list(VAN.until(TOT)))} months): {base * 1e6:.0f} us")
    for name, fn in (("estimate_household", estimate), ("derive_periods", periods)):
        t = best_of(fn)
        print(f"{name}: {t * 1e6:.0f} us  ratio {t / base:.1f}x baseline")


if __name__ == "__main__":
    main()
