"""``-`` on the command line of ``ieb validate``, ``ieb retour`` and ``ieb queue`` (stdin by the usual
convention) is refused as wrong use (exit 2) that names why, the same through typer and the
typer-free start: the commands name every file they report (and ``ieb retour`` keeps a failed
retour) by its file name, which stdin has not. Before, ``ieb retour -`` said "niet te lezen" with
exit 1 and ``ieb validate -`` "bestaat niet". A file that is called ``-`` is given by its full path."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import _retour_core, _validate_core, app

WHY = "- (standaardinvoer) wordt niet gelezen: geef de bestanden bij naam"


def _quick(main_fast: object, args: list[str]) -> tuple[int | None, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main_fast(args)  # type: ignore[operator]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("command", "where"),
    [("validate", "PAD"), ("retour", "BESTANDEN"), ("queue", "BESTANDEN")],
)
def test_a_dash_is_refused_as_wrong_use_naming_why(
    command: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "g.sqlite")
    args = [command, "-"] + ([] if command == "validate" else ["--db", db])
    result = CliRunner().invoke(app, args, input="<x/>")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"fout: {where}: {WHY}"), result.stderr
    assert not Path(db).exists()  # refused before the ledger is opened
    quick = {"validate": _validate_core.main_fast, "retour": _retour_core.main_fast}.get(command)
    if quick is not None:  # the typer-free start (ieb.cli.main) says the same
        assert _quick(quick, args[1:]) == (2, "", result.stderr)


def test_a_file_called_dash_is_read_by_its_full_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_bytes(b"geen xml")
    code, out, err = _quick(_validate_core.main_fast, [str(tmp_path / "-")])
    assert code == 1 and f"ONGELDIG  {tmp_path / '-'}" in out, (out, err)
    assert _quick(_validate_core.main_fast, ["-"])[0] == 2  # (so the name alone stays stdin)
