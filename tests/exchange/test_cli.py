"""The exchange commands as a user meets them: help, version, errors without tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

COMMANDS = [
    "init",
    "plan",
    "queue",
    "send",
    "serve",
    "status",
    "requeue",
    "retour",
    "report",
    "receive",
    "demo",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_python_placeholders(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "list[" not in result.output, result.output


def test_status_format_lists_its_choices_and_version() -> None:
    runner = CliRunner()
    assert "text|json" in runner.invoke(app, ["status", "--help"], env={"COLUMNS": "100"}).output
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.match(r"ieb \d+\.\d+", version.output)


def test_status_and_report_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["status", "--format", "json"], ["report", "--out", str(tmp_path / "r.html")]):
        result = runner.invoke(app, [*args, "--db", str(tmp_path / "typo.sqlite")])
        assert result.exit_code == 2 and "bestaat niet" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "typo.sqlite").exists()


def test_send_without_an_endpoint_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["send"])
    assert result.exit_code == 2 and "ggk.endpoint" in result.output


def test_init_writes_a_commented_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--dir", str(tmp_path), "-g", "0363"]).exit_code == 0
    text = (tmp_path / "ieb.toml").read_text()
    assert text.count("#") > 10 and 'gemeenten = ["0363"]' in text
    again = runner.invoke(app, ["init", "--dir", str(tmp_path), "-g", "0363"])
    assert again.exit_code == 2 and "--force" in again.output


def test_requeue_without_arguments_is_an_error(tmp_path: Path) -> None:
    from ieb.ledger import open_database

    open_database(f"sqlite:///{tmp_path / 'ieb.sqlite'}").dispose()
    result = CliRunner().invoke(app, ["requeue", "--db", str(tmp_path / "ieb.sqlite")])
    assert result.exit_code == 1 and "--dead" in result.output
