"""tests/migrated.py gives the same databases as migrating afresh (the suite's shortcut is exact)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.store import open_database
from ieb.store.db import head_revision
from tests.ledger.conftest import fresh_pg_database
from tests.migrated import migrated_memory_engine, migrated_pg_database, migrated_sqlite_file


def _normal(sql: str | None) -> tuple[tuple[str, ...], frozenset[str]]:
    """A table's SQL as (its other lines in order, its CONSTRAINT lines as a set): Alembic's batch
    copies of a SQLite table write the named constraints in no fixed order (two fresh migrations
    differ there too)."""
    lines = [line.strip().rstrip(",").strip() for line in (sql or "").splitlines()]
    named = frozenset(line for line in lines if line.startswith("CONSTRAINT "))
    return tuple(line for line in lines if line not in named), named


def _facts(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        schema = sorted(
            (r.type, r.name, r.tbl_name, _normal(r.sql))
            for r in conn.execute(sa.text("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        )
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        pragmas = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "busy_timeout", "journal_mode", "user_version")
        ]
    return schema, version, pragmas


def test_the_memory_engine_equals_a_fresh_in_memory_migration() -> None:
    fresh, ours = open_database("sqlite://"), migrated_memory_engine()
    try:
        assert _facts(ours) == _facts(fresh)
        assert _facts(ours)[1] == [head_revision()]
        with ours.begin() as conn:  # writable, and private: a second engine starts again from the image
            conn.execute(sa.text("DELETE FROM alembic_version"))
        other = migrated_memory_engine()
        assert _facts(other)[1] == [head_revision()]
        other.dispose()
    finally:
        fresh.dispose()
        ours.dispose()


def test_the_file_equals_a_fresh_file_migration(tmp_path: Path) -> None:
    fresh = open_database(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    path = migrated_sqlite_file(tmp_path / "copy.sqlite")
    ours = open_database(f"sqlite:///{path}")  # the real open: at head, nothing to migrate
    try:
        assert _facts(ours) == _facts(fresh)
        assert _facts(ours)[2][2] == "wal"
    finally:
        fresh.dispose()
        ours.dispose()


def _pg_facts(url: str) -> tuple[object, ...]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = {}
        for table in sorted(inspector.get_table_names()):
            tables[table] = (
                [
                    (c["name"], str(c["type"]), c["nullable"], c["default"])
                    for c in inspector.get_columns(table)
                ],
                inspector.get_pk_constraint(table),
                sorted(map(repr, inspector.get_foreign_keys(table))),
                sorted(map(repr, inspector.get_indexes(table))),
                sorted(map(repr, inspector.get_unique_constraints(table))),
                sorted(map(repr, inspector.get_check_constraints(table))),
            )
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
            sequences = conn.execute(
                sa.text("SELECT sequence_name, start_value FROM information_schema.sequences ORDER BY 1")
            ).all()
        return tables, version, [tuple(s) for s in sequences]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_postgresql_copy_equals_a_fresh_migration(postgres_server_url: str) -> None:
    fresh = fresh_pg_database(postgres_server_url)
    open_database(fresh).dispose()
    first, second = migrated_pg_database(postgres_server_url), migrated_pg_database(postgres_server_url)
    assert _pg_facts(first) == _pg_facts(fresh)
    assert _pg_facts(second) == _pg_facts(fresh)
    assert _pg_facts(first)[1] == [head_revision()]
    ours = open_database(first)  # the real open: at head, nothing to migrate
    ours.dispose()
