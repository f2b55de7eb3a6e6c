"""Fixtures of the ledger suite: databases on SQLite and PostgreSQL.

PostgreSQL: the server of the session fixture ``postgres_server_url`` (tests/conftest.py:
``$IEB_TEST_POSTGRES_URL``, or one throwaway server per test session, shared by every folder).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from ieb.validation.gemeenten import GemeenteLijst
from tests.migrated import migrated_pg_database, migrated_sqlite_url
from tests.pgdb import create_database

TODAY = dt.date(2024, 6, 15)
GEMEENTEN = GemeenteLijst.from_text(
    "code,naam,ingangsdatum,einddatum\n0363,Amsterdam,1900-01-01,\n0599,Rotterdam,1900-01-01,\n"
    "0003,Appingedam,1836-01-01,2020-12-31\n"
)
BSNS = [
    "999900006",
    "999900018",
    "999900031",
    "999900043",
    "999900055",
    "999900067",
    "999900079",
    "999900080",
    "999900092",
    "999900109",
    "999900110",
    "999900122",
]


def fresh_pg_database(server_url: str) -> str:
    return create_database(server_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "ledger.sqlite")
    server: str = request.getfixturevalue("postgres_server_url")
    return fresh_pg_database(server)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database at the newest schema, once per backend, for tests about what is stored
    rather than about opening or migrating (those take ``db_url``): a copy of a database migrated
    once per session (tests/migrated.py), not an Alembic run per test."""
    if request.param == "sqlite":
        return migrated_sqlite_url(tmp_path / "ledger.sqlite")
    return migrated_pg_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def db_url_factory(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> object:
    """Makes more empty databases on the same backend as ``db_url`` (e.g. gemeente + CAK)."""
    counter = iter(range(1, 1000))

    def make() -> str:
        if db_url.startswith("sqlite"):
            return "sqlite:///" + str(tmp_path / f"extra{next(counter)}.sqlite")
        return fresh_pg_database(request.getfixturevalue("postgres_server_url"))

    return make


def wait_until(predicate: object, timeout: float = 5.0) -> None:  # pragma: no cover - helper
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)


@pytest.fixture
def ledger_db_url_factory(request: pytest.FixtureRequest, tmp_path: Path, ledger_db_url: str) -> object:
    """Makes more databases at the newest schema on the same backend as ``ledger_db_url``."""
    counter = iter(range(1, 1000))

    def make() -> str:
        if ledger_db_url.startswith("sqlite"):
            return migrated_sqlite_url(tmp_path / f"extra{next(counter)}.sqlite")
        return migrated_pg_database(request.getfixturevalue("postgres_server_url"))

    return make
