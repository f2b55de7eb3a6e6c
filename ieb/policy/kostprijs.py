"""Kostprijsbewaking for hulpmiddelen and woningaanpassingen.

Total contributions for such a voorziening may not exceed its kostprijs. The CAK counts **every**
month of the contribution at the **national** tariff, also when the client paid a lowered tariff or
nothing (minima, exemption, partner already paying), and signals when the kostprijs is reached; the
gemeente then sends the stop. Worked example (CAK/VNG): EUR 570 at EUR 19 a month is 30 months.

Virtual end date [inferred, spec]: remaining = kostprijs - the national tariffs of the months
already counted; walk the coming months, each at the national tariff of that month (so a new amount
on 1 January is taken into account), until the remaining amount is used up. The month in which that
happens is the stop month: it is charged (at most the remaining amount) and the stop goes out for it.
The virtual end date is the last day of the stop month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ieb.policy.cs333 import cs333_tariff
from ieb.policy.errors import KostprijsError
from ieb.policy.months import Month
from ieb.policy.tariffs import TariffTable, monthly_tariff

__all__ = [
    "KostprijsEnd",
    "check_kostprijs",
    "counted_cent",
    "kostprijs_schedule",
    "needs_kostprijs_change",
    "remaining_kostprijs",
    "virtual_end",
]

_MAX_MONTHS = 12 * 200


@dataclass(frozen=True, slots=True)
class KostprijsEnd:
    """When a (remaining) kostprijs is used up, counting from ``first_month``.

    ``months`` counts the charged months, the stop month included; ``stop_month_remainder_cent`` is
    what is left to count in the stop month (eurocent, at most that month's national tariff).
    """

    first_month: Month
    stop_month: Month
    months: int
    stop_month_remainder_cent: int

    @property
    def virtual_end_date(self) -> dt.date:
        """The last day of :attr:`stop_month`: the kostprijs "virtual end date" (checklist 1.1.4)."""
        return self.stop_month.last_day


def check_kostprijs(
    kostprijs_cent: int, start: dt.date, table: TariffTable | None = None, field: str = "kostprijs_cent"
) -> None:
    """Refuse a negative kostprijs, or one not greater than one month of the national tariff on
    ``start`` (CS333, :func:`ieb.policy.cs333.cs333_tariff`: equal is refused).

    ``kostprijs_cent`` is in eurocent; ``field`` names it in the error. Raises
    :class:`~ieb.policy.KostprijsError` (code ``CS333`` for the tariff rule) and
    :class:`~ieb.errors.ConfigurationError` when ``start`` lies in 2019 (4-week tariffs) or before.
    """
    if isinstance(kostprijs_cent, bool) or not isinstance(kostprijs_cent, int):
        raise KostprijsError(field, f"{kostprijs_cent!r} moet een geheel bedrag in eurocent zijn")
    if kostprijs_cent < 0:
        raise KostprijsError(
            field, f"{kostprijs_cent} is negatief; een kostprijs is een positief bedrag in eurocent"
        )
    monthly_tariff(start, table)  # refuses the 4-weekly tariff of 2019
    tariff = cs333_tariff(kostprijs_cent, start, table)
    if tariff is not None:
        hoe = "gelijk aan" if kostprijs_cent == tariff.bedrag_cent else "lager dan"
        raise KostprijsError(
            field,
            f"{kostprijs_cent} cent is {hoe} het landelijk tarief van {tariff.bedrag_cent} cent op "
            f"{start.isoformat()} (regel CS333); laat de kostprijs weg als de voorziening gehuurd of geleast "
            "wordt, of controleer het bedrag",
            code="CS333",
        )


def counted_cent(months: Iterable[Month], table: TariffTable | None = None) -> int:
    """The sum of the national tariff over ``months`` (what the CAK counts against a kostprijs), eurocent.

    Every month counts at the national tariff, whatever the client paid [C, CAK]. Raises
    :class:`~ieb.errors.ConfigurationError` for a month before 2020 (4-week tariffs).
    """
    return sum(monthly_tariff(m.first_day, table).bedrag_cent for m in months)


def remaining_kostprijs(
    kostprijs_cent: int, months: Iterable[Month], table: TariffTable | None = None
) -> int:
    """The kostprijs left after counting ``months`` at the national tariff (eurocent, never below zero)."""
    return max(0, kostprijs_cent - counted_cent(months, table))


def needs_kostprijs_change(remaining_cent: int, new_kostprijs_cent: int) -> bool:
    """A change with a new kostprijs is needed only when the new one exceeds the remaining one.

    Both amounts in eurocent. Source: kostprijsbewaking, ``docs/policy.md`` section 6 [I].
    """
    return new_kostprijs_cent > remaining_cent


def kostprijs_schedule(
    remaining_cent: int, first_month: Month, table: TariffTable | None = None
) -> list[tuple[Month, int]]:
    """Per coming month the amount counted, from ``first_month`` until ``remaining_cent`` is used up.

    Returns ``[(month, eurocent), ...]``: each month at the national tariff of that month (so a
    1 January change counts), the last one at most what is left; empty when ``remaining_cent`` is 0.
    Raises :class:`~ieb.policy.KostprijsError` for a negative amount and
    :class:`~ieb.errors.ConfigurationError` for months before 2020.
    """
    if remaining_cent < 0:
        raise KostprijsError("resterend_cent", f"{remaining_cent} is negatief")
    schedule: list[tuple[Month, int]] = []
    month = first_month
    left = remaining_cent
    while left > 0:
        if len(schedule) >= _MAX_MONTHS:  # pragma: no cover - tariffs are positive, so this ends
            raise KostprijsError(
                "kostprijs_cent", "kostprijs raakt in 200 jaar niet op; controleer het bedrag"
            )
        amount = min(left, monthly_tariff(month.first_day, table).bedrag_cent)
        schedule.append((month, amount))
        left -= amount
        month = month.next()
    return schedule


def virtual_end(
    remaining_cent: int, first_month: Month, table: TariffTable | None = None
) -> KostprijsEnd | None:
    """When ``remaining_cent``, counted from ``first_month`` on, is used up (None when nothing is left).

    >>> from ieb.policy.months import Month
    >>> end = virtual_end(57000, Month(2021, 2))
    >>> (end.months, str(end.stop_month))
    (30, '2023-07')
    """
    schedule = kostprijs_schedule(remaining_cent, first_month, table)
    if not schedule:
        return None
    return KostprijsEnd(first_month, schedule[-1][0], len(schedule), schedule[-1][1])
