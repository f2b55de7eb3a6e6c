"""What a user pays for at import time (issue 22, issue 25 item 7), checked with ``sys.modules`` in a
fresh interpreter (never with a clock):

* validating a file through the library (``ieb.validation``) does not import SQLAlchemy, zeep,
  cheroot or typer;
* the pytest plugin, loaded in every pytest run where ``ieb`` is installed, imports nothing heavy
  until one of its fixtures is used;
* ``ieb --help`` and ``ieb validate FILE`` load only the command modules they need.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "core" / "samples" / "valid" / "wmo401-kostprijs.xml"

#: never needed to validate a file or to load the pytest plugin
SERVER_SIDE = (
    "sqlalchemy",
    "alembic",
    "zeep",
    "cheroot",
    "typer",
    "click",
    "rich",
    "requests",
    "cryptography",
)
#: heavy libraries the plugin must not load before a fixture is used
PLUGIN_FREE = (
    *SERVER_SIDE,
    "lxml",
    "pydantic",
    "stdnum",
    "ieb.conformance",
    "ieb.transport",
    "ieb.validation",
)


def _modules_after(code: str, *args: str) -> set[str]:
    """The top-level and ``ieb.*`` module names loaded after running ``code`` in a new interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_validating_a_file_loads_no_server_side_library() -> None:
    modules = _modules_after(
        "import sys, datetime as dt\n"
        "from ieb.validation import validate_file\n"
        "assert validate_file(sys.argv[1], today=dt.date(2026, 6, 1)).valid\n",
        str(SAMPLE),
    )
    assert _loaded(modules, SERVER_SIDE) == []


def test_validating_through_the_face_loads_no_server_side_library() -> None:
    modules = _modules_after(
        "import sys, datetime as dt, pathlib\n"
        "import ieb\n"
        "assert ieb.validate_bytes(pathlib.Path(sys.argv[1]).read_bytes(), today=dt.date(2026, 6, 1)).valid\n",
        str(SAMPLE),
    )
    assert _loaded(modules, SERVER_SIDE) == []


def test_the_pytest_plugin_loads_nothing_heavy_until_a_fixture_is_used() -> None:
    modules = _modules_after("import pytest\nimport ieb.testing.plugin\n")
    assert _loaded(modules, PLUGIN_FREE) == []
    assert "ieb.testing.plugin" in modules
