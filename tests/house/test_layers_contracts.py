"""The import-linter contracts in pyproject.toml hold (the same check `.ci/run` runs as `lint-imports`).

Run through this interpreter (not a ``lint-imports`` found on PATH), so the check does not depend on
the shell's PATH."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.reference import ROOT

_RUN = "import sys; from importlinter.cli import lint_imports_command; sys.argv[0] = 'lint-imports'; lint_imports_command()"


def test_import_linter_contracts_are_kept() -> None:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    run = subprocess.run(
        [sys.executable, "-c", _RUN, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
