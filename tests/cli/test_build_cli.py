"""``ieb build`` with files as they come out of Excel and case-management exports (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
HEADER = (
    "bericht;afzender;identificatie;dagtekening;bsn;eb_start_nummer;eb_startdatum;eb_stopdatum;"
    "kostprijs_bedrag;kostprijs_startdatum;status"
)
GOOD = [
    "WMO401;0363;Café-1;2026-05-20;999900006;1;2026-05-01;;57000;2026-05-01;1",
    "WMO403;0363;B4;2026-05-20;999900006;1;;2026-05-31;;;1",
]


def _excel(path: Path, rows: list[str]) -> Path:
    """What Excel (Dutch locale) writes: Windows-1252, ';', CRLF."""
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path


def _build(src: Path, out: Path, *extra: str) -> object:
    return runner.invoke(app, ["build", str(src), "--out", str(out), "--today", "2026-06-01", *extra])


def test_excel_windows_1252_semicolon_csv_builds_with_a_warning(tmp_path: Path) -> None:
    src = _excel(
        tmp_path / "excel.csv", ["WMO401;0363;B1;2026-05-20;999900006;1;2026-05-01;;57000;2026-05-01;1"]
    )
    src.write_bytes(src.read_bytes().replace(b"B1", b"Zo\xeb"))  # a name with a diaeresis, in cp1252
    out = tmp_path / "out"
    result = _build(src, out)
    assert result.exit_code == 0, result.output
    assert "Windows-1252" in result.stderr
    (written,) = out.iterdir()
    assert "Zoë" in written.read_text(encoding="utf-8")


def test_excel_csv_with_three_bad_rows_builds_nothing_and_reports_all_three(tmp_path: Path) -> None:
    src = _excel(
        tmp_path / "excel.csv",
        [
            GOOD[0],
            "WMO401;0363;C2;2026-05-20;999900019;2;2026-05-01;;;;1",  # line 3: 11-proef
            "WMO401;0363;C3;20-05-2026;999900018;3;2026-05-01;;;;1",  # line 4: date
            GOOD[1],
            "WMO401;0363;C5;2026-05-20;999900031;5;2026-05-01;;570,00;2026-05-01;1",  # line 6: amount
        ],
    )
    out = tmp_path / "out"
    result = _build(src, out)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"  {src}:")]
    assert [line.split(":")[1] for line in lines] == ["3", "4", "6"]
    assert "kolom bsn" in lines[0] and "CS002" in lines[0]
    assert "kolom dagtekening" in lines[1] and "JJJJ-MM-DD" in lines[1]
    assert "kolom kostprijs_bedrag" in lines[2] and "eurocent" in lines[2]
    assert "niets geschreven" in result.stderr
    assert "999900019" not in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_rule_failures_of_several_rows_are_all_reported(tmp_path: Path) -> None:
    src = _excel(
        tmp_path / "in.csv",
        [
            "WMO401;0363;D1;2026-05-20;999900006;1;2024-01-01;;;;1",  # TR112
            "WMO401;0001;D2;2026-05-20;999900018;2;2026-05-01;;;;1",  # CS300: not a gemeente
        ],
    )
    result = _build(src, tmp_path / "o")
    assert result.exit_code == 1
    assert f"{src}:2: kolom eb_startdatum: TR112" in result.stderr
    assert f"{src}:3:" in result.stderr and "CS300" in result.stderr


def test_duplicate_identificatie_names_both_lines(tmp_path: Path) -> None:
    src = _excel(
        tmp_path / "in.csv", [GOOD[0], GOOD[0].replace(";1;2026-05-01;;57000", ";7;2026-05-01;;57000")]
    )
    result = _build(src, tmp_path / "o")
    assert result.exit_code == 1
    assert f"{src}:3: kolom identificatie:" in result.stderr and "regel 2" in result.stderr


def test_shifted_column_does_not_echo_the_bsn(tmp_path: Path) -> None:
    src = _excel(tmp_path / "in.csv", ["WMO401;0363;E1;2026-05-20;999900006;999900018;1;2026-05-01;;;;1"])
    result = _build(src, tmp_path / "o")
    assert result.exit_code == 1
    assert f"{src}:2:" in result.stderr and "12 waarden" in result.stderr
    assert "999900006" not in result.output and "999900018" not in result.output


def test_empty_csv_is_an_error(tmp_path: Path) -> None:
    for content in (b"", HEADER.encode() + b"\r\n"):
        src = tmp_path / "leeg.csv"
        src.write_bytes(content)
        result = _build(src, tmp_path / "o")
        assert result.exit_code == 1, content
        assert "0 bericht(en) geschreven" not in result.output
        assert "leeg" in result.stderr or "geen regels" in result.stderr


def test_missing_column_is_named_once(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("bericht,afzender,identificatie,dagtekening,eb_start_nummer\nWMO401,0363,X,2026-05-20,1\n")
    result = _build(src, tmp_path / "o")
    assert result.exit_code == 1
    assert f"{src}:1: kopregel mist kolom(men): bsn" in result.stderr


def test_json_array_is_accepted(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    record = {
        "bericht": "WMO401",
        "afzender": "0363",
        "identificatie": "J1",
        "dagtekening": "2026-05-20",
        "bsn": "999900031",
        "eb_start_nummer": 7,
        "eb_startdatum": "2026-05-01",
        "kostprijs_bedrag": 30000,
        "kostprijs_startdatum": "2026-05-01",
    }
    src.write_text(json.dumps([record, {**record, "identificatie": "J2", "eb_start_nummer": 8}], indent=2))
    out = tmp_path / "out"
    result = _build(src, out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["WMO401_0363_J1.xml", "WMO401_0363_J2.xml"]
    assert "JSON-lijst" in result.stderr


def test_json_array_bad_object_reports_its_line(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text('[\n  {"bericht": "WMO401", "afzender": "0363"},\n  {"bericht": "WMO405"}\n]\n')
    result = runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"{src}:2: veld(en) ontbreken: identificatie, dagtekening, bsn" in result.stderr
    assert f"{src}:3: veld(en) ontbreken:" in result.stderr


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    src = _excel(tmp_path / "in.csv", GOOD)
    out = tmp_path / "out"
    assert _build(src, out).exit_code == 0
    target = out / "WMO403_0363_B4.xml"
    target.write_bytes(b"mine")
    result = _build(src, out)
    assert result.exit_code == 1 and "bestaat al" in result.stderr and "--force" in result.stderr
    assert target.read_bytes() == b"mine"
    result = _build(src, out, "--force")
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"<?xml")


def test_bericht_option_is_checked(tmp_path: Path) -> None:
    src = _excel(tmp_path / "in.csv", GOOD)
    assert _build(src, tmp_path / "o", "--bericht", "WMO405").exit_code == 2


def test_leading_zeros_dropped_by_excel_are_restored(tmp_path: Path) -> None:
    src = _excel(tmp_path / "in.csv", ["WMO401;363;Z1;2026-05-20;999900006;1;2026-05-01;;;;1"])
    out = tmp_path / "out"
    result = _build(src, out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["WMO401_0363_Z1.xml"]


def test_a_bsn_of_only_zeros_is_an_empty_cell_not_bsn_000000000(tmp_path: Path) -> None:
    """Restoring Excel's dropped zeros must not turn "0" into Bsn 000000000 (which CS002 lets through)."""
    src = _excel(tmp_path / "in.csv", ["WMO401;0363;Z1;2026-05-20;0;1;2026-05-01;;;;1"])
    out = tmp_path / "out"
    result = _build(src, out)
    assert result.exit_code == 1, result.output
    assert "Bsn" in result.output or "bsn" in result.output
    assert not out.exists() or not list(out.iterdir())


def test_a_bericht_of_another_release_names_that_release(tmp_path: Path) -> None:
    """The trial: docs/examples/build.csv (WMO401) in a folder whose ieb.toml is in ieb-4.0 only got
    "moet WMO405 ... of WMO407 ... zijn"; now the row says WMO401 is of ieb-1.0 and how to choose it."""
    src = _excel(tmp_path / "excel.csv", [GOOD[0]])
    result = _build(src, tmp_path / "out", "--release", "ieb-4.0")
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith(f"  {src}:2:")]
    assert "WMO401 is een bericht van ieb-1.0" in line and "geef --release ieb-1.0" in line, line
    unknown = _build(_excel(tmp_path / "x.csv", [GOOD[0].replace("WMO401", "WMO499")]), tmp_path / "out")
    assert "vul de kolom bericht in of geef --bericht WMO401/WMO403" in unknown.stderr, unknown.stderr


def test_a_bsn_in_other_digits_says_0_9_masked(tmp_path: Path) -> None:
    wide = "".join(chr(0xFF10 + int(c)) for c in "999900006")
    src = tmp_path / "wide.csv"
    src.write_text(HEADER + "\n" + GOOD[0].replace("999900006", wide) + "\n", encoding="utf-8")
    result = _build(src, tmp_path / "out")
    assert result.exit_code == 1
    assert "Bsn ******００６ moet uit precies 9 cijfers 0-9 bestaan" in result.stderr, result.stderr
    assert wide not in result.output


def test_an_unreadable_ieb_toml_stops_build_instead_of_building_in_ieb_1_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gemeente in ieb-4.0 with a broken ieb.toml got ieb-1.0 files without a word (session 7,
    left over by helper ux): now the command stops (exit 2), names the file and ``--release``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    monkeypatch.delenv("IEB_RELEASE", raising=False)
    (tmp_path / "ieb.toml").write_text('release = "ieb-4.0"\n[tls\n', encoding="utf-8")
    src = _excel(tmp_path / "excel.csv", [GOOD[0]])
    result = _build(src, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "ieb.toml" in result.stderr and "--release" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
    chosen = _build(src, tmp_path / "out", "--release", "ieb-1.0")  # the way out it names
    assert chosen.exit_code == 0, chosen.output
