"""The import-linter contracts in pyproject.toml hold (the same check `.ci/run` runs as `lint-imports`).

Run through the interpreter that runs the tests, not through PATH: `.venv/bin/python -m pytest`
without an activated venv must check the contracts, not skip them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.reference import ROOT

_LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_import_linter_contracts_are_kept() -> None:
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail("import-linter ontbreekt in deze omgeving: pip install -e '.[test]'")
    run = subprocess.run(
        [sys.executable, "-c", _LINT, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
