"""Attack: a desired-state file whose name carries a BSN must not put that BSN in the logboek."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
BSN = "999990020"  # a test BSN (11-proef)


def test_a_bsn_in_the_file_name_is_masked_in_the_logboek(tmp_path: Path) -> None:
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "ieb.sqlite"}"\ngemeenten = ["0363"]\n')
    f = tmp_path / f"correctie_{BSN}.csv"
    f.write_text(f"gemeente,bsn,start,stop\n0363,{BSN},2026-05-01,\n")
    planned = runner.invoke(app, ["plan", str(f), "--today", "2026-06-15", "--config", str(cfg)])
    assert planned.exit_code == 0, planned.output
    shown = runner.invoke(app, ["logboek", "--format", "json", "--config", str(cfg)])
    text = runner.invoke(app, ["logboek", "--config", str(cfg)])
    assert shown.exit_code == 0 and text.exit_code == 0, shown.output + text.output
    (row,) = json.loads(shown.stdout)
    assert row["bestand"].endswith("correctie_******020.csv")
    assert BSN not in shown.stdout and BSN not in text.stdout
