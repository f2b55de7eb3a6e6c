"""Shared test fixtures. Module-specific fixtures live in each test folder's own conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The published reference schemas, read from outside the project (never copied in).
REFERENCE = Path(os.environ.get("IEB_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))

#: Test BSNs: 9999xxxxx, passing the 11-proef.
TEST_BSNS = ("999900006", "999900018", "999900031", "999900043", "999900055", "999900067")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "ieb-1.0" / "WMO401.xsd").is_file():
        pytest.skip(f"published reference schemas not found at {REFERENCE} (set IEB_REFERENCE_DIR)")
    return REFERENCE
