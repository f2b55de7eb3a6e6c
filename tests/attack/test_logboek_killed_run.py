"""Attack: a streamed ``ieb plan --queue`` commits chunk by chunk; the logboek row was written only
at the end, so a run killed after some chunks (kill -9: no code runs) had queued messages that no
logboek row accounted for. The row is written at the start now (``bezig``) and completed at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.exchange import Exchange

runner = CliRunner()
BSN = "999990020"  # a test BSN (11-proef)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "ieb.sqlite"}"\ngemeenten = ["0363"]\n')
    f = tmp_path / "gewenst.csv"
    f.write_text(f"gemeente,bsn,start,stop\n0363,{BSN},2026-05-01,\n")
    return cfg, f


def test_a_run_that_dies_half_way_is_in_the_logboek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, f = _setup(tmp_path)

    def dies(self: Exchange, *args: Any, **kwargs: Any) -> Any:
        raise SystemExit(137)  # as if killed: no outcome is written

    monkeypatch.setattr(Exchange, "plan_and_queue_file", dies)
    died = runner.invoke(app, ["plan", str(f), "--queue", "--today", "2026-06-15", "--config", str(cfg)])
    assert died.exit_code == 137
    monkeypatch.undo()
    rows = json.loads(runner.invoke(app, ["logboek", "--format", "json", "--config", str(cfg)]).stdout)
    assert [(r["opdracht"], r["uitkomst"]) for r in rows] == [("plan --queue", "bezig")]


def test_a_finished_streamed_run_is_one_row_with_its_outcome(tmp_path: Path) -> None:
    cfg, f = _setup(tmp_path)
    done = runner.invoke(app, ["plan", str(f), "--queue", "--today", "2026-06-15", "--config", str(cfg)])
    assert done.exit_code == 0, done.output
    rows = json.loads(runner.invoke(app, ["logboek", "--format", "json", "--config", str(cfg)]).stdout)
    assert [(r["opdracht"], r["uitkomst"], r["berichten"]) for r in rows] == [("plan --queue", "ok", 1)]
    assert rows[0]["vastgelegd"] is True and rows[0]["gemeenten"] == "0363"
