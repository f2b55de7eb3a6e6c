"""Databases at the newest schema without running the migrations again (suite time).

Alembic takes ~0.2 s of CPU to migrate one new SQLite database (~0.6 s on PostgreSQL); tests that
only need *a* ledger database, not the migrations, start from an image of a database migrated once
per process (~3 ms); on PostgreSQL from a template database migrated once per server and process
(``CREATE DATABASE ... TEMPLATE``). The image is made by ``ieb.store.open_database`` itself, so it is exactly what
that function leaves (tests/test_migrated.py compares schema and revision with a fresh migration).
Tests about opening, migrating or refusing databases keep calling ``open_database`` on an empty
database.
"""

from __future__ import annotations

import functools
import sqlite3
import tempfile
import threading
import uuid
from pathlib import Path

from sqlalchemy.engine import Engine

from ieb.store import open_database
from tests.pgdb import create_database

__all__ = ["migrated_memory_engine", "migrated_pg_database", "migrated_sqlite_file", "migrated_sqlite_url"]


@functools.cache
def _memory_image() -> bytes:
    engine = open_database("sqlite://")
    try:
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert isinstance(conn, sqlite3.Connection)
            return conn.serialize()
        finally:
            raw.close()
    finally:
        engine.dispose()


@functools.cache
def _file_image() -> bytes:
    with tempfile.TemporaryDirectory(prefix="ieb-migrated-") as folder:
        path = Path(folder) / "ieb.sqlite"
        open_database(f"sqlite:///{path}").dispose()  # closing checkpoints the WAL into the file
        assert (
            not path.with_name(path.name + "-wal").exists()
            or not path.with_name(path.name + "-wal").stat().st_size
        )
        return path.read_bytes()


def migrated_memory_engine() -> Engine:
    """What ``open_database("sqlite://")`` returns (a private in-memory database, one shared
    connection), at the newest schema: the migrated image is loaded into its connection."""
    engine = open_database("sqlite://", upgrade=False)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.deserialize(_memory_image())
    finally:
        raw.close()
    return engine


def migrated_sqlite_file(path: Path) -> Path:
    """Write a SQLite database file at the newest schema (WAL, as ``open_database`` makes it) to
    ``path`` (which must not exist) and return ``path``."""
    with open(path, "xb") as fh:
        fh.write(_file_image())
    return path


def migrated_sqlite_url(path: Path) -> str:
    """:func:`migrated_sqlite_file` as a ``sqlite:///`` URL."""
    return f"sqlite:///{migrated_sqlite_file(path)}"


_PG_TEMPLATES: dict[str, str] = {}
_PG_LOCK = threading.Lock()


def _create(server_url: str, name: str, template: str | None = None) -> str:
    return create_database(server_url, name=name, template=template)


def migrated_pg_database(server_url: str) -> str:
    """The URL of a new database on the PostgreSQL server at ``server_url`` (an admin URL that may
    create databases), at the newest schema: a copy of a template database that
    ``open_database`` migrated once for this server and process (nobody else connects to the
    template, as ``CREATE DATABASE ... TEMPLATE`` requires)."""
    with _PG_LOCK:
        template = _PG_TEMPLATES.get(server_url)
        if template is None:
            template = "ieb_tpl_" + uuid.uuid4().hex[:12]
            open_database(_create(server_url, template)).dispose()
            _PG_TEMPLATES[server_url] = template
        return _create(server_url, "ieb_test_" + uuid.uuid4().hex[:12], template)
