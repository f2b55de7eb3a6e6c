"""The help of the clerk's commands: Dutch, choices and metavars instead of type placeholders, an example."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
COMMANDS = [["validate"], ["show"], ["build"], ["certs"], ["simulate", "process"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_at_80_columns(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0
    out = result.stdout
    assert not re.search(r"<(bool|str|int|path|list\[[^\]]*\])>", out, re.I), out
    assert "Voorbeeld: ieb " in out
    assert "Toon deze hulp en stop." in out and "Show this message" not in out
    assert "Opties" in out and "[required]" not in out and "[default:" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_choices_are_shown() -> None:
    assert "text|json|junit" in runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "80"}).stdout
    assert "WMO401|WMO403" in runner.invoke(app, ["build", "--help"], env={"COLUMNS": "80"}).stdout
    assert "rsa|ec" in runner.invoke(app, ["certs", "--help"], env={"COLUMNS": "80"}).stdout
    assert (
        "retour|none" in runner.invoke(app, ["simulate", "process", "--help"], env={"COLUMNS": "80"}).stdout
    )


@pytest.mark.parametrize(
    ("args", "dutch"),
    [
        (["validate"], "Argument 'PAD' ontbreekt."),
        (["validate", "--bla", "x"], "Onbekende optie: --bla"),
        (["validate", "--today"], "Optie '--today' heeft een waarde nodig."),
        (["validate", "--today", "gisteren", "x"], "fout: --today: 'gisteren' is geen datum JJJJ-MM-DD"),
        (["build", "bestaat-niet.csv"], "fout: INVOER: bestaat-niet.csv bestaat niet"),
        (["simulate", "process", "x.xml", "--out", "o"], "Optie '--state' ontbreekt."),
    ],
)
def test_usage_errors_are_dutch_and_exit_2(args: list[str], dutch: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 2
    assert dutch in result.output
    assert "Missing" not in result.output and "Invalid value" not in result.output
