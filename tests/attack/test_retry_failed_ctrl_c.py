"""Attack on ``ieb retour --retry-failed`` and Ctrl-C. Each failed entry is applied again and
marked in a transaction of its own, but the lines were printed only once EVERY entry was done.
Ctrl-C in the middle stopped the run (exit 130, "wat al verwerkt was blijft verwerkt") without a
line for the entries already applied and marked ``processed``; a rerun does not list them either
(they are no longer failed): the clerk never learns that those retours were applied. As for
``ieb retour FILES`` (tests/attack/test_retour_ctrl_c_report.py): each entry's line is written once
it is marked, and Ctrl-C takes effect after the entry under way is finished and reported."""

from __future__ import annotations

import io
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from ieb.cli import _retour_core
from ieb.exchange.retours import Retours
from tests.attack.test_retour_killed_run import _rows, _setup

pytestmark = [  # Ctrl-C is pressed here: Python's own SIGINT handler, however pytest was started
    pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal"),
    pytest.mark.usefixtures("default_sigint"),
]


def _failed_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger whose inbox holds three failed retour files (their heenberichten were unknown when
    they came in) that apply now."""
    db, paths = _setup(tmp_path)
    for name in list(__import__("os").environ):
        if name.upper().startswith("IEB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    idents = ("B1", "B2", "B3")
    with sqlite3.connect(db) as con:
        con.execute("UPDATE deliveries SET afzender = '9999' WHERE identificatie IN (?, ?, ?)", idents)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert _retour_core.run([str(p) for p in paths[:3]], db=f"sqlite:///{db}") == 1  # none applied
    with sqlite3.connect(db) as con:
        con.execute("UPDATE deliveries SET afzender = '0363' WHERE identificatie IN (?, ?, ?)", idents)
        assert con.execute("SELECT count(*) FROM inbox WHERE status = 'failed'").fetchone() == (3,)
    return db


def test_ctrl_c_during_the_retry_loses_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _failed_entries(tmp_path, monkeypatch)
    capsys.readouterr()
    real, calls = Retours._apply, []

    def ctrl_c_in_the_second(self: Retours, row: Any, *args: Any) -> Any:
        calls.append(row.referentienummer)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return real(self, row, *args)

    monkeypatch.setattr(Retours, "_apply", ctrl_c_in_the_second)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    code = _retour_core.run([], retry_failed=True, db=f"sqlite:///{db}")
    assert code == 130
    assert "onderbroken" in capsys.readouterr().err
    with sqlite3.connect(db) as con:
        processed = [
            r[0] for r in con.execute("SELECT referentienummer FROM inbox WHERE status = 'processed'")
        ]
    applied = sum(1 for r in _rows(db) if r[1] == "accepted")
    assert applied == len(processed) >= 1  # what was applied is marked, and nothing more
    lines = out.getvalue().splitlines()
    # every entry applied and marked has its line; the third was not started
    assert sorted(line.split(":")[0] for line in lines) == sorted(processed), lines
    assert all(line.endswith(": verwerkt") for line in lines)
    assert len(calls) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # the same command again does the rest
    monkeypatch.undo()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert _retour_core.run([], retry_failed=True, db=f"sqlite:///{db}") == 0
    assert len(out.getvalue().splitlines()) == 3 - len(processed)
    assert sum(1 for r in _rows(db) if r[1] == "accepted") == 3
