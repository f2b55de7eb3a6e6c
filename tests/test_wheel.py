"""The wheel carries the schemas and data files: validation works from an installed wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_validates(tmp_path: Path, installed_wheel: Path) -> None:
    target = installed_wheel
    sample = ROOT / "tests/core/samples/invalid/cs300-ended-gemeente.xml"
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import ieb, json, sys; from pathlib import Path;"
        "assert str(Path(ieb.__file__).parent).startswith(sys.argv[1]), ieb.__file__;"
        "from ieb.resources import schemas_dir; assert schemas_dir().name == '_schemas';"
        "import datetime as dt; r = ieb.validate_file(sys.argv[2], today=dt.date(2026, 6, 1));"
        "print(json.dumps(r.codes))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(target), str(sample)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ["CS300"]
