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
        "999900031,31-02-2024,,,\n"  # line 5: no such date
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


def test_errors_are_described_once_with_column_and_hint_every_problem_of_a_row(tmp_path: Path) -> None:
    """t1 #5: ``- RowIssue(line=..., ...)`` reprs, no column, no "-> wat te doen", and only the first
    problem of a row."""
    desired = tmp_path / "d.csv"
    desired.write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n"
        "999900006,2024-03-01,,,\n"
        "999900018,2024-13-01,,57x00,\n"  # line 3: bad start AND bad kostprijs_cent
    )
    result = _plan(tmp_path, desired)
    assert result.exit_code == 1
    err = result.stderr
    assert "RowIssue(" not in err
    assert f"{desired}:3: kolom start:" in err and f"{desired}:3: kolom kostprijs_cent:" in err
    assert err.count("-> ") >= 2
    assert "JJJJ-MM-DD" in err and "eurocent" in err


def test_missing_desired_file_is_a_usage_error(tmp_path: Path) -> None:
    """t1 #9: ``ieb plan nergens.csv`` exited 1; every command exits 2 for a missing input."""
    result = _plan(tmp_path, tmp_path / "nergens.csv")
    assert result.exit_code == 2
    assert "bestaat niet" in result.stderr and "RowIssue(" not in result.stderr


def test_excel_gemeente_without_zero_and_dutch_dates(tmp_path: Path) -> None:
    """t1 #8: gemeente ``363`` (Excel dropped the zero) is 0363 as in ``ieb build``; dates as Excel
    shows them in Dutch (``30-11-2026``) are read like ``ieb reconcile`` reads them."""
    desired = tmp_path / "d.csv"
    desired.write_text(
        "gemeente;bsn;start;stop;kostprijs_cent;kostprijs_start\r\n363;999900006;01-03-2024;30-11-2026;;\r\n"
    )
    period = read_desired(desired)["999900006"][0]
    assert (period.start.isoformat(), str(period.stop)) == ("2024-03-01", "2026-11-30")
    result = _plan(tmp_path, desired)
    assert result.exit_code == 0, result.output
    assert "WMO401-0363" in result.output and "1 bericht(en) gepland" in result.output, result.output


def test_restore_zeros_is_one_helper_for_build_and_plan() -> None:
    from ieb.build import _zeros
    from ieb.tabular import restore_zeros

    assert restore_zeros("363", 4) == "0363" == _zeros(363, 4)
    assert restore_zeros("0", 4) == "0" and restore_zeros("12345", 4) == "12345"
    assert restore_zeros("99990006", 9) == "099990006"


def test_preview_shows_kostprijs_in_euro_not_eurocent_or_none() -> None:
    """t1 #11: ``wijzig start nr 1001: ... kostprijs 57000 -> None``."""
    import datetime as dt

    from ieb.ledger.planner import Period
    from tests.ledger.test_planner_cases import World

    world = World()
    try:
        world.plan([Period(dt.date(2024, 2, 1), None, 57_000, dt.date(2024, 2, 1))], dt.date(2024, 3, 1))
        result = world.plan([Period(dt.date(2024, 2, 5))], dt.date(2024, 3, 2))
        reasons = " | ".join(m.reason for m in result.messages)
        assert "kostprijs € 570,00 -> geen" in reasons, reasons
        assert "None" not in reasons and "57000" not in reasons
    finally:
        world.close()


@pytest.mark.parametrize(
    "zero", [0xFF10, 0x0660, 0x06F0, 0x0966], ids=["fullwidth", "arabic", "persian", "devanagari"]
)
def test_a_bsn_in_digits_of_another_script_says_so_masked(tmp_path: Path, zero: int) -> None:
    """The trial: ``９９９９０００１８`` (fullwidth, from an IME) was "geen geldig burgerservicenummer
    (11-proef)", which its digits pass; now the row says what is wrong, with the Bsn masked."""
    other = "".join(chr(zero + int(c)) for c in "999900018")
    desired = tmp_path / "d.csv"
    desired.write_text(
        f"bsn,start,stop,kostprijs_cent,kostprijs_start\n{other},2024-03-01,,,\n999900007,2024-03-01,,,\n",
        encoding="utf-8",
    )
    result = _plan(tmp_path, desired)
    assert result.exit_code == 1
    err = result.stderr
    assert other not in err and other[:6] not in err  # masked: only the last three digits
    line2 = next(line for line in err.splitlines() if f"{desired}:2:" in line)
    assert "bevat andere cijfers dan 0-9" in line2 and "11-proef" not in line2 and "(CS002)" in line2
    line3 = next(line for line in err.splitlines() if f"{desired}:3:" in line)
    assert "geen geldig burgerservicenummer (11-proef)" in line3  # ASCII digits: the 11-proef, as before


def test_a_bsn_with_spaces_or_dots_says_so_masked(tmp_path: Path) -> None:
    desired = tmp_path / "d.csv"
    desired.write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n999 900 018,2024-03-01,,,\n999.900.018,2024-03-01,,,\n"
    )
    result = _plan(tmp_path, desired)
    assert result.exit_code == 1
    err = result.stderr
    for line in (2, 3):
        (text,) = [x for x in err.splitlines() if f"{desired}:{line}:" in x]
        assert "bevat andere tekens dan cijfers" in text and "11-proef" not in text and "(CS002)" in text, (
            text
        )
    assert "900" not in err.replace(str(desired), "")  # masked completely: no 9 digits in a row to keep
