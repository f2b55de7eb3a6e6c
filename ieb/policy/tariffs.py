"""The national maximum abonnementstarief as a date-effective table (integer eurocent).

Sources: 2019 EUR 17.50 per 4-week period; 2020-2023 EUR 19.00 per calendar month; 2024 EUR 20.60;
2025 EUR 21.00; 2026 EUR 21.80 (Stcrt. 2025, 35082). Years after the last entry keep the last known
amount until a newer entry is configured (see :meth:`TariffTable.extended`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ieb.errors import ConfigurationError

__all__ = ["NATIONAL_TARIFFS", "Periode", "Tariff", "TariffTable", "national_tariff"]


class Periode(StrEnum):
    VIER_WEKEN = "4-weken"
    MAAND = "maand"


@dataclass(frozen=True, slots=True)
class Tariff:
    vanaf: dt.date
    bedrag_cent: int
    periode: Periode = Periode.MAAND
    bron: str = ""


class TariffTable:
    """An ordered, date-effective table; ``on(date)`` returns the entry in force on that date."""

    def __init__(self, entries: Iterable[Tariff]) -> None:
        ordered = sorted(entries, key=lambda t: t.vanaf)
        if not ordered:
            raise ConfigurationError("tarieftabel is leeg")
        seen: set[dt.date] = set()
        for t in ordered:
            if t.vanaf in seen:
                raise ConfigurationError(f"tarieftabel heeft twee tarieven vanaf {t.vanaf.isoformat()}")
            if t.bedrag_cent <= 0:
                raise ConfigurationError(f"tarief vanaf {t.vanaf.isoformat()} moet positief zijn")
            seen.add(t.vanaf)
        self._entries = tuple(ordered)

    @property
    def entries(self) -> tuple[Tariff, ...]:
        return self._entries

    def on(self, day: dt.date) -> Tariff:
        current: Tariff | None = None
        for t in self._entries:
            if t.vanaf <= day:
                current = t
            else:
                break
        if current is None:
            raise ConfigurationError(
                f"geen nationaal tarief bekend op {day.isoformat()} (tabel begint {self._entries[0].vanaf})"
            )
        return current

    def extended(self, extra: Iterable[Tariff]) -> TariffTable:
        """A new table with ``extra`` entries added (an entry with the same ``vanaf`` replaces the old)."""
        by_date = {t.vanaf: t for t in self._entries}
        for t in extra:
            by_date[t.vanaf] = t
        return TariffTable(by_date.values())


NATIONAL_TARIFFS = TariffTable(
    [
        Tariff(
            dt.date(2019, 1, 1), 1750, Periode.VIER_WEKEN, "Besluit maatschappelijke ondersteuning 2015, 2019"
        ),
        Tariff(dt.date(2020, 1, 1), 1900, Periode.MAAND, "Uitvoeringsbesluit Wmo 2015, 2020"),
        Tariff(dt.date(2024, 1, 1), 2060, Periode.MAAND, "indexatie 2024"),
        Tariff(dt.date(2025, 1, 1), 2100, Periode.MAAND, "indexatie 2025"),
        Tariff(dt.date(2026, 1, 1), 2180, Periode.MAAND, "Stcrt. 2025, 35082"),
    ]
)


def national_tariff(day: dt.date, table: TariffTable | None = None) -> Tariff:
    """The national maximum abonnementstarief in force on ``day``."""
    return (table or NATIONAL_TARIFFS).on(day)
