"""Opening the database: URL handling, SQLite pragmas, migrations and the schema-version guard.

``open_database()`` is the one entry point for the ledger and the transport (outbox/inbox/audit).
SQLite is the default (one file, WAL, ``busy_timeout``; every transaction starts with
``BEGIN IMMEDIATE`` so that read-check-write sequences of concurrent writers are serialised);
PostgreSQL is used by URL (``postgresql+psycopg://user@host/db``; ``postgresql://`` is accepted and
mapped to psycopg 3).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ieb.store.errors import DatabaseVersionError, StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.sql.compiler import Compiled

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
    from alembic.config import Config  # late: alembic is needed only to migrate (issue 22)

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of ``ieb`` knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

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


# ------------------------------------------------------------------ the schema check (issue 22)
#
# Opening a database checked its revision against alembic's script directory, which loads every
# migration module: ~9 ms per open plus ~0.15 s of imports per process. The revisions this ieb knows
# are now read once per process from the migration files' ``revision = "..."`` / ``down_revision =
# "..."`` lines (remembered per file listing: name, size, mtime), and a database whose stored
# revision is exactly the head is accepted with one SELECT, without alembic. Anything else (an
# empty, older, newer or foreign database, a file the simple reading does not understand) takes
# the full alembic path below. tests/ledger/test_retour_open.py: the simple reading equals alembic's.

_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(None|[\"']([^\"']+)[\"'])\s*$", re.M)
_NONE = re.compile(r"^(branch_labels|depends_on)\s*(?::[^=]+)?=\s*None\s*$", re.M)
_OTHER = re.compile(r"^(branch_labels|depends_on)\s*(?::[^=]+)?=", re.M)
_FACTS: dict[tuple[str, tuple[tuple[str, int, int], ...]], tuple[frozenset[str], str] | None] = {}
_FACTS_LOCK = threading.Lock()


def _listing() -> tuple[str, tuple[tuple[str, int, int], ...]]:
    folder = _MIGRATIONS / "versions"
    out = []
    for p in sorted(folder.glob("*.py")):
        st = p.stat()
        out.append((p.name, st.st_size, st.st_mtime_ns))
    return str(folder), tuple(out)


def _read_revisions(folder: Path) -> tuple[frozenset[str], str] | None:
    """(every revision, the one head) from the migration files' plain assignments; None when a file
    is not in that simple form (a merge, branch labels, dependencies, several heads): then only
    alembic can tell."""
    down_of: dict[str, str | None] = {}
    for p in sorted(folder.glob("*.py")):
        if p.name == "__init__.py":
            continue
        text = p.read_text(encoding="utf-8")
        revs, downs = _REVISION.findall(text), _DOWN.findall(text)
        others = sorted(_OTHER.findall(text))
        plain = len(others) == 2 and sorted(_NONE.findall(text)) == others == ["branch_labels", "depends_on"]
        if len(revs) != 1 or len(downs) != 1 or not plain or revs[0] in down_of:
            return None
        down_of[revs[0]] = downs[0][1] or None
    known = frozenset(down_of)
    pointed = {d for d in down_of.values() if d is not None}
    if not pointed <= known:
        return None
    heads = known - pointed
    return (known, next(iter(heads))) if len(heads) == 1 else None


def known_revisions() -> tuple[frozenset[str], str] | None:
    """(the revisions this ieb knows, the head), read from the migration files once per process and
    file listing; None when only alembic can tell (see :func:`_read_revisions`)."""
    key = _listing()
    with _FACTS_LOCK:
        if key not in _FACTS:
            _FACTS.clear()
            _FACTS[key] = _read_revisions(_MIGRATIONS / "versions")
        return _FACTS[key]


def _at_head(engine: Engine) -> bool:
    """True when the database stores exactly the head revision (one ``alembic_version`` row).

    One plain read on the driver's connection (no transaction of its own, no inspector: it was a
    ``BEGIN IMMEDIATE``, a table lookup and the SELECT, ~0.5 ms of each open, issue 22); any error
    (no such table, a foreign database) answers False and the alembic path below decides."""
    facts = known_revisions()
    if facts is None:
        return False
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        try:
            cur.execute("SELECT version_num FROM alembic_version")
            rows = cur.fetchall()
        except engine.dialect.loaded_dbapi.Error:
            return False
        finally:
            cur.close()
    finally:
        raw.close()  # back to the pool; the pool rolls back what the driver began (PostgreSQL)
    return [r[0] for r in rows] == [facts[1]]


def _check_and_upgrade(engine: Engine, where: str) -> None:
    if _at_head(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot open database {_where(parsed)}: {exc}") from exc
    if is_sqlite:
        _sqlite_setup(engine, memory)
    else:
        _ping_on_checkout(engine)
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


def _ping_on_checkout(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, as its documented pessimistic "checkout" event: a pooled connection is pinged (``dialect.do_ping``)
    when it is handed out again; a lost one raises :class:`sqlalchemy.exc.DisconnectionError`, on
    which the pool replaces it with a new connection. A new connection is not pinged."""

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["ieb_fresh"] = True

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop("ieb_fresh", False):
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise sa.exc.DisconnectionError(f"verbinding met de database verloren: {exc}") from exc
            raise


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


# ------------------------------------------------------------------ fixed statements on the driver (issue 22)
#
# SQLAlchemy caches a compiled statement per dialect *instance*, i.e. per engine; the library opens an
# engine per ``Ledger.open`` (``ieb retour``, a caller with one batch per run), so every open compiled
# its statements again, and every ``executemany`` processed each row's parameters in Python. For a few
# fixed statements on SQLite the SQL text and the bind processors of their parameters are compiled
# once per kind of dialect (class, paramstyle, server version) and the rows go to the driver's
# ``executemany`` (``Connection.exec_driver_sql``: still inside the caller's transaction and events),
# each value converted by its column's own bind processor, as SQLAlchemy does.


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A fixed statement compiled for one kind of dialect (positional parameters).

    ``sql``: its text; ``names``: the parameter of each position; ``convert``: ``(position, bind
    processor)`` of each parameter whose type has one; ``compiled``: SQLAlchemy's compiled form (for
    an expanding ``IN``: :meth:`expanded`); ``results``: ``(column, result processor)`` of each
    selected column whose type has one (empty for other statements)."""

    sql: str
    names: tuple[str, ...]
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]
    compiled: Compiled
    results: tuple[tuple[int, Callable[[Any], Any]], ...]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """``values`` (by parameter name) as the positional parameters, each converted by its bind
        processor (raises KeyError for a missing parameter)."""
        out = [values[n] for n in self.names]
        for i, proc in self.convert:
            out[i] = proc(out[i])
        return tuple(out)

    def rows(self, values: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """:meth:`params` of each mapping in ``values`` (for ``executemany``); a value that is the
        very object the previous row had at that position (one timestamp for all rows) is converted
        once: a bind processor is a function of its value (SQLite's DATETIME one costs ~2 us)."""
        names, convert = self.names, self.convert
        last: dict[int, tuple[Any, Any]] = {}  # position -> (value, converted); holds the value
        out = []
        for mapping in values:
            row = [mapping[n] for n in names]
            for i, proc in convert:
                value = row[i]
                before = last.get(i)
                if before is not None and before[0] is value:
                    row[i] = before[1]
                else:
                    row[i] = converted = proc(value)
                    last[i] = (value, converted)
            out.append(tuple(row))
        return out

    def expanded(self, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """SQL and positional parameters for ``values`` with an expanding ``IN`` list rendered by
        SQLAlchemy (:meth:`~sqlalchemy.sql.compiler.SQLCompiler.construct_expanded_state`), each
        value converted by its bind processor."""
        state = self.compiled.construct_expanded_state(dict(values))  # type: ignore[attr-defined]
        procs = state.processors
        names = state.positiontup or ()
        params = state.parameters
        return state.statement, tuple(procs[n](params[n]) if n in procs else params[n] for n in names)


_DRIVER: dict[tuple[Any, ...], DriverStatement] = {}
_DRIVER_LOCK = threading.Lock()


def driver_statement(
    stmt: Any, dialect: sa.Dialect, column_keys: tuple[str, ...] | None = None
) -> DriverStatement:
    """``stmt`` (a statement object that lives for the process, e.g. a module constant) compiled for
    ``dialect`` with positional parameters, once per statement and kind of dialect (its class,
    paramstyle, server version and ``native_datetime``, which SQLite's date processors read: what
    the text and the processors depend on). ``column_keys``: the columns of an INSERT without
    explicit parameters. Raises RuntimeError for a dialect with named parameters (the caller then
    uses SQLAlchemy's ``execute``)."""
    key = (
        id(stmt),
        column_keys,
        type(dialect),
        dialect.paramstyle,
        dialect.server_version_info,
        getattr(dialect, "native_datetime", None),  # an engine made with native_datetime=True
    )
    found = _DRIVER.get(key)
    if found is not None and found.compiled.statement is stmt:
        return found
    made = compile_for_driver(stmt, dialect, column_keys)
    with _DRIVER_LOCK:
        _DRIVER[key] = made
    return made


def compile_for_driver(
    stmt: Any, dialect: sa.Dialect, column_keys: tuple[str, ...] | None = None
) -> DriverStatement:
    """``stmt`` compiled for ``dialect`` with positional parameters, uncached (:func:`driver_statement`
    caches per statement and kind of dialect; the receiver's inbox INSERTs cache per engine dialect).
    Raises RuntimeError for a dialect with named parameters."""
    compiled = stmt.compile(dialect=dialect, column_keys=None if column_keys is None else list(column_keys))
    if not dialect.positional:  # pragma: no cover - only SQLite (qmark) and psycopg "format" use this
        raise RuntimeError(f"{dialect.name}: geen positionele parameters")
    names = tuple(compiled.positiontup or ())
    convert = []
    for i, name in enumerate(names):
        proc = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            convert.append((i, proc))
    results = []
    for i, column in enumerate(getattr(stmt, "selected_columns", ())):
        rproc = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if rproc is not None:
            results.append((i, rproc))
    return DriverStatement(str(compiled), names, tuple(convert), compiled, tuple(results))
