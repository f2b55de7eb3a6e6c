"""The national maximum abonnementstarief as a date-effective table (integer eurocent).

Sources: 2019 EUR 17.50 per 4-week period; 2020-2023 EUR 19.00 per calendar month; 2024 EUR 20.60;
2025 EUR 21.00; 2026 EUR 21.80 (Stcrt. 2025, 35082). Years after the last entry keep the last known
amount until a newer entry is configured (see :meth:`TariffTable.extended`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ieb.errors import ConfigurationError

__all__ = [
    "ENV_VAR",
    "NATIONAL_TARIFFS",
    "Tariff",
    "TariffPeriod",
    "TariffTable",
    "monthly_tariff",
    "national_tariff",
    "table_from_environ",
    "tariffs_from_json",
    "tariffs_to_json",
]

#: Environment variable that may hold extra (future-year) entries as JSON, see :func:`table_from_environ`.
ENV_VAR = "IEB_TARIEVEN"


class TariffPeriod(StrEnum):
    """The period one national tariff amount covers; the values are the JSON word ``periode``.

    ``VIER_WEKEN``: a 4-week period, 13 a year (2019 only); ``MAAND``: a calendar month (2020 on).
    Monthly calculations refuse ``VIER_WEKEN`` (:func:`monthly_tariff`).
    """

    VIER_WEKEN = "4-weken"
    MAAND = "maand"


@dataclass(frozen=True, slots=True)
class Tariff:
    """One entry of the national maximum abonnementstarief: in force from ``vanaf`` (a date).

    ``bedrag_cent`` is the maximum per ``periode`` in eurocent (``2180`` = EUR 21.80 a month in
    2026); ``bron`` names the source (decree or Staatscourant), for people reading the table.
    """

    vanaf: dt.date
    bedrag_cent: int
    periode: TariffPeriod = TariffPeriod.MAAND
    bron: str = ""


class TariffTable:
    """An ordered, date-effective table; ``on(date)`` returns the entry in force on that date.

    Built from :class:`Tariff` entries in any order. Raises :class:`~ieb.errors.ConfigurationError`
    when the table is empty, two entries share a ``vanaf`` date or an amount is not positive.
    """

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
        """The entries ordered by ``vanaf``, oldest first."""
        return self._entries

    def on(self, day: dt.date) -> Tariff:
        """The entry in force on the date ``day``: the latest whose ``vanaf`` is on or before it.

        After the last entry the last known amount stays in force (``docs/policy.md`` section 9).
        Raises :class:`~ieb.errors.ConfigurationError` for a day before the first entry.
        """
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
            dt.date(2019, 1, 1),
            1750,
            TariffPeriod.VIER_WEKEN,
            "Besluit maatschappelijke ondersteuning 2015, 2019",
        ),
        Tariff(dt.date(2020, 1, 1), 1900, TariffPeriod.MAAND, "Uitvoeringsbesluit Wmo 2015, 2020"),
        Tariff(dt.date(2024, 1, 1), 2060, TariffPeriod.MAAND, "indexatie 2024"),
        Tariff(dt.date(2025, 1, 1), 2100, TariffPeriod.MAAND, "indexatie 2025"),
        Tariff(dt.date(2026, 1, 1), 2180, TariffPeriod.MAAND, "Stcrt. 2025, 35082"),
    ]
)


def national_tariff(day: dt.date, table: TariffTable | None = None) -> Tariff:
    """The national maximum abonnementstarief in force on ``day`` (default table: :data:`NATIONAL_TARIFFS`).

    The amount is ``.bedrag_cent`` (eurocent per ``.periode``). Raises
    :class:`~ieb.errors.ConfigurationError` for a day before 2019-01-01 (or the table's first entry).
    """
    return (table or NATIONAL_TARIFFS).on(day)


def monthly_tariff(day: dt.date, table: TariffTable | None = None) -> Tariff:
    """The national tariff for the calendar month containing ``day``; refuses 4-week periods (2019).

    In 2019 the CAK charged per 4-week period, which does not map onto calendar months: for 2019 use
    the RESTBEDRAG of the CAK migration file instead of a monthly calculation.
    """
    tariff = national_tariff(day.replace(day=1), table)
    if tariff.periode is not TariffPeriod.MAAND:
        raise ConfigurationError(
            f"het landelijk tarief op {day.isoformat()} gold per periode van 4 weken, niet per maand; "
            "maandberekeningen kunnen pas vanaf 2020; gebruik voor 2019 het RESTBEDRAG uit het "
            "migratiebestand van het CAK",
            location="maand",
        )
    return tariff


def tariffs_from_json(text: str) -> list[Tariff]:
    """Parse ``[{"vanaf": "YYYY-MM-DD", "bedrag_cent": int, "periode": "maand", "bron": str}, ...]``.

    ``bedrag_cent`` is a positive integer in eurocent; ``periode`` (``maand`` or ``4-weken``) and
    ``bron`` are optional. Raises :class:`~ieb.errors.ConfigurationError` naming the entry and
    field (``tarieven[2].bedrag_cent``) for invalid JSON, unknown keys or a bad value.
    """
    from ieb.tabular import JsonTextError, loads_json

    try:
        data = loads_json(text)
    except JsonTextError as exc:
        raise ConfigurationError(f"tarieven: {exc}") from None
    if not isinstance(data, list):
        raise ConfigurationError("tarieven: verwacht een lijst van {vanaf, bedrag_cent}")
    result: list[Tariff] = []
    for index, item in enumerate(data):
        where = f"tarieven[{index}]"
        if not isinstance(item, dict):
            raise ConfigurationError(f"{where}: verwacht een object met vanaf en bedrag_cent")
        unknown = set(item) - {"vanaf", "bedrag_cent", "periode", "bron"}
        if unknown:
            raise ConfigurationError(f"{where}: onbekend veld {sorted(unknown)[0]!r}")
        try:
            vanaf = dt.date.fromisoformat(str(item.get("vanaf")))
        except ValueError:
            raise ConfigurationError(
                f"{where}.vanaf: {item.get('vanaf')!r} is geen datum JJJJ-MM-DD"
            ) from None
        bedrag = item.get("bedrag_cent")
        if not isinstance(bedrag, int) or isinstance(bedrag, bool) or bedrag <= 0:
            raise ConfigurationError(
                f"{where}.bedrag_cent: {bedrag!r} moet een positief geheel getal (eurocent) zijn"
            )
        try:
            periode = TariffPeriod(item.get("periode", "maand"))
        except ValueError:
            raise ConfigurationError(f"{where}.periode: kies 'maand' of '4-weken'") from None
        bron = item.get("bron", "configuratie")
        result.append(Tariff(vanaf, bedrag, periode, str(bron)))
    return result


def tariffs_to_json(table: TariffTable) -> str:
    """The inverse of :func:`tariffs_from_json`."""
    return json.dumps(
        [
            {
                "vanaf": t.vanaf.isoformat(),
                "bedrag_cent": t.bedrag_cent,
                "periode": t.periode.value,
                "bron": t.bron,
            }
            for t in table.entries
        ],
        indent=2,
        ensure_ascii=False,
    )


def table_from_environ(environ: Mapping[str, str], base: TariffTable | None = None) -> TariffTable:
    """``base`` extended with the JSON entries in ``environ[IEB_TARIEVEN]`` (unchanged when unset).

    The variable holds JSON text (a list as accepted by :func:`tariffs_from_json`); a published amount
    for a new year can so be added without a release. Reading a file is left to the caller.
    """
    base = base or NATIONAL_TARIFFS
    text = environ.get(ENV_VAR, "").strip()
    if not text:
        return base
    return base.extended(tariffs_from_json(text))
