"""Value readers for the migration files (one place for how the CAK and the gemeente write values).

Every reader takes the raw text of one cell and returns the typed value or raises
:class:`ValueProblem` with a Dutch reason (the caller adds file, line and column). Values are never
echoed in a reason when they may hold a BSN.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from ieb.tabular import ValueProblem, parse_datum
from ieb.types import bsn_is_valid

__all__ = [
    "CakPeriode",
    "PeriodeWeek",
    "ValueProblem",
    "parse_bedrag",
    "parse_bsn",
    "parse_cent",
    "parse_datum",
    "parse_int",
    "parse_jn",
    "parse_periode_week",
    "parse_zorgperiode",
    "periode_of",
]

#: 4-week periods a year (CAK, up to and including 2019)
PERIODEN_PER_JAAR = 13


@dataclass(frozen=True, order=True, slots=True)
class CakPeriode:
    """A 4-week period of the CAK: ``jaar`` and ``periode`` 1..13.

    [I] Period ``p`` of a year runs from 1 January + 28 x (p - 1) days for 28 days; period 13 takes
    the remaining day(s) up to 31 December (a year has 13 x 28 + 1 or 2 days). The CAK's own period
    calendar is not published with the migration files; this is the one function that fixes it.
    """

    jaar: int
    periode: int

    def __post_init__(self) -> None:
        if not 1 <= self.periode <= PERIODEN_PER_JAAR:
            raise ValueProblem(f"periode {self.periode} bestaat niet (1 t/m {PERIODEN_PER_JAAR})")
        if not 1900 <= self.jaar <= 9000:
            raise ValueProblem(f"jaar {self.jaar} is niet aannemelijk")

    @property
    def eerste_dag(self) -> dt.date:
        """The first day of this period: 1 January + 28 x (periode - 1) days."""
        return dt.date(self.jaar, 1, 1) + dt.timedelta(days=28 * (self.periode - 1))

    @property
    def laatste_dag(self) -> dt.date:
        """The last day of this period (inclusive): 27 days after :attr:`eerste_dag`, or 31 December for period 13."""
        if self.periode == PERIODEN_PER_JAAR:
            return dt.date(self.jaar, 12, 31)
        return self.eerste_dag + dt.timedelta(days=27)

    def plus(self, perioden: int) -> CakPeriode:
        """The period ``perioden`` periods later (negative: earlier), crossing year boundaries; raises :class:`ValueProblem` outside the plausible years."""
        index = self.jaar * PERIODEN_PER_JAAR + (self.periode - 1) + perioden
        return CakPeriode(index // PERIODEN_PER_JAAR, index % PERIODEN_PER_JAAR + 1)

    def index(self) -> int:
        """A running number over the years (``jaar * 13 + periode - 1``): differences are numbers of periods."""
        return self.jaar * PERIODEN_PER_JAAR + self.periode - 1

    def __str__(self) -> str:
        return f"{self.jaar}-{self.periode:02d}"


def periode_of(day: dt.date) -> CakPeriode:
    """The 4-week period that contains ``day`` (see :class:`CakPeriode`)."""
    number = min(PERIODEN_PER_JAAR, (day.timetuple().tm_yday - 1) // 28 + 1)
    return CakPeriode(day.year, number)


_BEDRAG_NL = re.compile(r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$")
_BEDRAG_PUNT = re.compile(r"^-?\d+\.(\d{2})$")


def parse_bedrag(text: str) -> int:
    """An amount in euro with a Dutch decimal comma (``1.234,56``, ``570``, ``17,5``, ``€ 12,50``),
    returned in eurocent. A dot followed by exactly two digits (``570.00``, as some exports write it)
    is read as a decimal point; any other mixture is refused. Negative amounts are refused."""
    value = text.strip().replace("€", "").replace("\u00a0", "").replace(" ", "")
    match = _BEDRAG_NL.match(value)
    if match:
        euros, _, cents = value.partition(",")
        euros = euros.replace(".", "")
    elif _BEDRAG_PUNT.match(value):
        euros, _, cents = value.partition(".")
    else:
        raise ValueProblem(f"'{value[:20]}' is geen bedrag (verwacht euro met decimale komma, bv. 1.234,56)")
    if euros.startswith("-"):
        raise ValueProblem("een negatief bedrag kan hier niet")
    if len(euros) > 9:
        raise ValueProblem("bedrag is onaannemelijk groot")
    return int(euros) * 100 + int((cents or "0").ljust(2, "0"))


def parse_cent(text: str) -> int:
    """A whole, non-negative amount in eurocent (``57000``)."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise ValueProblem("geen geheel bedrag in eurocent (alleen cijfers, bv. 57000 voor EUR 570)")
    if len(value) > 11:
        raise ValueProblem("bedrag is onaannemelijk groot")
    return int(value)


def parse_int(text: str, low: int, high: int) -> int:
    """Parse a whole number of at most 6 ASCII digits within ``low``..``high`` (inclusive); raises :class:`ValueProblem` (Dutch) otherwise."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise ValueProblem(f"'{value[:10]}' is geen geheel getal")
    number = int(value)
    if not low <= number <= high:
        raise ValueProblem(f"{number} ligt niet tussen {low} en {high}")
    return number


_ZORGPERIODE = re.compile(r"^(\d{4})[-/ ]?(\d{1,2})$")


def parse_zorgperiode(text: str) -> CakPeriode:
    """A 4-week period as the CAK writes it: ``201913``, ``2019-13`` or ``2019/13``."""
    value = text.strip()
    match = _ZORGPERIODE.match(value)
    if not match:
        raise ValueProblem(f"'{value[:10]}' is geen zorgperiode (verwacht JJJJPP, bv. 201913)")
    return CakPeriode(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, order=True, slots=True)
class PeriodeWeek:
    """PERIODE_WEEK of the ZA file: the last week with care ("Laatste periode (week)" in the CAK's
    file description), or a 4-week period where the value can only be one.

    ``soort`` is ``"week"`` (an ISO week 1..52/53 of ``jaar``, Monday to Sunday) or ``"periode"``
    (a 4-week :class:`CakPeriode`, 1..13). Build it with :func:`parse_periode_week`.
    """

    jaar: int
    nummer: int
    soort: str = "week"

    def __post_init__(self) -> None:
        if self.soort == "periode":
            CakPeriode(self.jaar, self.nummer)  # raises ValueProblem outside 1..13
        elif self.soort == "week":
            if not 1900 <= self.jaar <= 9000:
                raise ValueProblem(f"jaar {self.jaar} is niet aannemelijk")
            try:
                dt.date.fromisocalendar(self.jaar, self.nummer, 1)
            except ValueError:
                raise ValueProblem(f"week {self.nummer} bestaat niet in {self.jaar}") from None
        else:
            raise ValueProblem(f"soort {self.soort!r} is geen week of periode")

    @property
    def eerste_dag(self) -> dt.date:
        """The first day: the Monday of the ISO week, or the first day of the 4-week period."""
        if self.soort == "periode":
            return CakPeriode(self.jaar, self.nummer).eerste_dag
        return dt.date.fromisocalendar(self.jaar, self.nummer, 1)

    @property
    def laatste_dag(self) -> dt.date:
        """The last day (inclusive): the Sunday of the ISO week, or the last day of the 4-week period."""
        if self.soort == "periode":
            return CakPeriode(self.jaar, self.nummer).laatste_dag
        return dt.date.fromisocalendar(self.jaar, self.nummer, 7)

    def __str__(self) -> str:
        if self.soort == "periode":
            return str(CakPeriode(self.jaar, self.nummer))
        return f"{self.jaar}-W{self.nummer:02d}"


_PERIODE_WEEK = re.compile(r"^(\d{4})[-/ ]?([WwPp]?)(\d{1,2})$")


def parse_periode_week(text: str) -> PeriodeWeek:
    """PERIODE_WEEK as the CAK's file description has it, "Laatste periode (week)": a year and a week
    number, ``201952``, ``2019-52``, ``2019/52`` or ``2019-W52`` (ISO week, 1..52 or 53 where the
    year has one). A 4-week period is read where the value can only be one: written with ``P``
    (``2019P13``, ``2019-P13``). A plain number is always a week: ``201913`` is week 13 (25-31 March
    2019), not period 13. Raises :class:`ValueProblem` (Dutch) otherwise."""
    value = text.strip()
    match = _PERIODE_WEEK.match(value)
    if not match:
        raise ValueProblem(
            f"'{value[:10]}' is geen week (verwacht JJJJWW, bv. 201952; een vierwekenperiode als JJJJPpp, bv. 2019P13)"
        )
    jaar, teken, nummer = int(match.group(1)), match.group(2).upper(), int(match.group(3))
    return PeriodeWeek(jaar, nummer, "periode" if teken == "P" else "week")


def parse_jn(text: str) -> bool:
    """``J``/``N`` (also ``ja``/``nee``, ``1``/``0``)."""
    value = text.strip().upper()
    if value in {"J", "JA", "1", "Y"}:
        return True
    if value in {"N", "NEE", "0"}:
        return False
    raise ValueProblem("verwacht J of N")


@lru_cache(maxsize=65_536)
def _bsn_ok(value: str) -> bool:
    return bsn_is_valid(value)


def parse_bsn(text: str) -> str:
    """Nine digits passing the 11-proef (an 8-digit BSN gets its leading zero back, as Excel drops it)."""
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) == 8:
        value = "0" + value
    if not (value.isascii() and value.isdigit() and len(value) == 9):
        raise ValueProblem("het BSN moet uit 9 cijfers bestaan")
    if not _bsn_ok(value):
        raise ValueProblem("het BSN voldoet niet aan de 11-proef (CS002)")
    return value
