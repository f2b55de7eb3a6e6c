"""Opening the database: URL handling, SQLite pragmas, migrations and the schema-version guard.

``open_database()`` is the one entry point for the ledger and the transport (outbox/inbox/audit).
SQLite is the default (one file, WAL, ``busy_timeout``; every transaction starts with
``BEGIN IMMEDIATE`` so that read-check-write sequences of concurrent writers are serialised);
PostgreSQL is used by URL (``postgresql+psycopg://user@host/db``; ``postgresql://`` is accepted and
mapped to psycopg 3).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ieb.store.errors import DatabaseVersionError, StoreError

__all__ = ["DEFAULT_DB", "database_url", "head_revision", "open_database", "schema_revision"]

#: default when neither ``url`` nor ``$IEB_DB`` is given: a SQLite file in the working directory
DEFAULT_DB = "ieb.sqlite"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: key of the PostgreSQL advisory lock taken while migrating (any constant; "iEb" in ASCII)
_PG_LOCK = 0x694562


def database_url(url: str | os.PathLike[str] | None = None) -> str:
    """Normalise ``url``: ``None`` -> ``$IEB_DB`` or ``sqlite:///ieb.sqlite``; a plain path -> SQLite."""
    text = os.fspath(url) if url is not None else os.environ.get("IEB_DB") or DEFAULT_DB
    if "://" not in text:
        return "sqlite:///" + str(Path(text))
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of ``ieb`` knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sqlite_setup(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check_and_upgrade(engine: Engine, where: str) -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        ctx = MigrationContext.configure(conn)
        current = ctx.get_current_heads()
        unknown = [rev for rev in current if rev not in known]
        if unknown:
            raise DatabaseVersionError(
                f"database {where} has schema version {', '.join(unknown)}, which this version of ieb does "
                f"not know (newest known: {script.get_current_head()}). It was written by a newer ieb; "
                "upgrade ieb. Nothing was changed.",
                location=where,
            )
        if not current:
            names = set(sa.inspect(conn).get_table_names())
            if names and not names <= {"alembic_version"}:
                raise DatabaseVersionError(
                    f"database {where} already holds tables ({', '.join(sorted(names)[:5])}) but no ieb schema "
                    "version; refusing to touch a foreign database.",
                    location=where,
                )
        if set(current) != {script.get_current_head()}:
            command.upgrade(_alembic_config(conn), "head")


def _where(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def open_database(
    url: str | os.PathLike[str] | None = None, *, upgrade: bool = True, echo: bool = False
) -> Engine:
    """An engine on the ledger/transport database, created or upgraded to the newest schema.

    ``url``: a SQLAlchemy URL, a plain file path (SQLite), or None for ``$IEB_DB`` / ``./ieb.sqlite``.
    ``sqlite://`` (no path) is a private in-memory database (one shared connection; for tests).
    Raises :class:`DatabaseVersionError` when the database comes from a newer ``ieb`` (or is a
    foreign database), without changing it.
    """
    text = database_url(url)
    parsed = sa.make_url(text)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    memory = is_sqlite and parsed.database in (None, "", ":memory:")
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif is_sqlite:
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if parsed.database:
            folder = Path(parsed.database).parent
            if not folder.is_dir():
                raise StoreError(f"folder {folder} of database {parsed.database} does not exist")
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot open database {_where(parsed)}: {exc}") from exc
    if is_sqlite:
        _sqlite_setup(engine, memory)
    if upgrade:
        try:
            _check_and_upgrade(engine, _where(parsed))
        except DatabaseVersionError:
            engine.dispose()
            raise
        except sa.exc.DatabaseError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {_where(parsed)}: {exc.orig or exc}") from exc
    if is_sqlite and not memory:
        _optimize(engine)
    return engine


def _optimize(engine: Engine) -> None:
    """``PRAGMA optimize`` once per open (bounded by ``analysis_limit``), so SQLite's query planner has
    current statistics (SQLite >= 3.46; older versions only analyse what this connection queried,
    which is nothing yet). The history queries pick the right index without statistics as well
    (checked with EXPLAIN QUERY PLAN). Skipped when another writer is busy."""
    raw = engine.raw_connection()  # autocommit (see _sqlite_setup): ANALYZE results are kept
    try:
        cur = raw.cursor()
        try:
            cur.execute("PRAGMA busy_timeout = 0")
            cur.execute("PRAGMA analysis_limit = 1000")
            # 0x10000 (check every table, SQLite >= 3.46) makes it useful right after opening
            cur.execute(
                "PRAGMA optimize = 0x10002" if sqlite3.sqlite_version_info >= (3, 46) else "PRAGMA optimize"
            )
        except sqlite3.OperationalError as exc:  # locked by a concurrent writer: the next open tries again
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.close()
    finally:
        raw.close()
