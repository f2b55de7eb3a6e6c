"""Readers of the HenV, ZA and administratie files: dialects, typed records, bad rows reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ieb.migration import CakPeriode, read_administratie, read_henv, read_za
from ieb.policy import VoorzieningKind
from tests.migration.build import adm, henv, za

KOSTPRIJS = {
    "HENV_GROEP_CODE": "HM",
    "TOTALE_KOSTEN": "1.234,56",
    "AANTAL_PERIODEN": "71",
    "KOSTEN_PER_PERIODE": "17,50",
    "RESTBEDRAG": "1.024,56",
}


def test_henv_typed_record_from_windows_1252_with_comma_separator() -> None:
    data = henv({"ACHTERNAAM": "Noël", "VOORVOEGSEL": "van der", **KOSTPRIJS}, sep=",", encoding="cp1252")
    result = read_henv(data, name="henv.csv")
    assert result.fouten == ()
    assert any("Windows-1252" in w for w in result.waarschuwingen)
    (r,) = result.records
    assert r.persoon.achternaam == "Noël"
    assert r.persoon.geboortedatum == dt.date(1950, 1, 1)
    assert r.soort is VoorzieningKind.HULPMIDDEL
    assert (r.totale_kosten_cent, r.kosten_per_periode_cent, r.restbedrag_cent) == (123456, 1750, 102456)
    assert r.vanaf == CakPeriode(2019, 3) and r.zorgperiode == CakPeriode(2019, 13)
    assert r.tot == CakPeriode(2019, 3).plus(70)
    assert r.laatste_zorgperiode is True and r.pgb is False
    assert "999900006" not in repr(r)  # records never show a full BSN


def test_bad_rows_are_reported_with_line_and_column_and_the_rest_is_read() -> None:
    data = henv(
        {"BSN": "999900018"},
        {"BSN": "999900007"},  # fails the 11-proef
        {"BSN": "999900031", "HENV_GROEP_CODE": "XX"},  # unknown code
        {"BSN": "999900043", "PERIODE_VANAF": "14"},
        {"BSN": "999900055", "TOTALE_KOSTEN": "12,345", "RESTBEDRAG": "1,00"},
        {"BSN": "999900018"},  # the first row again
        {"BSN": "999900067"},
    )
    # a row with a separator too many, added by hand (line 9)
    data += b"999900079;Visser;J.;;19500101;201913;D9;Wmo2015;N;HH;x;;2019;3;;;;J;extra\r\n"
    data += henv({"BSN": "999900080"}).split(b"\r\n", 1)[1]  # line 10
    result = read_henv(data, name="henv.csv")
    assert sorted(r.bsn for r in result.records) == ["999900018", "999900067", "999900080"]
    reasons = {f.regel: f.reden for f in result.fouten}
    assert set(reasons) == {3, 4, 5, 6, 7, 9}
    assert all(f.bestand == "henv.csv" for f in result.fouten)
    assert "kolom BSN" in reasons[3] and "11-proef" in reasons[3]
    assert "kolom HENV_GROEP_CODE" in reasons[4] and "'XX'" in reasons[4]
    assert "kolom PERIODE_VANAF" in reasons[5]
    assert "kolom TOTALE_KOSTEN" in reasons[6]
    assert "dubbele regel" in reasons[7] and "regel 2" in reasons[7]
    assert "19 waarden" in reasons[9]
    assert result.regels == 9
    assert not any("999900007" in f.reden for f in result.fouten)


def test_own_group_table() -> None:
    data = henv({"HENV_GROEP_CODE": "X1"})
    result = read_henv(data, name="h", groepen={"x1": VoorzieningKind.BEGELEIDING})
    assert result.records[0].soort is VoorzieningKind.BEGELEIDING


def test_restbedrag_without_or_above_totale_kosten_is_a_bad_row() -> None:
    data = henv({"RESTBEDRAG": "10,00"}, {**KOSTPRIJS, "BSN": "999900018", "RESTBEDRAG": "2.000,00"})
    result = read_henv(data, name="h")
    assert result.records == ()
    assert ["TOTALE_KOSTEN" in f.reden for f in result.fouten] == [True, True]


def test_za_records() -> None:
    result = read_za(za({}, {"PRODUCTCODE": "02A02", "IND_LAATSTE_ZORGPERIODE": "N"}), name="za.csv")
    assert [(z.productcode, z.laatste_zorgperiode) for z in result.records] == [
        ("02A01", True),
        ("02A02", False),
    ]
    assert result.records[0].geleverde_zorg_minuten == 120


def test_za_periode_week_is_the_last_week_with_care() -> None:
    rows = [
        {"PERIODE_WEEK": "201952"},  # "Laatste periode (week)": week 52
        {"PERIODE_WEEK": "2019-W51", "PRODUCTCODE": "02A02"},
        {"PERIODE_WEEK": "2019P13", "PRODUCTCODE": "02A03"},  # a 4-week period, written as one
        {"PERIODE_WEEK": "201953", "PRODUCTCODE": "02A04"},  # 2019 has no week 53
    ]
    result = read_za(za(*rows), name="za.csv")
    assert [str(z.periode_week) for z in result.records] == ["2019-W52", "2019-W51", "2019-13"]
    assert [(f.regel, f.reden) for f in result.fouten] == [
        (5, "kolom PERIODE_WEEK: week 53 bestaat niet in 2019")
    ]


def test_administratie_exact_header_and_windows_1252_warning() -> None:
    good = read_administratie(adm({"achternaam": "Müller"}, encoding="cp1252"), name="adm.csv")
    assert good.records[0].persoon.achternaam == "Müller"
    assert good.waarschuwingen and "Windows-1252" in good.waarschuwingen[0]
    extra = b"bsn;achternaam;voorletters;voorvoegsel;geboortedatum;soort;start;stop;kostprijs_cent;dossiernummer;x\r\n"
    bad = read_administratie(extra + b"1;2;3;4;5;6;7;8;9;10;11\r\n", name="adm.csv")
    assert bad.onleesbaar and bad.records == ()
    assert bad.fouten[0].regel == 1 and "onbekende kolom" in bad.fouten[0].reden


def test_administratie_values() -> None:
    result = read_administratie(
        adm(
            {"soort": "hulpmiddel", "kostprijs_cent": "57000", "stop": "2020-06-30"},
            {"bsn": "999900018", "soort": "fiets"},
            {"bsn": "999900031", "kostprijs_cent": "57000"},  # no kostprijs for huishoudelijke hulp
            {"bsn": "999900043", "start": "2019-05-01", "stop": "2019-04-01"},
            {"bsn": "999900055", "kostprijs_cent": "570,00", "soort": "woningaanpassing"},
        ),
        name="adm.csv",
    )
    (r,) = result.records
    assert (r.soort, r.kostprijs_cent, r.stop) == (VoorzieningKind.HULPMIDDEL, 57000, dt.date(2020, 6, 30))
    reasons = {f.regel: f.reden for f in result.fouten}
    assert "kolom soort" in reasons[3] and "huishoudelijke_hulp" in reasons[3]
    assert "kolom kostprijs_cent" in reasons[4]
    assert "kolom stop" in reasons[5]
    assert "eurocent" in reasons[6]


def test_missing_file(tmp_path: Path) -> None:
    result = read_henv(tmp_path / "weg.csv")
    assert result.onleesbaar
    assert [(f.regel, f.reden) for f in result.fouten] == [(0, "bestand niet gevonden; controleer het pad")]
