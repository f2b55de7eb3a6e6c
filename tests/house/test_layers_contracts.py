"""The import-linter contracts in pyproject.toml hold (the same check `.ci/run` runs as `lint-imports`)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.reference import ROOT


def test_import_linter_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    run = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
