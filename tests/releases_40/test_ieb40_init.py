"""``ieb init`` for iEb 4.0: the release of a new configuration and seeded counters (issue 20)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app
from ieb.config import load_config
from ieb.ledger import open_database
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger

runner = CliRunner()


def test_a_new_configuration_is_ieb_4_0_and_an_old_one_stays_ieb_1_0(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--dir", str(tmp_path), "-g", "0363"]).exit_code == 0
    assert load_config(tmp_path / "ieb.toml").release == "ieb-4.0"
    old = tmp_path / "oud.toml"
    old.write_text('database = "ieb.sqlite"\ngemeenten = ["0363"]\n', encoding="utf-8")
    assert load_config(old).release == "ieb-1.0"  # a file written before releases: unchanged contract
    other = tmp_path / "b"
    assert (
        runner.invoke(app, ["init", "--dir", str(other), "-g", "0363", "--release", "ieb-1.0"]).exit_code == 0
    )
    assert load_config(other / "ieb.toml").release == "ieb-1.0"
    bad = runner.invoke(app, ["init", "--dir", str(tmp_path / "c"), "-g", "0363", "--release", "ieb-9.9"])
    assert bad.exit_code == 2


def test_counters_are_seeded_per_gemeente_and_never_go_back(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "init",
            "--dir",
            str(tmp_path),
            "-g",
            "0363",
            "-g",
            "0599",
            "--identificatie-vanaf",
            "5000",
            "--ebstartnummer-vanaf",
            "700",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Identificatie vanaf 5000" in result.output
    config = load_config(tmp_path / "ieb.toml")
    ledger = Ledger(open_database(config.database_url))
    try:
        for code in ("0363", "0599"):
            made = plan(
                ledger,
                code,
                {"999990019": [Period(dt.date(2025, 5, 1))]},
                today=dt.date(2025, 6, 1),
                release="ieb-4.0",
            )
            assert [(m.delivery.identificatie, m.delivery.eb_start_nummer) for m in made.messages] == [
                ("5000", 700)
            ]
    finally:
        ledger.close()
    again = runner.invoke(
        app, ["init", "--dir", str(tmp_path), "-g", "0363", "--identificatie-vanaf", "10", "--force"]
    )
    assert again.exit_code == 1 and "kan niet terug" in again.output
