from __future__ import annotations

from pathlib import Path

import pytest

from ieb.iwmo.store import IwmoStore
from tests.reference import REFERENCE as _ALL

REFERENCE = _ALL / "iwmo-3.2"


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"LET OP: de iWmo 3.2-referentiebestanden ontbreken ({REFERENCE})")
    return REFERENCE


@pytest.fixture
def store(tmp_path: Path) -> IwmoStore:
    from ieb.ledger import open_database

    return IwmoStore(open_database(f"sqlite:///{tmp_path / 'ieb.sqlite'}"))
