"""Attack: ``ieb opschonen`` refuses a term under 365 days, but a ``--today`` in the future (a typo:
2062 for 2026) moved the cut-off past everything and wiped the log and message contents within
the retention term. A future --today is refused now; nothing is removed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
BSN = "999990020"  # a test BSN (11-proef)


def _audit_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def test_a_future_today_is_refused_and_nothing_is_removed(tmp_path: Path) -> None:
    db = tmp_path / "ieb.sqlite"
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{db}"\ngemeenten = ["0363"]\n')
    f = tmp_path / "gewenst.csv"
    f.write_text(f"gemeente,bsn,start,stop\n0363,{BSN},2026-05-01,\n")
    queued = runner.invoke(app, ["plan", str(f), "--queue", "--today", "2026-06-15", "--config", str(cfg)])
    assert queued.exit_code == 0, queued.output
    before = _audit_rows(db)
    assert before > 0
    result = runner.invoke(app, ["opschonen", "--today", "9999-01-01", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert "--today" in result.output and "9999-01-01" in result.output
    assert _audit_rows(db) == before


def test_a_future_today_may_still_be_counted_with_dry_run(tmp_path: Path) -> None:
    db = tmp_path / "ieb.sqlite"
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{db}"\ngemeenten = ["0363"]\n')
    f = tmp_path / "gewenst.csv"
    f.write_text(f"gemeente,bsn,start,stop\n0363,{BSN},2026-05-01,\n")
    assert (
        runner.invoke(
            app, ["plan", str(f), "--queue", "--today", "2026-06-15", "--config", str(cfg)]
        ).exit_code
        == 0
    )
    before = _audit_rows(db)
    counted = runner.invoke(app, ["opschonen", "--today", "9999-01-01", "--dry-run", "--config", str(cfg)])
    assert counted.exit_code == 0, counted.output
    assert _audit_rows(db) == before
