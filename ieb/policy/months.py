"""Calendar months and **the month rule** of the abonnementstarief, in one place.

The month rule (spec "Start, stop, pause"; CAK and VNG, see ``docs/policy.md``):

* collection begins in the calendar month **after** the month of the start date;
* the month in which the stop date falls is charged in full;
* there are no part months;
* a pause (a stop followed by a new start) only has effect when it lasts **longer than a calendar
  month** (VNG): the restart date lies after (the day after the stop) plus one calendar month.
  Otherwise the two intervals count as one. The seed checklist (1.1.3) leaves the definition of
  start, stop and pause to each gemeente, so the rule is a municipal parameter
  (:class:`PauseRule`, ``GemeenteParameters.pauzeregel``) with the VNG reading as its default.

Whether a start dated on the 1st of a month is charged for that same month is not settled in public
sources. The default here (:data:`START_ON_FIRST_CHARGED` = ``False``) treats it like any other
start date: collection from the next month. Change it in :func:`first_charged_month` only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ieb.policy.errors import PolicyInputError

__all__ = [
    "START_ON_FIRST_CHARGED",
    "Interval",
    "Month",
    "PauseRule",
    "add_calendar_months",
    "charged_months",
    "first_charged_month",
    "last_charged_month",
    "merge_intervals",
    "pause_end",
    "pause_has_effect",
]

#: The documented default for the open question "is a start on the 1st charged for that month?".
START_ON_FIRST_CHARGED = False

_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month (``YYYY-MM``): the unit the abonnementstarief is charged in.

    Ordered and hashable; ``str()`` gives ``YYYY-MM``. Years 1..9999 and months 1..12 only:
    anything else raises :class:`~ieb.policy.PolicyInputError` (field ``maand``).
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise PolicyInputError("maand", f"{self.year:04d}-{self.month:02d} bestaat niet")

    @classmethod
    def of(cls, day: dt.date) -> Month:
        """The month that contains the date ``day``."""
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str, field: str = "maand") -> Month:
        """Parse ``YYYY-MM``; an impossible month raises :class:`PolicyInputError` naming ``field``."""
        match = _MONTH_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise PolicyInputError(field, f"{text!r} is geen maand; schrijf JJJJ-MM, bijvoorbeeld 2025-01")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 1:
            raise PolicyInputError(field, f"maand {text!r} bestaat niet; het maandnummer loopt van 01 tot 12")
        return cls(year, month)

    @property
    def first_day(self) -> dt.date:
        """The 1st of this month (the day that decides ages in a month, ``docs/policy.md`` section 9)."""
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        """The last day of this month (28..31; the virtual end date of a kostprijs stop month)."""
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        """The month after this one (December is followed by January of the next year).

        Raises :class:`~ieb.policy.PolicyInputError` after December 9999.
        """
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """The month before this one; raises :class:`~ieb.policy.PolicyInputError` before January 0001."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def plus(self, months: int) -> Month:
        """This month moved ``months`` months (negative: back); ``Month(2025, 11).plus(3)`` is 2026-02.

        Raises :class:`~ieb.policy.PolicyInputError` when the result lies outside years 1..9999.
        """
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def until(self, last: Month) -> Iterator[Month]:
        """This month up to and including ``last`` (nothing when ``last`` is earlier)."""
        current = self
        while current <= last:
            yield current
            current = current.next()

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class Interval:
    """Support from ``start`` up to and including ``stop`` (``None``: not stopped), both dates.

    Raises :class:`~ieb.policy.PolicyInputError` (field ``stop``) when ``stop`` lies before ``start``.
    """

    start: dt.date
    stop: dt.date | None = None

    def __post_init__(self) -> None:
        if self.stop is not None and self.stop < self.start:
            raise PolicyInputError(
                "stop",
                f"de stopdatum {self.stop.isoformat()} ligt voor de startdatum {self.start.isoformat()}; "
                "controleer beide datums",
            )


def first_charged_month(start: dt.date) -> Month:
    """The first month charged for support that starts on ``start`` (default: the month after).

    The month rule (CAK, VNG; ``docs/policy.md`` section 4): collection begins in the month after
    the start month. A start on the 1st follows the same rule while
    :data:`START_ON_FIRST_CHARGED` is ``False`` (an [I] choice, ``docs/policy.md`` section 9).
    """
    if START_ON_FIRST_CHARGED and start.day == 1:
        return Month.of(start)
    return Month.of(start).next()


def last_charged_month(stop: dt.date) -> Month:
    """The last month charged for support that stops on ``stop``: the stop month, in full."""
    return Month.of(stop)


def charged_months(interval: Interval, until: Month) -> list[Month]:
    """The months charged for one interval, up to and including ``until`` for an open interval.

    Support that starts and stops in the same calendar month is not charged at all: collection would
    only begin in the month after the stop month.
    """
    first = first_charged_month(interval.start)
    last = until if interval.stop is None else min(last_charged_month(interval.stop), until)
    return list(first.until(last))


class PauseRule(StrEnum):
    """When a stop followed by a new start counts as a pause (a municipal choice, checklist 1.1.3).

    The values are the words of the ``pauzeregel`` parameter in JSON and CSV.
    """

    #: Default, VNG ("een pauze is alleen effectief als deze langer duurt dan een kalendermaand"):
    #: the restart lies after (the day after the stop) + one calendar month.
    LONGER_THAN_CALENDAR_MONTH = "langer_dan_kalendermaand"
    #: The days without support include one whole calendar month (1st up to and including the last).
    WHOLE_CALENDAR_MONTH_FREE = "hele_kalendermaand_vrij"
    #: Every day without support makes a pause (only adjacent or overlapping intervals are merged).
    ANY_GAP = "elke_onderbreking"


def add_calendar_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; a day that does not exist clamps to the month's end.

    31 January + 1 month is 28 (or 29) February, as in the usual Dutch reading of a term of months
    (the same day number, or the last day of the month when that month is shorter). Raises
    :class:`~ieb.policy.PolicyInputError` (field ``datum``) outside years 1..9999.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = index // 12, index % 12 + 1
    if not 1 <= year <= 9999:
        raise PolicyInputError("datum", f"{day.isoformat()} plus {months} maanden valt buiten de kalender")
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pause_end(stop: dt.date, rule: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH) -> dt.date:
    """The last restart date that does **not** make a pause after support stopped on ``stop``.

    A restart on or before this date continues the support; a restart after it is a pause with
    effect. Default rule: (the day after the stop) + one calendar month, so stop 31-03 gives 01-05
    (restart 01-05: no pause, 02-05: pause) and stop 15-03 gives 16-04.
    """
    if stop >= dt.date.max - dt.timedelta(days=62):
        return dt.date.max
    first_free = stop + dt.timedelta(days=1)
    if rule is PauseRule.ANY_GAP:
        return first_free
    if rule is PauseRule.LONGER_THAN_CALENDAR_MONTH:
        return add_calendar_months(first_free, 1)
    # WHOLE_CALENDAR_MONTH_FREE: the first whole month after the stop must be free up to its last day.
    month = Month.of(first_free) if first_free.day == 1 else Month.of(first_free).next()
    return month.last_day


def pause_has_effect(
    stop: dt.date, restart: dt.date, rule: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH
) -> bool:
    """True when support that stopped on ``stop`` and restarts on ``restart`` had a pause with effect.

    Default rule (VNG): the pause must last longer than a calendar month, i.e. ``restart`` lies after
    (the day after ``stop``) + one calendar month. Stop 31-03, restart 01-05: exactly April, no
    effect (the support counts as continuous). Restart 02-05: effect. Stop 15-03, restart 20-04:
    effect (35 days; April is not charged). See :class:`PauseRule` for the other choices.
    """
    if restart <= stop:
        return False
    return restart > pause_end(stop, rule)


def merge_intervals(
    intervals: list[Interval], rule: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH
) -> list[Interval]:
    """Merge overlapping intervals and intervals whose pause has no effect under ``rule``.

    This is the function the ledger planner calls on the support intervals of one person (before it
    numbers periods) so that a pause without effect does not send a stop plus a new start.
    """
    ordered = sorted(intervals, key=lambda i: i.start)
    merged: list[Interval] = []
    for item in ordered:
        if not merged:
            merged.append(item)
            continue
        last = merged[-1]
        if last.stop is None:
            continue
        if item.start <= last.stop or not pause_has_effect(last.stop, item.start, rule):
            stop = None if item.stop is None else max(last.stop, item.stop)
            merged[-1] = Interval(last.start, stop)
        else:
            merged.append(item)
    return merged
