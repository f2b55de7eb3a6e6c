"""The lazy ``ieb`` group (ieb.cli._lazy, issue 22): the table ``ieb.cli.COMMANDS`` says exactly what
the command modules register, ``ieb --help`` imports no command module and a command imports only its
own modules (checked with ``sys.modules`` in a fresh interpreter, never with a clock)."""

from __future__ import annotations

import json
import os
import pprint
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ieb.cli import COMMANDS, LOADER, app
from ieb.cli._help import _paragraphs

SAMPLE = Path(__file__).resolve().parents[1] / "core" / "samples" / "valid" / "wmo401-kostprijs.xml"


def _actual_table() -> dict[str, tuple[tuple[str, ...], str]]:
    LOADER.load_all()
    table = {}
    for name in LOADER.eager_order():
        command = LOADER.built[name]
        summary = command.short_help or next(iter(_paragraphs(command.help or "")), "")
        table[name] = (tuple(LOADER.modules_of(name)), summary)
    return table


def test_the_table_names_every_command_with_its_modules_and_summary() -> None:
    actual = _actual_table()
    listed = {name: (modules[:1], summary) for name, (modules, summary) in COMMANDS.items()}
    assert listed == actual, (
        "ieb/cli/__init__.py COMMANDS is out of date; the modules register:\n"
        + pprint.pformat(actual, width=110)
    )
    assert LOADER.unlisted_modules() == []


def test_the_help_screen_is_the_same_as_with_every_module_loaded() -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).stdout
    LOADER.load_all()
    loaded = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).stdout
    assert lazy == loaded
    for name in COMMANDS:
        assert f"\n  {name} " in lazy


def test_every_name_gives_its_command() -> None:
    root = typer.main.get_command(app)
    assert list(root.commands) == list(COMMANDS)  # type: ignore[attr-defined]
    for name in COMMANDS:
        assert root.commands[name].name == name  # type: ignore[attr-defined]
    assert "bestaat-niet" not in root.commands  # type: ignore[attr-defined]


def _run(args: list[str], cwd: Path | None = None) -> tuple[int, set[str]]:
    """Run ``ieb ARGS`` in a fresh interpreter; its exit code and the modules it loaded."""
    script = (
        "import json, sys\n"
        "from ieb.cli import main\n"
        "sys.argv = ['ieb', *json.loads(sys.argv[1])]\n"
        "code = 0\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps([code, sorted(sys.modules)]) + '\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "IEB_CONFIG"},
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    code, modules = json.loads(line[len("MODULES ") :])
    return code, set(modules)


def test_help_imports_no_command_module_and_nothing_heavy() -> None:
    code, modules = _run(["--help"])
    assert code == 0
    assert [m for m in modules if m.startswith("ieb.cli.") and not m.startswith("ieb.cli._")] == []
    for heavy in ("pydantic", "lxml", "sqlalchemy", "zeep", "rich", "ieb.releases", "ieb.validation"):
        assert heavy not in modules, heavy


def test_validate_imports_no_typer_and_no_command_module(tmp_path: Path) -> None:
    """A plain ``ieb validate`` runs without typer (ieb.cli._validate_core); in a folder without
    ieb.toml the configuration is not even imported."""
    code, modules = _run(["validate", "--today", "2026-06-01", str(SAMPLE)], cwd=tmp_path)
    assert code == 0
    commands = sorted(m for m in modules if m.startswith("ieb.cli.") and not m.startswith("ieb.cli._"))
    assert commands == []
    for heavy in ("typer", "click", "pydantic", "sqlalchemy", "zeep", "cheroot", "rich", "ieb.config"):
        assert heavy not in modules, heavy
    assert "pydantic_settings" not in modules


def test_validate_help_imports_only_its_own_command_module(tmp_path: Path) -> None:
    """What typer reads (``--help``, a usage error) loads the validate module alone."""
    code, modules = _run(["validate", "--help"], cwd=tmp_path)
    assert code == 0
    commands = sorted(m for m in modules if m.startswith("ieb.cli.") and not m.startswith("ieb.cli._"))
    assert commands == ["ieb.cli.validate"]
    for heavy in ("sqlalchemy", "zeep", "cheroot", "rich", "ieb.config", "pydantic_settings"):
        assert heavy not in modules, heavy


@pytest.mark.parametrize("group", [n for n, (mods, _) in COMMANDS.items() if len(mods) > 1])
def test_a_group_filled_by_two_modules_is_complete_when_loaded_alone(group: str) -> None:
    """``ieb simulate`` gets ``serve`` from the transport module: asking for the group loads both."""
    LOADER.load_all()
    want = sorted(LOADER.built[group].commands)
    script = (
        "import json, sys, typer.main\n"
        "from ieb.cli import app\n"
        "print(json.dumps(sorted(typer.main.get_command(app).commands[sys.argv[1]].commands)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, group], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == want
