"""``ieb retour`` stopped with Ctrl-C (found in a trial run: exit 130 and not a word, although a
chunk of retours had been applied): it says what happened and what to do, and running the same
command again reports what was applied as duplicates and applies the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.exchange.retours import Retours

#: Ctrl-C is pressed in these tests: Python's own SIGINT handler, however pytest was started
pytestmark = pytest.mark.usefixtures("default_sigint")

TODAY = dt.date(2024, 6, 15)


def test_ctrl_c_says_what_stays_and_a_rerun_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    desired = tmp_path / "desired.csv"
    desired.write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n999900006,2024-05-01,,,\n999900018,2024-05-01,,,\n"
    )
    db, cak, out, ret = tmp_path / "g.sqlite", tmp_path / "cak.sqlite", tmp_path / "out", tmp_path / "ret"
    common = ["--db", str(db), "--today", TODAY.isoformat()]
    res = runner.invoke(app, ["plan", str(desired), "--afzender", "0363", "--out", str(out), *common])
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("*.xml"))
    res = runner.invoke(
        app,
        ["simulate", "process", "--state", str(cak), "--out", str(ret), "--today", TODAY.isoformat()]
        + [str(f) for f in files],
    )
    assert res.exit_code == 0, res.output
    retours = [str(p) for p in sorted(ret.glob("*.retour.xml"))]
    assert len(retours) == 2

    real = Retours.process_files

    def first_then_ctrl_c(self: Retours, paths, **kw):  # type: ignore[no-untyped-def]
        real(self, paths[:1], **kw)  # the first chunk is applied and committed ...
        raise KeyboardInterrupt  # ... then the clerk presses Ctrl-C

    monkeypatch.setattr(Retours, "process_files", first_then_ctrl_c)
    res = runner.invoke(app, ["retour", "--db", str(db), *retours])
    assert res.exit_code == 130, res.output
    assert "onderbroken" in res.stderr and "dezelfde opdracht opnieuw" in res.stderr
    # the chunk applied before Ctrl-C was reported as it was committed, and counted
    first = res.stdout.splitlines()
    assert len(first) == 2 and first[0].startswith(retours[0]) and "geaccepteerd [-]" in first[0], first
    assert first[1].startswith("1 retour(en): 1 geaccepteerd,"), first
    monkeypatch.setattr(Retours, "process_files", real)
    res = runner.invoke(app, ["retour", "--db", str(db), *retours])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 3 and "dubbel ontvangen" in lines[0] and "dubbel" not in lines[1]
    assert lines[2] == (
        "2 retour(en): 1 geaccepteerd, 0 afgewezen, 0 technisch afgekeurd, 0 niet beoordeeld, "
        "1 dubbel, 0 niet verwerkt"
    )


def test_ctrl_c_right_after_a_chunk_is_committed_still_reports_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C between a chunk's commit and its lines (the last session's leftover): before, the
    KeyboardInterrupt came out of the commit, the 500 applied retours were never reported, and a
    rerun called them "dubbel". Now the Ctrl-C waits until the committed chunk's lines are written,
    then stops the run (exit 130) before the next chunk."""
    import contextlib
    import io
    import signal
    import sys

    from ieb.cli import _retour_core
    from ieb.ledger.store import Ledger
    from tests.attack.test_retour_killed_run import _rows, _setup

    db, paths = _setup(tmp_path)
    for name in list(__import__("os").environ):
        if name.upper().startswith("IEB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    real = Ledger.transaction
    commits: list[int] = []

    @contextlib.contextmanager
    def then_ctrl_c(self: Ledger):  # type: ignore[no-untyped-def]
        with real(self) as unit:
            yield unit
        commits.append(1)  # the chunk is committed; the clerk presses Ctrl-C right now
        if len(commits) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Ledger, "transaction", then_ctrl_c)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    code = _retour_core.run([str(p) for p in paths], db=f"sqlite:///{db}")
    assert code == 130
    applied = sum(1 for r in _rows(db) if r[1] == "accepted")
    assert applied == 500 and len(commits) == 1, (applied, commits)  # the first chunk, then stop
    lines = out.getvalue().splitlines()
    assert len(lines) == applied + 1, lines[-3:]  # every applied retour is reported, then the summary
    assert all(": geaccepteerd [-]" in line for line in lines[:-1])
    assert lines[-1].startswith("500 retour(en): 500 geaccepteerd")
    err = capsys.readouterr().err
    assert "nog eens Ctrl-C: meteen stoppen" in err and "onderbroken: de retouren die al verwerkt" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_ctrl_c_during_the_last_chunk_lets_the_run_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is left after the last chunk: Ctrl-C pressed while it was applied ends the run as
    if it had not been pressed (every line, the summary, exit 0), not with "onderbroken ... de rest
    niet"."""
    import contextlib
    import io
    import signal
    import sys

    from ieb.cli import _retour_core
    from ieb.ledger.store import Ledger
    from tests.attack.test_retour_killed_run import _rows, _setup

    db, paths = _setup(tmp_path)
    paths = paths[:3]
    for name in list(__import__("os").environ):
        if name.upper().startswith("IEB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    real = Ledger.transaction

    @contextlib.contextmanager
    def then_ctrl_c(self: Ledger):  # type: ignore[no-untyped-def]
        with real(self) as unit:
            yield unit
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Ledger, "transaction", then_ctrl_c)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    code = _retour_core.run([str(p) for p in paths], db=f"sqlite:///{db}")
    assert code == 0
    assert sum(1 for r in _rows(db) if r[1] == "accepted") == 3
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 retour(en): 3 geaccepteerd"), lines
    assert "onderbroken: de retouren die al verwerkt" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
