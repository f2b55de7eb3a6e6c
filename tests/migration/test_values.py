"""Cell readers: Dutch amounts, the CAK's dates and 4-week periods."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ieb.migration.values import (
    CakPeriode,
    PeriodeWeek,
    ValueProblem,
    parse_bedrag,
    parse_bsn,
    parse_datum,
    parse_periode_week,
    parse_zorgperiode,
    periode_of,
)


@pytest.mark.parametrize(
    ("text", "cent"),
    [
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("570", 57000),
        ("17,5", 1750),
        ("€ 12,50", 1250),
        ("570.00", 57000),
        ("1.000.000,00", 100000000),
        ("0", 0),
    ],
)
def test_dutch_amounts(text: str, cent: int) -> None:
    assert parse_bedrag(text) == cent


@pytest.mark.parametrize("text", ["12,345", "1,234.56", "abc", "-5,00", "1.2345", "12,5,0", ""])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_bedrag(text)


@pytest.mark.parametrize(
    "text", ["20190315", "2019-03-15", "15-03-2019", "15/03/2019", "2019-03-15 00:00:00"]
)
def test_dates_as_written(text: str) -> None:
    assert parse_datum(text) == dt.date(2019, 3, 15)


@pytest.mark.parametrize("text", ["20190230", "2019-02-30", "15.03.2019", "maart"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_datum(text)


def test_thirteen_periods_cover_2019() -> None:
    periods = [CakPeriode(2019, p) for p in range(1, 14)]
    assert periods[0].eerste_dag == dt.date(2019, 1, 1)
    assert periods[12].laatste_dag == dt.date(2019, 12, 31)
    for a, b in itertools.pairwise(periods):
        assert b.eerste_dag == a.laatste_dag + dt.timedelta(days=1)
    assert CakPeriode(2019, 13).plus(1) == CakPeriode(2020, 1)
    assert periode_of(dt.date(2019, 12, 31)) == CakPeriode(2019, 13)
    assert periode_of(dt.date(2019, 1, 29)) == CakPeriode(2019, 2)


@pytest.mark.parametrize("text", ["201913", "2019-13", "2019/13"])
def test_zorgperiode(text: str) -> None:
    assert parse_zorgperiode(text) == CakPeriode(2019, 13)


@pytest.mark.parametrize("text", ["201914", "201900", "2019", "13-2019x"])
def test_bad_zorgperiode(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_zorgperiode(text)


def test_bsn_11_proef_and_leading_zero() -> None:
    assert parse_bsn("999900006") == "999900006"
    with pytest.raises(ValueProblem, match="11-proef"):
        parse_bsn("999900007")
    with pytest.raises(ValueProblem, match="11-proef"):
        parse_bsn("99990000")  # 8 digits get their leading zero back (Excel drops it); 099990000 fails
    with pytest.raises(ValueProblem, match="9 cijfers"):
        parse_bsn("12345")


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("201952", dt.date(2019, 12, 23), dt.date(2019, 12, 29)),  # the seed: "Laatste periode (week)"
        ("2019-52", dt.date(2019, 12, 23), dt.date(2019, 12, 29)),
        ("2019/52", dt.date(2019, 12, 23), dt.date(2019, 12, 29)),
        ("2019-W52", dt.date(2019, 12, 23), dt.date(2019, 12, 29)),
        ("2019w01", dt.date(2018, 12, 31), dt.date(2019, 1, 6)),  # ISO week 1 starts in 2018
        ("202053", dt.date(2020, 12, 28), dt.date(2021, 1, 3)),  # 2020 has 53 weeks
        ("201913", dt.date(2019, 3, 25), dt.date(2019, 3, 31)),  # a plain number is a week
        (" 201914 ", dt.date(2019, 4, 1), dt.date(2019, 4, 7)),  # above 13: can only be a week
    ],
)
def test_periode_week_is_a_week(text: str, first: dt.date, last: dt.date) -> None:
    value = parse_periode_week(text)
    assert value.soort == "week"
    assert (value.eerste_dag, value.laatste_dag) == (first, last)


@pytest.mark.parametrize("text", ["2019P13", "2019-P13", "2019/p13", "2019p1"])
def test_periode_week_as_a_four_week_period_only_where_written_as_one(text: str) -> None:
    value = parse_periode_week(text)
    number = int(text.lower().rsplit("p", 1)[1])
    assert value == PeriodeWeek(2019, number, "periode")
    assert value.laatste_dag == CakPeriode(2019, number).laatste_dag
    assert str(value) == str(CakPeriode(2019, number))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("201953", "week 53 bestaat niet in 2019"),
        ("201900", "week 0 bestaat niet"),
        ("2019P14", "periode 14 bestaat niet"),
        ("2019P0", "periode 0 bestaat niet"),
        ("19-52", "geen week"),
        ("2019X52", "geen week"),
        ("2019520", "geen week"),
        ("", "geen week"),
    ],
)
def test_bad_periode_week_names_the_problem(text: str, reason: str) -> None:
    with pytest.raises(ValueProblem, match=reason):
        parse_periode_week(text)
