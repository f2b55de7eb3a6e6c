"""``ieb plan`` reads its desired state through ieb.tabular: true line numbers, every bad row (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.ledger.planner import read_desired
from ieb.tabular import TableError

runner = CliRunner()


def _plan(tmp_path: Path, desired: Path) -> object:
    return runner.invoke(
        app,
        [
            "plan",
            str(desired),
            "--afzender",
            "0363",
            "--out",
            str(tmp_path / "out"),
            "--db",
            str(tmp_path / "g.sqlite"),
            "--today",
            "2024-06-15",
            "--dry-run",
        ],
    )


def test_bad_row_is_reported_at_its_true_line(tmp_path: Path) -> None:
    desired = tmp_path / "d.csv"
    desired.write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n"
        "999900006,2024-03-01,,,\n"
        "999900018,2024-05-01,,,\n"
        "999900019,2024-05-01,,,\n"  # line 4: 11-proef
        "999900031,1-5-2024,,,\n"  # line 5: date
    )
    result = _plan(tmp_path, desired)
    assert result.exit_code == 1
    assert f"{desired}:4:" in result.stderr and f"{desired}:5:" in result.stderr
    assert f"{desired}:3:" not in result.stderr
    assert "999900019" not in result.output


def test_excel_semicolon_windows_1252_and_json_array(tmp_path: Path) -> None:
    excel = tmp_path / "d.csv"
    excel.write_bytes(
        "bsn;start;stop;kostprijs_cent;kostprijs_start\r\n999900006;2024-03-01;;;\r\n".encode("cp1252")
    )
    assert read_desired(excel)["999900006"][0].start.isoformat() == "2024-03-01"
    array = tmp_path / "d.json"
    array.write_text(
        json.dumps([{"bsn": "999900006", "start": "2024-03-01"}, {"bsn": "999900018", "start": None}])
    )
    got = read_desired(array)
    assert len(got["999900006"]) == 1 and got["999900018"] == []


def test_every_bad_row_and_an_empty_file(tmp_path: Path) -> None:
    lines = tmp_path / "d.jsonl"
    lines.write_text('{"bsn": "999900006", "start": "x"}\n\n{"bsn": "1", "start": "2024-01-01"}\n')
    with pytest.raises(TableError) as info:
        read_desired(lines)
    assert [i.line for i in info.value.issues] == [1, 3]
    empty = tmp_path / "e.csv"
    empty.write_text("bsn,start,stop\n")
    with pytest.raises(TableError, match="geen regels"):
        read_desired(empty)


def test_desired_state_bsn_of_only_zeros_is_refused() -> None:
    import pytest

    from ieb.errors import InputRowError
    from ieb.ledger.planner import desired_from_records

    with pytest.raises(InputRowError, match="11-proef"):
        desired_from_records([{"bsn": "0", "start": "2026-01-01"}])
