"""Total date logic: ``xs:date`` values of any year, and month arithmetic that never raises.

``xs:date`` (XSD 1.0, the iEb basisschema's ``LDT_Datum``) allows years beyond 9999 (``12026-05-01``),
negative years (``-2026-05-01``, no year 0000) and a timezone; Python's :class:`datetime.date` holds
only 0001..9999. :class:`XsdDate` holds every value in the value space, is totally ordered with other
XsdDates and with :class:`datetime.date`, and converts to a ``date`` when it can. Every date rule of the
project compares XsdDates, so a date outside Python's range is decided like any other (a year above
9999 lies "too far in the future", one below 2020 fails CS332) instead of crashing.

:func:`add_months` is the one month arithmetic of the project (ledger, planner, rules, test data).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering

__all__ = ["IEB_START", "XsdDate", "add_months", "days_in_month", "parse_xsd_date"]

#: CS332: no start or stop before the start of iEb.
IEB_START = dt.date(2020, 1, 1)

# XSD 1.0 lexical form of xs:date: an optional '-', a year of at least four digits (no leading zero
# when more than four), month, day and an optional timezone (Z or +-hh:mm, at most 14:00).
_XSD_DATE = re.compile(
    r"(?P<sign>-)?(?P<year>[1-9][0-9]{4,}|[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?P<tz>Z|[+-](?P<tzh>[0-9]{2}):(?P<tzm>[0-9]{2}))?"
)
#: libxml2 keeps the year in a signed 64-bit integer: its XSD check accepts years up to 2**63 - 1
#: either side of zero and refuses larger ones (also -2**63). The same bound here, checked on the
#: digit count first, so a hostile value never becomes a huge Python integer.
_MAX_YEAR_DIGITS = 19
_MAX_YEAR = 2**63 - 1


def _is_leap(year: int) -> bool:
    # XSD 1.0 (and libxml2) apply the Gregorian rule to the year as written, so -0004 is a leap year.
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Days in ``month`` (1..12) of ``year`` (any integer, proleptic Gregorian as XSD 1.0 counts it)."""
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


@total_ordering
@dataclass(frozen=True, slots=True)
class XsdDate:
    """A value of ``xs:date``: any year but 0, month, day and an optional timezone in minutes.

    Ordering and equality look at (year, month, day) only, like a calendar date without a time;
    comparison with a :class:`datetime.date` is supported both ways.
    """

    year: int
    month: int
    day: int
    tz_minutes: int | None = None

    @classmethod
    def of(cls, day: dt.date) -> XsdDate:
        """The XsdDate of a :class:`datetime.date`."""
        return cls(day.year, day.month, day.day)

    @property
    def key(self) -> tuple[int, int, int]:
        """(year, month, day): what ordering and equality compare."""
        return (self.year, self.month, self.day)

    def _other_key(self, other: object) -> tuple[int, int, int] | None:
        if isinstance(other, XsdDate):
            return other.key
        if isinstance(other, dt.date) and not isinstance(other, dt.datetime):
            return (other.year, other.month, other.day)
        return None

    def __eq__(self, other: object) -> bool:
        key = self._other_key(other)
        return NotImplemented if key is None else self.key == key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: object) -> bool:
        key = self._other_key(other)
        if key is None:
            return NotImplemented
        return self.key < key

    def __gt__(self, other: object) -> bool:
        key = self._other_key(other)
        if key is None:
            return NotImplemented
        return self.key > key

    @property
    def in_python_range(self) -> bool:
        """True when :meth:`to_date` succeeds (years 0001..9999)."""
        return 1 <= self.year <= 9999

    def to_date(self) -> dt.date | None:
        """The :class:`datetime.date`, or None for a year outside 0001..9999 (the timezone is dropped)."""
        return dt.date(self.year, self.month, self.day) if self.in_python_range else None

    def clamped(self) -> dt.date:
        """The :class:`datetime.date`, with a year outside 0001..9999 clamped to the nearest bound
        (for looking up a table by date: a year above 9999 uses the newest entry)."""
        if self.year > 9999:
            return dt.date.max
        if self.year < 1:
            return dt.date.min
        return dt.date(self.year, self.month, self.day)

    def add_months(self, months: int) -> XsdDate:
        """Shifted by whole calendar months, the day clamped to the month's end; never raises."""
        # XSD 1.0 has no year 0 (-0001 is followed by 0001): count on a continuous scale.
        astro = self.year if self.year > 0 else self.year + 1
        year, month0 = divmod(astro * 12 + (self.month - 1) + months, 12)
        if year <= 0:
            year -= 1
        return XsdDate(year, month0 + 1, min(self.day, days_in_month(year, month0 + 1)))

    def isoformat(self) -> str:
        """The canonical XSD form (``2026-05-01``, ``12026-05-01``, ``-0044-03-15``; timezone omitted)."""
        sign = "-" if self.year < 0 else ""
        return f"{sign}{abs(self.year):04d}-{self.month:02d}-{self.day:02d}"

    def __str__(self) -> str:
        return self.isoformat()


def parse_xsd_date(value: str) -> XsdDate | None:
    """Parse the XSD 1.0 lexical form of ``xs:date`` (already whitespace-collapsed).

    Returns None when ``value`` is not in the lexical space or names a day that does not exist;
    never raises. A timezone is kept in :attr:`XsdDate.tz_minutes` (``LDT_Datum`` forbids it by pattern).
    """
    if len(value) > 40:
        return None
    m = _XSD_DATE.fullmatch(value)
    if m is None or len(m.group("year")) > _MAX_YEAR_DIGITS:
        return None
    year = int(m.group("year"))
    if year == 0 or year > _MAX_YEAR:
        return None
    if m.group("sign"):
        year = -year
    month, day = int(m.group("month")), int(m.group("day"))
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        return None
    tz: int | None = None
    if m.group("tz") == "Z":
        tz = 0
    elif m.group("tz"):
        hours, minutes = int(m.group("tzh")), int(m.group("tzm"))
        if minutes > 59 or hours * 60 + minutes > 14 * 60:
            return None
        tz = (hours * 60 + minutes) * (-1 if m.group("tz")[0] == "-" else 1)
    return XsdDate(year, month, day, tz)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` shifted by whole calendar months; the day is clamped to the month's end
    (31 Mar - 1 = 28/29 Feb). Never raises: a result before 0001-01-01 or after 9999-12-31 is clamped
    to that bound, which decides every comparison with a :class:`datetime.date` the same way as the
    unclamped date would. Use :meth:`XsdDate.add_months` for dates outside Python's range."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    if year < 1:
        return dt.date.min
    if year > 9999:
        return dt.date.max
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))
