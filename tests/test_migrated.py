"""tests/migrated.py gives the same databases as migrating afresh (the suite's shortcut is exact)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.store import open_database
from ieb.store.db import head_revision
from tests.migrated import migrated_memory_engine, migrated_sqlite_file


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
