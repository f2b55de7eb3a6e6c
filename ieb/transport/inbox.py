"""Storing what arrives, race-free: the receiver's inbox writes.

:func:`store_envelope` inserts an arriving envelope in the ledger's ``inbox`` and commits, with
every "have we seen this?" question answered by a unique constraint, never by a SELECT followed
by an INSERT (two redeliveries arriving at the same moment on two threads or two processes cannot
both pass such a check):

* the ``referentienummer`` is unique: a second arrival of the same envelope is a ``redelivery``
  (acknowledged, not processed again);
* ``retour_of`` (the crossRefnummer of a Du01) is unique: only the first retour for a heenbericht
  gets it; a later, different retour is stored with status ``duplicate`` and not processed.

Both use ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL), so no statement fails and no
transaction is aborted.
"""

from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ieb.store.db import DriverStatement, compile_for_driver
from ieb.transport.audit import AuditTrail

__all__ = ["KeptPgConnections", "StoredEnvelope", "store_envelope", "store_processed_sqlite"]


@dataclass(frozen=True)
class StoredEnvelope:
    """The outcome of :func:`store_envelope`: ``status`` is ``received`` (new, to process),
    ``duplicate`` (a second retour for the same heenbericht) or ``redelivery`` (seen before);
    ``id`` is the new inbox row (None for a redelivery)."""

    id: int | None
    status: str


_INSERTS: dict[tuple[str, str], Any] = {}


def _insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int | None:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` with ``values`` as parameters (the
    statement is built once per dialect: building ``.values(**row)`` per call cost more than the
    insert itself)."""
    key = (conn.dialect.name, table.name)
    stmt = _INSERTS.get(key)
    if stmt is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing().returning(table.c.id)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing().returning(table.c.id)
        _INSERTS[key] = stmt
    new_id = conn.execute(stmt, values).scalar_one_or_none()
    return int(new_id) if new_id is not None else None


def store_envelope(
    engine: Engine | Connection,
    *,
    referentienummer: str,
    cross_ref_nummer: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    received_at: Any,
    audit: AuditTrail | None = None,
    processed: bool = False,
    processed_detail: str | None = None,
) -> StoredEnvelope:
    """Insert an arrived envelope in the inbox and commit (see the module docstring). Given a
    :class:`~sqlalchemy.engine.Connection` instead of an engine, write inside the caller's
    transaction (the caller commits; the receiver stores and marks a request in one transaction).
    ``processed``: a new entry is stored as ``processed`` at once (there is nothing to process; the
    status returned is still ``received``). ``processed_detail``: with ``processed``, a new entry
    also gets its "processed" audit row (this detail, outcome ``processed``), written with the
    "received" one in one ``executemany`` (issue 22: one statement less per message)."""
    from ieb.store.schema import inbox as t

    values = _row(
        referentienummer,
        cross_ref_nummer,
        berichtcode,
        functie,
        zender,
        peer_oin,
        raw,
        received_at,
        processed,
    )
    if isinstance(engine, Connection):
        return _store(engine, t, values, audit, processed_detail if processed else None)
    from ieb.transport.outbox import write_lock

    with write_lock(engine), engine.begin() as conn:
        return _store(conn, t, values, audit, processed_detail if processed else None)


def _row(
    referentienummer: str,
    cross_ref_nummer: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    received_at: Any,
    processed: bool,
) -> dict[str, Any]:
    """The ``inbox`` row of an arrived envelope (column -> value)."""
    return {
        "referentienummer": referentienummer,
        "cross_ref_nummer": cross_ref_nummer,
        "berichtcode": berichtcode,
        "functie": functie,
        "zender": (zender or "")[:32] or None,
        "peer_oin": peer_oin,
        "envelope": raw,
        "status": "processed" if processed else "received",
        "received_at": received_at,
        "processed_at": received_at if processed else None,
        "retour_of": cross_ref_nummer if berichtcode == "Du01" and cross_ref_nummer else None,
    }


_REDELIVERY = "al ontvangen; bevestigd zonder opnieuw te verwerken"


def store_processed_sqlite(
    engine: Engine,
    *,
    referentienummer: str,
    cross_ref_nummer: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    received_at: Any,
    audit: AuditTrail,
    processed_detail: str,
    connection: Any = None,
) -> StoredEnvelope | None:
    """:func:`store_envelope` with ``processed=True`` (and ``audit``) for a SQLite ``engine``, in ONE
    transaction on the engine's own pooled sqlite3 connection: ``BEGIN IMMEDIATE``, SQLAlchemy's own
    compiled ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` with every value converted by its
    column's bind processor, one ``executemany`` of the audit rows, ``COMMIT``. The rows are the
    ones the SQLAlchemy Core path writes, value for value (``tests/transport/test_receiver_sqlite_path.py``);
    SQLAlchemy's execution machinery around three statements was about half of the receiver's
    CPU per message (issue 22, RECV).

    A new entry is stored ``processed`` with its "received" and "processed" audit rows; a
    redelivery of an entry that is no longer ``received`` gets its "redelivery" audit row. In
    every other case (a second retour for one heenbericht, a redelivery of an entry that was never
    processed) nothing is written and None is returned: use :func:`store_envelope`. The caller
    holds :func:`ieb.transport.outbox.write_lock`. A database error is raised as SQLAlchemy's
    (:class:`sqlalchemy.exc.OperationalError` for a locked or full database), after a rollback.

    ``connection``: a sqlite3 connection of ``engine`` the caller keeps for this (outside the
    pool, see :func:`kept_sqlite_connection`) and uses only under the write lock; without it one
    is checked out of the engine's pool and returned (issue 22, RECV round 7: the pool's checkout
    and checkin cost ~0.2 ms per message with cold CPU caches, as in a server between requests)."""
    import sqlite3

    from ieb.store.schema import inbox as t

    values = _row(
        referentienummer, cross_ref_nummer, berichtcode, functie, zender, peer_oin, raw, received_at, True
    )
    insert_sql, insert_params = _converted(_sqlite_insert_ignore(t, tuple(values), engine.dialect), values)
    event = {"referentienummer": referentienummer, "cross_ref_nummer": cross_ref_nummer, "functie": functie}
    sql = "BEGIN IMMEDIATE"
    fairy = engine.raw_connection() if connection is None else None
    try:
        dbapi = connection if fairy is None else fairy.driver_connection
        assert dbapi is not None  # a checked-out connection
        cur = dbapi.cursor()
        try:
            cur.execute(sql)
            try:
                sql = insert_sql
                found = cur.execute(sql, insert_params).fetchall()
                if found:
                    stored = StoredEnvelope(int(found[0][0]), "received")
                    rows = _processed_audit_rows(audit, berichtcode, event, peer_oin, processed_detail)
                else:
                    sql = _SEEN_STATUS
                    seen = cur.execute(sql, (referentienummer,)).fetchall()
                    if not seen or seen[0][0] == "received":
                        cur.execute("ROLLBACK")
                        return None
                    stored = StoredEnvelope(None, "redelivery")
                    rows = audit.rows_for(
                        "in", berichtcode, [event | {"detail": _REDELIVERY}], outcome="redelivery"
                    )
                compiled = _sqlite_insert(audit.table, tuple(rows[0]), engine.dialect)
                sql = compiled.sql
                cur.executemany(sql, [compiled.params(r) for r in rows])
                sql = "COMMIT"
                cur.execute(sql)
            except BaseException:
                if dbapi.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
    finally:
        if fairy is not None:
            fairy.close()
    return stored


def kept_sqlite_connection(engine: Engine) -> Any:
    """A sqlite3 connection of ``engine`` (a SQLite FILE database through pysqlite) taken out of
    its pool for good (``detach``: the pool no longer counts or resets it; the engine's "connect"
    settings were applied), for a caller that stores through :func:`store_processed_sqlite`
    again and again and uses it only under :func:`ieb.transport.outbox.write_lock`; None for an
    in-memory database (its one connection is shared) or another driver. The caller closes it."""
    if (engine.dialect.name, engine.dialect.driver) != ("sqlite", "pysqlite"):
        return None
    if engine.url.database in (None, "", ":memory:") or "mode=memory" in str(engine.url):
        return None
    fairy = engine.raw_connection()
    connection = fairy.driver_connection
    fairy.detach()
    return connection


_SEEN_STATUS = "SELECT status FROM inbox WHERE referentienummer = ?"


def _processed_audit_rows(
    audit: AuditTrail,
    berichtcode: str,
    event: dict[str, Any],
    peer_oin: str | None,
    processed_detail: str,
    *,
    logged: bool = True,
) -> list[dict[str, Any]]:
    """The "received" and "processed" audit rows of a new entry stored ``processed`` (both fast
    paths; ``logged``: see :meth:`AuditTrail.rows_for`)."""
    return audit.rows_for(
        "in",
        berichtcode,
        [
            event | {"detail": f"peer OIN {peer_oin}"},
            event | {"detail": processed_detail, "outcome": "processed"},
        ],
        outcome="received",
        logged=logged,
    )


class KeptPgConnections:
    """psycopg connections of one PostgreSQL ``engine`` (psycopg 3) kept out of its pool, each in
    autocommit, for :func:`store_processed_postgresql` (the receiver's store, issue 22 RECV round
    8). A caller takes one (:meth:`take`), uses it alone and gives it back (:meth:`give`); a new
    one is made only when every kept one is in use, so there are at most as many as threads
    storing at once (a server's worker threads). Taken from the engine's pool for good (``detach``: made with the
    engine's "connect" events and the pool's ping), so no pool checkout, checkin, reset-on-return
    rollback or autocommit toggle per message: that bookkeeping was ~0.2-0.3 ms of CPU per
    message with the CPU caches cold, as in a server between requests. Why not the pool with
    settings: ``pool_reset_on_return=None`` drops only the (already cheap) rollback; the
    checkout/checkin with its queue, events and fairy is what cost.

    A lost connection (:meth:`lost`) closes every kept one, as SQLAlchemy's pool invalidates its
    connections on a disconnect; one in use elsewhere is closed when it comes back. All kept
    connections are closed by :meth:`close`, when the engine is disposed (``engine.dispose()``, as
    the CLI and the library do when a receiver stops) and when this object is collected."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._free: list[tuple[Any, Any, int]] = []
        self._generation = 0
        self._lock = threading.Lock()
        self._new_entry: tuple[sa.Table, int, DriverStatement, DriverStatement, str] | None = None
        ref = weakref.ref(self)

        def _disposed(_engine: Engine) -> None:
            kept = ref()
            if kept is not None:
                kept.close()

        sa.event.listen(engine, "engine_disposed", _disposed)
        weakref.finalize(self, _close_all, self._free)

    def take(self) -> tuple[Any, Any, int] | None:
        """A kept psycopg connection in autocommit, its kept cursor and its generation (for
        :meth:`give`), a new one when none is free; None when no connection can be had (the
        database is away)."""
        import psycopg

        with self._lock:
            if self._free:
                return self._free.pop()
            generation = self._generation
        try:
            fairy = self.engine.raw_connection()  # pinged when pooled: a lost one is replaced
        except (sa.exc.DBAPIError, psycopg.Error):
            return None
        connection: Any = fairy.driver_connection
        fairy.detach()
        try:
            if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                connection.commit()  # a "connect" event ran a statement: kept, as a first store would
            connection.autocommit = True
        except psycopg.Error:
            connection.close()
            return None
        return connection, connection.cursor(), generation

    def new_entry_statement(
        self, audit_table: sa.Table, values: dict[str, Any], rows: list[dict[str, Any]]
    ) -> tuple[DriverStatement, DriverStatement, str]:
        """The one statement of :func:`store_processed_postgresql` for a new entry: the compiled
        inbox INSERT (of ``values``' columns), the audit INSERT (of ``rows``' columns) and their
        CTE SQL for ``len(rows)`` audit rows. Made on first use for this engine's dialect,
        ``audit_table`` and the number of audit rows (the columns are fixed: ``_row`` and ``AuditTrail.rows_for`` always give
        the same keys), then the same objects (issue 22 RECV round 9: the lookups per message were
        ~20-40 us of CPU with the caches cold)."""
        made = self._new_entry
        if made is None or made[0] is not audit_table or made[1] != len(rows):
            from ieb.store.schema import inbox as t

            dialect = _positional(self.engine.dialect)
            insert = _pg_insert_ignore(t, tuple(values), dialect)
            audit_insert = _pg_insert(audit_table, tuple(rows[0]), dialect)
            sql = _pg_store_new(insert.sql, audit_insert.sql, len(rows))
            made = self._new_entry = (audit_table, len(rows), insert, audit_insert, sql)
        return made[2], made[3], made[4]

    def give(self, taken: tuple[Any, Any, int]) -> None:
        """Hand back a connection of :meth:`take` after use; closed instead when it is not idle (a
        statement was interrupted) or was kept before the last :meth:`close`/:meth:`lost`."""
        connection, _, generation = taken
        idle = connection.pgconn.transaction_status == _PQ_IDLE  # not when closed (UNKNOWN)
        with self._lock:
            if idle and generation == self._generation:
                self._free.append(taken)
                return
        connection.close()

    def lost(self, taken: tuple[Any, Any, int]) -> None:
        """``taken``'s connection was lost (the server ended it, or went away): close it and every
        kept one (they are most likely lost too: a restart, an administrator)."""
        taken[0].close()
        self.close()

    def close(self) -> None:
        """Close every kept connection; one in use now is closed when it is given back."""
        with self._lock:
            self._generation += 1
            free, self._free[:] = list(self._free), []
        _close_all(free)

    def __len__(self) -> int:
        """The number of free (idle) kept connections."""
        return len(self._free)


_PQ_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (libpq's PQTRANS_IDLE)
#: SQLSTATEs of a statement psycopg prepared that no longer works on its connection: 0A000
#: (feature_not_supported) "cached plan must not change result type", after a migration changed the
#: type of a column it returns while the receiver served; 26000 (invalid_sql_statement_name)
#: "prepared statement _pg3_0 does not exist", after DEALLOCATE ALL or DISCARD ALL behind psycopg's
#: back (a connection pooler's reset). Both only on statements psycopg prepared (fixed SQL here).
_PG_STALE_PREPARED = frozenset({"0A000", "26000"})


def _close_all(kept: list[tuple[Any, Any, int]]) -> None:
    for connection, *_ in kept:
        connection.close()


def store_processed_postgresql(
    engine: Engine,
    *,
    referentienummer: str,
    cross_ref_nummer: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    received_at: Any,
    audit: AuditTrail,
    processed_detail: str,
    connections: KeptPgConnections,
) -> StoredEnvelope | None:
    """:func:`store_processed_sqlite` for PostgreSQL through psycopg 3, on a connection of
    ``connections`` (kept for ``engine``, in autocommit): a new entry and its two audit rows are
    ONE statement (one round trip, one implicit transaction): SQLAlchemy's own compiled ``INSERT
    ... ON CONFLICT DO NOTHING RETURNING id`` (positional parameters, every value converted by its
    column's bind processor) as a CTE, and the audit rows inserted from a ``VALUES`` list only
    when that CTE returned a row. A redelivery reads the stored status and writes its audit row in
    two more statements (the read changes nothing). The same rows as the Core path
    (``tests/transport/test_receiver_postgresql_path.py``); the same cases return None (nothing
    written: use :func:`store_envelope`), also when no connection can be had (the Core path then
    raises its own error). A database error is raised as SQLAlchemy's; a lost connection is
    raised with ``connection_invalidated`` as the Core path does, so the receiver answers the
    retryable StUF058/503, unless the statement sent once more on a new connection succeeds.
    Issue 22 (RECV): BEGIN, the two INSERTs and COMMIT were four round trips of ~40 us CPU each;
    the pool's checkout and checkin ~0.2 ms more (round 8)."""
    values = _row(
        referentienummer, cross_ref_nummer, berichtcode, functie, zender, peer_oin, raw, received_at, True
    )
    event = {"referentienummer": referentienummer, "cross_ref_nummer": cross_ref_nummer, "functie": functie}
    rows = _processed_audit_rows(audit, berichtcode, event, peer_oin, processed_detail, logged=False)
    new_entry, audit_insert, new_sql = connections.new_entry_statement(audit.table, values, rows)
    params = new_entry.params(values)
    for r in rows:
        params += audit_insert.params(r)
    taken = connections.take()
    if taken is None:
        return None
    try:
        return _pg_store(
            connections, taken, new_sql, params, referentienummer, audit, rows, event, berichtcode
        )
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    # the kept connection was lost (the server ended it, or restarted), or its prepared statement
    # no longer works (_PG_STALE_PREPARED; the kept ones are closed): nothing of this one
    # statement was written, or all of it (only the reply was lost); once more on a new
    # connection, where a row with this very received_at is the first attempt's own (one
    # arrival), not a redelivery
    taken = connections.take()
    if taken is None:
        return None
    return _pg_store(
        connections,
        taken,
        new_sql,
        params,
        referentienummer,
        audit,
        rows,
        event,
        berichtcode,
        mine=received_at,
    )


def _pg_store(
    connections: KeptPgConnections,
    taken: tuple[Any, Any, int],
    sql: str,
    params: tuple[Any, ...],
    referentienummer: str,
    audit: AuditTrail,
    rows: list[dict[str, Any]],
    event: dict[str, Any],
    berichtcode: str,
    *,
    mine: Any = None,
) -> StoredEnvelope | None:
    """One attempt of :func:`store_processed_postgresql` on the ``taken`` connection (given back
    after, or closed when lost). Each statement is its own transaction (autocommit). ``mine``: on
    the attempt after a lost connection, the ``received_at`` both attempts wrote; a row found with
    it is the first attempt's, committed before its reply was lost: the new entry (``received``,
    its ``rows`` logged), not a redelivery (tests/attack/test_receiver_pg_lost_reply.py)."""
    import psycopg

    engine = connections.engine
    dbapi, cur = taken[0], taken[1]  # the kept connection and its kept cursor
    stored: StoredEnvelope | None
    try:
        found = cur.execute(sql, params).fetchall()
        if found:
            stored = StoredEnvelope(int(found[0][0]), "received")
        else:
            sql = _PG_SEEN_STATUS
            seen = cur.execute(sql, (referentienummer,)).fetchall()
            if not seen or seen[0][0] == "received":
                stored = None
            elif mine is not None and seen[0][1] == mine:  # our own first attempt's row
                stored = StoredEnvelope(int(seen[0][2]), "received")
            else:
                stored = StoredEnvelope(None, "redelivery")
                rows = audit.rows_for(
                    "in",
                    berichtcode,
                    [event | {"detail": _REDELIVERY}],
                    outcome="redelivery",
                    logged=False,
                )
                dialect = _positional(engine.dialect)
                sql, one = _converted(_pg_insert(audit.table, tuple(rows[0]), dialect), rows[0])
                cur.execute(sql, one)
    except psycopg.Error as exc:
        # a statement psycopg prepared on this connection (after 5 runs) that no longer works
        # (_PG_STALE_PREPARED): it failed whole (nothing written) and fails on every kept
        # connection until each is new: handled as a lost connection
        lost = exc.sqlstate in _PG_STALE_PREPARED or engine.dialect.is_disconnect(cast(Any, exc), dbapi, None)
        if lost:
            connections.lost(taken)
        else:
            connections.give(taken)
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, psycopg.Error, connection_invalidated=lost, dialect=engine.dialect
        ) from exc
    except BaseException:
        dbapi.close()  # interrupted mid-statement: its state is unknown
        raise
    connections.give(taken)
    if stored is not None:
        audit.log_rows(rows)
    return stored


@functools.lru_cache(maxsize=8)
def _pg_store_new(insert_sql: str, audit_sql: str, n_rows: int) -> str:
    """One statement: ``insert_sql`` (the inbox INSERT ... RETURNING id) as a CTE, then ``audit_sql``'s
    ``n_rows`` audit rows (its VALUES group repeated, in row order) inserted only when the inbox
    row was new; the new id is the statement's result (no row: nothing was written)."""
    head, group = audit_sql.split(" VALUES ", 1)
    groups = ", ".join([group] * n_rows)
    return (
        f"WITH new AS ({insert_sql}), "  # noqa: S608 - our compiled SQL, parameters bound
        f"written AS ({head} SELECT * FROM (VALUES {groups}) AS v WHERE EXISTS (SELECT FROM new)) "
        "SELECT id FROM new"
    )


_PG_SEEN_STATUS = "SELECT status, received_at, id FROM inbox WHERE referentienummer = %s"


@functools.lru_cache(maxsize=8)
def _positional(dialect: sa.Dialect) -> sa.Dialect:
    """A dialect like ``dialect`` (psycopg) that compiles positional ``%s`` parameters."""
    made: sa.Dialect = cast(Any, type(dialect))(paramstyle="format")
    return made


@functools.lru_cache(maxsize=8)
def _pg_insert_ignore(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> DriverStatement:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    stmt = pg_insert(table).on_conflict_do_nothing().returning(table.c.id)
    return _compile(stmt, table, keys, dialect)


@functools.lru_cache(maxsize=8)
def _pg_insert(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> DriverStatement:
    return _compile(sa.insert(table).inline(), table, keys, dialect)  # inline: no RETURNING id


def _converted(compiled: DriverStatement, values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The SQL and ``values`` as its positional parameters, each converted like SQLAlchemy does."""
    return compiled.sql, compiled.params(values)


def _compile(stmt: Any, table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> DriverStatement:
    """``stmt`` (an INSERT of ``keys`` into ``table``) for ``dialect``: :func:`ieb.store.db.compile_for_driver`,
    cached per engine dialect by the callers' ``lru_cache``."""
    made = compile_for_driver(stmt, dialect, keys)
    if sorted(made.names) != sorted(keys):  # pragma: no cover - defaults or named parameters
        raise RuntimeError(f"onverwachte parameters van de INSERT in {table.name}: {made.names}")
    return made


@functools.lru_cache(maxsize=8)
def _sqlite_insert_ignore(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> DriverStatement:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    stmt = sqlite_insert(table).on_conflict_do_nothing().returning(table.c.id)
    return _compile(stmt, table, keys, dialect)


@functools.lru_cache(maxsize=8)
def _sqlite_insert(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> DriverStatement:
    return _compile(sa.insert(table), table, keys, dialect)


def _store(
    conn: Connection,
    t: sa.Table,
    values: dict[str, Any],
    audit: AuditTrail | None,
    processed_detail: str | None = None,
) -> StoredEnvelope:
    referentienummer, berichtcode = values["referentienummer"], values["berichtcode"]
    cross_ref_nummer, functie, peer_oin = values["cross_ref_nummer"], values["functie"], values["peer_oin"]
    new_id = _insert_ignore(conn, t, values)
    status = "received"
    if new_id is None:
        seen = conn.execute(
            sa.select(t.c.id).where(t.c.referentienummer == referentienummer)
        ).scalar_one_or_none()
        if seen is None and values["retour_of"] is not None:
            new_id = _insert_ignore(
                conn, t, values | {"retour_of": None, "status": "duplicate", "processed_at": None}
            )
            status = "duplicate" if new_id is not None else "redelivery"
        else:
            status = "redelivery"
    if audit is None:
        return StoredEnvelope(new_id, status)
    detail = f"peer OIN {peer_oin}" if status != "redelivery" else _REDELIVERY
    if processed_detail is not None and status == "received":
        event = {
            "referentienummer": referentienummer,
            "cross_ref_nummer": cross_ref_nummer,
            "functie": functie,
        }
        audit.record_many(
            "in",
            berichtcode,
            [event | {"detail": detail}, event | {"detail": processed_detail, "outcome": "processed"}],
            outcome="received",
            conn=conn,
        )
        return StoredEnvelope(new_id, status)
    audit.record(
        "in",
        berichtcode,
        referentienummer=referentienummer,
        cross_ref_nummer=cross_ref_nummer,
        functie=functie,
        outcome=status,
        detail=detail,
        conn=conn,
    )
    return StoredEnvelope(new_id, status)
