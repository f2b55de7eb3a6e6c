"""Settings, file layouts, the proposal policy and the desired-state overlay, each on its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ieb.config import load_config
from ieb.errors import ConfigurationError
from ieb.tabular import Row, TableError
from ieb.testing.demo import demo_bsns
from ieb.wlz import apply_accepted_stops, parse_wlz_settings, propose
from ieb.wlz.files import parse_date, read_signal_report, read_verslag, upload_csv
from ieb.wlz.settings import BeleidSettings, SignaalLayout, UploadLayout

B = demo_bsns(8)
D = dt.date


# ------------------------------------------------------------------ settings


def test_wlz_settings_come_from_ieb_toml_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "ieb.toml").write_text(
        'gemeenten = ["0363"]\n[wlz.signalen.kolommen]\nbsn = "BSN"\ningangsdatum = "Ingang Wlz"\n'
        '[wlz.beleid]\nstopdatum = "ingangsdatum"\ndoorlopen = ["13"]\n'
    )
    settings = parse_wlz_settings(load_config(tmp_path / "ieb.toml").wlz)
    assert settings.signalen.kolommen == {"bsn": "BSN", "ingangsdatum": "Ingang Wlz"}
    assert settings.beleid.stopdatum == "ingangsdatum" and settings.beleid.doorlopen == ["13"]
    assert settings.upload.scheidingsteken == ";"  # the ASSUMED default
    assert parse_wlz_settings(None).beleid.doorlopen == ["08", "11", "12", "13", "14"]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"beleid": {"doorlopen": ["8"]}}, "wlz.beleid.doorlopen"),
        ({"beleid": {"stopdatum": "morgen"}}, "wlz.beleid.stopdatum"),
        ({"signalen": {"kolommen": {"naam": "naam"}}}, "kolomnaam voor 'bsn' ontbreekt"),
        ({"signalen": {"datumformaten": ["dd-mm-jjjj"]}}, "bevat geen %-code"),
        ({"upload": {"kolommen": {"bsn": "x", "begindatum": "x"}}}, "dezelfde kolomnaam"),
        ({"onbekend": 1}, "wlz.onbekend"),
    ],
)
def test_a_wrong_wlz_setting_is_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError, match="wlz") as info:
        parse_wlz_settings(raw)
    assert named in str(info.value)


# ------------------------------------------------------------------ files


def test_the_signal_report_is_read_by_configured_column_names_and_date_formats() -> None:
    layout = SignaalLayout(
        kolommen={"bsn": "Burgerservicenummer", "ingangsdatum": "Ingang", "naam": "Naam cliënt"},
        datumformaten=["%d/%m/%Y"],
    )
    data = f"Naam cliënt;Burgerservicenummer;Ingang;Extra\nJansen;{B[0]};01/05/2026;x\n".encode()
    rows, problems = read_signal_report(
        data, layout, name="s.csv", gemeenten=["0363"], default_gemeente="0363"
    )
    assert problems == []
    assert [(r.bsn, r.gemeente, r.ingangsdatum, r.naam) for r in rows] == [
        (B[0], "0363", D(2026, 5, 1), "Jansen")
    ]
    assert "Jansen" not in repr(rows[0]) and B[0] not in repr(rows[0])


def test_a_missing_required_column_is_named_in_dutch() -> None:
    data = f"bsn;naam;afgiftedatum\n{B[0]};Jansen;01-04-2026\n".encode()
    with pytest.raises(TableError) as info:
        read_signal_report(data, SignaalLayout(), name="s.csv", gemeenten=["0363"], default_gemeente="0363")
    text = str(info.value)
    assert "verplichte kolom 'ingangsdatum' (veld ingangsdatum) ontbreekt" in text
    assert "[wlz.signalen.kolommen]" in text and B[0] not in text and "Jansen" not in text
    # without one configured gemeente the gemeente column is required too
    with pytest.raises(TableError, match="gemeentecode"):
        read_signal_report(
            f"bsn;ingangsdatum\n{B[0]};01-05-2026\n".encode(),
            SignaalLayout(),
            name="s.csv",
            gemeenten=["0363", "0599"],
            default_gemeente=None,
        )


def test_broken_rows_are_listed_with_line_and_column_and_the_rest_is_read() -> None:
    data = (
        "bsn;naam;ingangsdatum;gemeentecode\n"
        f"{B[0]};Jansen;01-05-2026;0363\n"
        "123456789;Pietersen;01-05-2026;0363\n"
        f"{B[1]};de Vries;;0363\n"
        f"{B[2]};Bakker;31-02-2026;0363\n"
        f"{B[3]};Visser;01-05-2026;0599\n"
        f"{B[4]};Smit;2026-05-01;363\n"
    ).encode()
    rows, problems = read_signal_report(
        data, SignaalLayout(), name="s.csv", gemeenten=["0363"], default_gemeente=None
    )
    assert [r.bsn for r in rows] == [B[0], B[4]] and rows[1].gemeente == "0363"  # Excel's 363
    assert [(p.line, p.column) for p in problems] == [
        (3, "bsn"),
        (4, "ingangsdatum"),
        (5, "ingangsdatum"),
        (6, "gemeentecode"),
    ]
    text = " ".join(p.describe("s.csv") for p in problems)
    assert "123456789" not in text and "Pietersen" not in text and "31-02-2026" not in text


def test_hostile_signal_reports_are_refused_or_bounded() -> None:
    layout, kw = SignaalLayout(), {"name": "s.csv", "gemeenten": ["0363"], "default_gemeente": "0363"}
    with pytest.raises(TableError, match="Excel-werkmap"):
        read_signal_report(b"PK\x03\x04" + b"\x00" * 100, layout, **kw)  # type: ignore[arg-type]
    with pytest.raises(TableError, match="NUL"):
        read_signal_report(b"bsn;ingangsdatum\n\x00\x00", layout, **kw)  # type: ignore[arg-type]
    long_name = "x" * 5000
    rows, _ = read_signal_report(
        f"bsn;naam;ingangsdatum\n{B[0]};{long_name};01-05-2026\n".encode(), layout, **kw
    )  # type: ignore[arg-type]
    assert rows[0].naam is not None and len(rows[0].naam) == 200
    from ieb.wlz.files import MAX_REPORT_BYTES

    with pytest.raises(TableError, match="groter dan"):
        read_signal_report(b"bsn;ingangsdatum\n" + b"1" * (MAX_REPORT_BYTES + 1), layout, **kw)  # type: ignore[arg-type]


def test_parse_date_tries_each_format_and_never_quotes_the_value() -> None:
    assert parse_date("20260501", ["%d-%m-%Y", "%Y%m%d"]) == D(2026, 5, 1)
    assert parse_date("01-05-2026 00:00:00", ["%d-%m-%Y"]) == D(2026, 5, 1)
    with pytest.raises(ValueError, match="geen datum") as info:
        parse_date("999900006", ["%d-%m-%Y"])
    assert "999900006" not in str(info.value)
    with pytest.raises(ValueError, match="te lang"):
        parse_date("1" * 100, ["%d-%m-%Y"])


def test_the_processing_report_lists_refused_upload_rows() -> None:
    rows = read_verslag(
        f"regel;bsn;melding\n3;{B[0]};BSN onbekend\n".encode(),
        parse_wlz_settings(None).verwerkingsverslag,
        name="v.csv",
    )
    assert [(r.regel, r.bsn, r.melding) for r in rows] == [(3, B[0], "BSN onbekend")]
    assert (
        read_verslag(b"regel;bsn;melding\n", parse_wlz_settings(None).verwerkingsverslag, name="v.csv") == []
    )


def test_the_upload_csv_follows_the_layout() -> None:
    layout = UploadLayout(
        scheidingsteken=",",
        datumformaat="%Y%m%d",
        kolommen={"bsn": "BSN", "begindatum": "Start", "einddatum": "Eind"},
    )
    data = upload_csv(
        [{"bsn": B[0], "begindatum": D(2026, 1, 1), "einddatum": None, "gemeente": "0363"}], layout
    )
    assert data.decode() == f"BSN,Start,Eind\r\n{B[0]},20260101,\r\n"


# ------------------------------------------------------------------ policy


def _propose(**kw: object) -> object:
    args: dict[str, object] = {
        "ingangsdatum": D(2026, 5, 1),
        "afgiftedatum": D(2026, 4, 20),
        "ontvangen": D(2026, 6, 15),
        "periods": [(D(2026, 1, 1), None)],
        "voorzieningen": [],
        "beleid": BeleidSettings(),
    }
    return propose(**(args | kw))  # type: ignore[arg-type]


def test_the_proposal_follows_the_policy() -> None:
    p = _propose()
    assert (p.voorstel, p.datum) == ("stop", D(2026, 4, 30))  # the day before the Wlz starts
    assert "productcategorie onbekend" in p.reden and "contact" in p.reden
    assert _propose(beleid=BeleidSettings(stopdatum="ingangsdatum")).datum == D(2026, 5, 1)
    assert _propose(beleid=BeleidSettings(stopdatum="afgiftedatum")).datum == D(2026, 4, 20)
    assert _propose(beleid=BeleidSettings(stopdatum="afgiftedatum"), afgiftedatum=None).datum == D(2026, 5, 1)


def test_long_running_samenloop_is_not_undone_retroactively() -> None:
    p = _propose(ingangsdatum=D(2025, 10, 1))
    assert (p.voorstel, p.datum) == ("stop", D(2026, 6, 15))
    assert "niet met terugwerkende kracht" in p.reden
    # within the limit the day before the Wlz counts, but never before the period's start
    wide = _propose(ingangsdatum=D(2025, 10, 1), beleid=BeleidSettings(terugwerkend_max_dagen=365))
    assert (wide.datum, "begint pas op 2026-01-01" in wide.reden) == (D(2026, 1, 1), True)


def test_no_running_eigen_bijdrage_means_nothing_to_do() -> None:
    assert _propose(periods=[]).voorstel == "geen"
    assert _propose(periods=[(D(2025, 7, 1), D(2026, 2, 28))]).voorstel == "geen"
    assert _propose(periods=[(D(2025, 7, 1), D(2026, 4, 30))]).voorstel == "geen"  # already stops on D
    # a period that starts after D is stopped on its first day (TR328)
    p = _propose(periods=[(D(2026, 5, 10), None)])
    assert (p.voorstel, p.datum) == ("stop", D(2026, 5, 10))


def test_categories_that_may_continue_keep_the_eigen_bijdrage() -> None:
    p = _propose(voorzieningen=[("13", D(2026, 1, 1), None)])
    assert (p.voorstel, p.datum) == ("doorlopen", None) and "13 (Woonvoorzieningen)" in p.reden
    mixed = _propose(voorzieningen=[("02", D(2026, 1, 1), None), ("14", D(2026, 1, 1), None)])
    assert mixed.voorstel == "doorlopen" and "02 (Begeleiding) eindigt wel" in mixed.reden
    # a continuing category that already ended does not count
    ended = _propose(voorzieningen=[("02", D(2026, 1, 1), None), ("14", D(2026, 1, 1), D(2026, 3, 1))])
    assert (ended.voorstel, ended.datum) == ("stop", D(2026, 4, 30)) and "02 (Begeleiding)" in ended.reden
    assert (
        _propose(voorzieningen=[("13", D(2026, 1, 1), None)], beleid=BeleidSettings(doorlopen=[])).voorstel
        == "stop"
    )


# ------------------------------------------------------------------ overlay


def test_accepted_stops_are_applied_to_the_desired_state() -> None:
    records = [
        Row({"bsn": B[0], "start": "2026-01-01", "stop": ""}, 2),  # running: gets the stop
        Row({"bsn": B[0], "start": "2026-07-01"}, 3),  # starts after the stop: left out
        Row({"bsn": B[1], "start": "2026-01-01", "stop": "2026-03-31"}, 4),  # ends before: kept
        Row({"bsn": B[2], "start": "2026-01-01"}, 5),  # no decision: kept
        Row({"bsn": B[3], "start": ""}, 6),  # delete everything: kept
    ]
    stops = {
        ("0363", B[0]): D(2026, 4, 30),
        ("0363", B[1]): D(2026, 4, 30),
        ("0363", B[3]): D(2026, 4, 30),
        ("0363", B[4]): D(2026, 4, 30),
        ("0363", B[5]): D(2026, 4, 30),
    }
    ledger = {
        ("0363", B[4]): [(D(2026, 1, 1), None, 12000, D(2026, 1, 1))],  # not in the file: added with its stop
        ("0363", B[5]): [(D(2025, 1, 1), D(2025, 12, 31), None, None)],  # ended long ago: nothing to add
    }
    out = apply_accepted_stops(records, stops, ledger, default_gemeente="0363")
    assert [(dict(r), getattr(r, "line", None)) for r in out] == [
        ({"bsn": B[0], "start": "2026-01-01", "stop": "2026-04-30"}, 2),
        ({"bsn": B[1], "start": "2026-01-01", "stop": "2026-03-31"}, 4),
        ({"bsn": B[2], "start": "2026-01-01"}, 5),
        ({"bsn": B[3], "start": ""}, 6),
        (
            {
                "gemeente": "0363",
                "bsn": B[4],
                "start": "2026-01-01",
                "stop": "2026-04-30",
                "kostprijs_cent": "12000",
                "kostprijs_start": "2026-01-01",
            },
            0,
        ),
    ]
