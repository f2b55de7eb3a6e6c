"""Attack (session 7, attack2) on ``new_di01_bytes``: for a moment before the year 1000 the C
library's ``%Y`` writes the year without leading zeros (year 1 gives ``10102030405``), so
``format_tijdstip`` wrote a tijdstipBericht that reads back as another moment (or none), and
``new_di01_bytes`` raised ``ValueError`` where ``build(new_di01(...))`` gave an envelope. The year
is now written with four digits; both paths agree and the text reads back as the moment."""

from __future__ import annotations

import datetime as dt

import pytest

from ieb.ggk import build, new_di01
from ieb.ggk.builders import new_di01_bytes
from ieb.ggk.models import format_tijdstip, parse_tijdstip

REF = "4f7ea1be-54f9-4864-83c5-29f996cfdeab"


@pytest.mark.parametrize("year", [1, 9, 99, 999, 1000, 2026, 9999])
def test_a_tijdstip_reads_back_as_its_moment(year: int) -> None:
    moment = dt.datetime(year, 1, 2, 3, 4, 5)
    text = format_tijdstip(moment)
    assert len(text) == 14 and parse_tijdstip(text) == moment


@pytest.mark.parametrize("year", [1, 99, 999])
def test_new_di01_bytes_agrees_with_the_model_path_before_the_year_1000(year: int) -> None:
    moment = dt.datetime(year, 1, 1)
    di01 = new_di01(b"<x/>", "WMO401", "0363", referentienummer=REF, tijdstip=moment)
    assert new_di01_bytes(b"<x/>", "WMO401", "0363", referentienummer=REF, tijdstip=moment) == (
        REF,
        build(di01),
    )
    assert f"<StUF:tijdstipBericht>{year:04d}0101000000<".encode() in build(di01)
