"""The iwmo tables as the migration 0006_iwmo makes them equal ieb/iwmo/tables.py, on SQLite and
PostgreSQL (the same check tests/ledger/test_db.py makes for the store's own tables)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ieb.store import open_database
from tests.ledger.test_db import (
    _shape,
    combined,  # every table the migrations build
)


def test_the_iwmo_migration_equals_the_iwmo_tables(db_url: str, db_url_factory: Callable[[], str]) -> None:
    migrated = open_database(db_url)
    live = sa.create_engine(db_url_factory())
    both = combined()
    both.create_all(live)
    try:
        with migrated.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), both)
        assert diff == [], diff
        shape = _shape(migrated)
        assert shape == _shape(live)
        assert {"iwmo_producten", "iwmo_bestanden"} <= set(shape)
        producten = shape["iwmo_producten"]
        assert isinstance(producten, dict) and producten["uniques"] == [
            ("uq_iwmo_producten_sleutel", ("sleutel",))
        ]
    finally:
        migrated.dispose()
        live.dispose()
