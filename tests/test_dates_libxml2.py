"""``ieb.dates.parse_xsd_date`` decides ``LDT_Datum`` exactly as libxml2's XSD check does.

Every part of ieb that asks "is this a date the schema accepts?" without a schema at hand (the
simulated CAK deciding whether a heenbericht's Dagtekening may be copied into its retour, the rule
engine reading dates) goes through :func:`ieb.dates.parse_xsd_date`. When it says yes and libxml2
says no, a retour is written that its own schema refuses (found by the retour-check property test:
a year of 20 digits). Compared here on the published basisschema's element, at the edges libxml2
has: a signed 64-bit year, year 0000, leading zeros, leap days of huge and negative years, timezones.
"""

from __future__ import annotations

import datetime as dt
import functools

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.codec import to_xml
from ieb.dates import parse_xsd_date
from ieb.messages import Wmo401
from ieb.releases import get_pack

_SAMPLE = get_pack("ieb-1.0").message("WMO401")
_LIMIT = 2**63 - 1


@functools.cache
def _document() -> bytes:
    """A valid WMO401 whose Dagtekening is 2026-05-20 (the only such date in it)."""
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie="A1",
            dagtekening=dt.date(2026, 5, 20),
            bsn="999990019",
            eb_start_nummer=1,
            eb_startdatum=dt.date(2026, 6, 1),
        )
    )


def _libxml2_accepts(value: str) -> bool:
    """The WMO401 XSD (LDT_Datum) on a Dagtekening of ``value``."""
    xml = _document().replace(b"2026-05-20", value.encode())
    return bool(_SAMPLE.schema.validate(etree.fromstring(xml)))


def _ours(value: str) -> bool:
    day = parse_xsd_date(value)
    return day is not None and day.tz_minutes is None


EDGES = [
    f"{_LIMIT}-05-31",
    f"{_LIMIT + 1}-05-31",
    f"-{_LIMIT}-05-31",
    f"-{_LIMIT + 1}-05-31",
    "99999999999999999999-05-31",
    "0{_LIMIT}-05-31".replace("{_LIMIT}", str(_LIMIT)),
    "0000-01-01",
    "-0000-01-01",
    "0001-01-01",
    "-0001-02-29",
    "-0004-02-29",
    "9223372036854775804-02-29",
    "9223372036854775800-02-29",
    "10000-02-29",
    "12000-02-29",
    "00001-01-01",
    "2026-05-20Z",
    "2026-05-20+14:00",
    "2026-13-01",
    "2026-04-31",
]


def test_the_edges_libxml2_has() -> None:
    disagree = [v for v in EDGES if _ours(v) != _libxml2_accepts(v)]
    assert disagree == []


_YEARS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.sampled_from([_LIMIT, _LIMIT + 1, -_LIMIT, -_LIMIT - 1, 0, 1, -1, 4, -4, 100, 400, 9999, 10000]),
)


@settings(max_examples=300, deadline=None)
@given(
    year=_YEARS,
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    width=st.integers(0, 21),
)
def test_any_year_month_and_day_is_decided_as_libxml2_decides(
    year: int, month: int, day: int, width: int
) -> None:
    sign = "-" if year < 0 else ""
    value = f"{sign}{abs(year):0{max(width, 1)}d}-{month:02d}-{day:02d}"
    assert _ours(value) == _libxml2_accepts(value), value
