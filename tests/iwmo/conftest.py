from __future__ import annotations

from pathlib import Path

import pytest

from ieb.iwmo.store import IwmoStore
from tests.ledger.conftest import db_url, db_url_factory, fresh_pg_database
from tests.migrated import migrated_pg_database, migrated_sqlite_url

__all__ = ["db_url", "db_url_factory", "fresh_pg_database"]
from tests.reference import REFERENCE as _ALL

REFERENCE = _ALL / "iwmo-3.2"


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"LET OP: de iWmo 3.2-referentiebestanden ontbreken ({REFERENCE})")
    return REFERENCE


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> IwmoStore:
    """The voorzieningen store on SQLite and on PostgreSQL (``$IEB_TEST_POSTGRES_URL`` or a
    throwaway server, see tests/ledger/conftest.py)."""
    from ieb.store import open_database

    if request.param == "sqlite":
        return IwmoStore(open_database(migrated_sqlite_url(tmp_path / "ieb.sqlite")))
    url = migrated_pg_database(request.getfixturevalue("postgres_server_url"))
    return IwmoStore(open_database(url))
