"""The receiver on PostgreSQL (psycopg 3) stores a request in ONE transaction on the pooled DBAPI
connection (``ieb.transport.inbox.store_processed_postgresql``, issue 22 transport round 5), and
writes exactly the rows the SQLAlchemy Core path writes: a differential test on the shared server
named by ``$IEB_TEST_POSTGRES_URL`` (each test makes its own databases and drops them)."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_receiver_sqlite_path import CoreReceiver, _der, _post, _requests, _soap, _verdict

from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import inbox as inbox_module
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.server import Receiver
from tests.pgdb import create_database

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG, reason="IEB_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


class _Databases:
    """Fresh PostgreSQL databases on the shared server, dropped at the end."""

    def __init__(self) -> None:
        assert PG is not None
        self.admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []
        self.engines: list[sa.Engine] = []

    def new(self) -> sa.Engine:
        assert PG is not None
        url = create_database(PG, "ieb_recvpg_")
        self.names.append(sa.make_url(url).database or "")
        engine = open_ledger(url)
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        self.admin.dispose()


@pytest.fixture(scope="module")
def databases() -> Iterator[_Databases]:
    dbs = _Databases()
    yield dbs
    dbs.close()


def _moment(value: object) -> object:
    """A timestamp's shape (aware datetime in UTC), not its value: the runs happen at other moments."""
    if isinstance(value, dt.datetime):
        return ("datetime", value.tzinfo is not None and value.utcoffset() == dt.timedelta(0))
    return value


def _dump(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every inbox and audit row (every column but ``id``, in id order), timestamps by shape. The
    ids themselves may differ: a PostgreSQL sequence value is used up by an INSERT that is rolled
    back (the fast path's attempt at a second retour before it leaves that case to the Core path),
    as by every redelivery's INSERT ... ON CONFLICT DO NOTHING on both paths."""
    tables = ledger_tables()
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in (tables.inbox, tables.audit):
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
            out[table.name] = [
                tuple(
                    (name, _moment(v) if name in ("received_at", "processed_at", "at") else v)
                    for name, v in r._mapping.items()
                    if name != "id"
                )
                for r in rows
            ]
    return out


def test_the_postgresql_path_writes_the_rows_the_core_path_writes(
    pki: TestPki, databases: _Databases
) -> None:
    der = _der(pki)
    requests = _requests()
    real = inbox_module.store_processed_postgresql
    dumps, answers = [], []
    for cls in (Receiver, CoreReceiver):
        engine = databases.new()
        statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a, seen=statements: seen.append(a[2]))
        app = cls(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        with mock.patch.object(inbox_module, "store_processed_postgresql", side_effect=real) as fast:
            answers.append([_verdict(*_post(app, der, r)) for r in requests])
        dumps.append(_dump(engine))
        if cls is Receiver:  # the fast path stored the new ones, outside SQLAlchemy's execution
            assert fast.call_count == len(requests)
            # only the second retour's first arrival (a duplicate row) is left to the Core path
            assert sum(s.startswith("INSERT INTO inbox") for s in statements) == 2
        else:
            assert fast.call_count == 0
    assert answers[0] == answers[1]
    assert [a[0] for a in answers[0]] == ["200 OK"] * len(requests)
    assert dumps[0] == dumps[1]
    statuses = [dict(r)["status"] for r in dumps[0]["inbox"]]
    assert statuses == ["processed", "processed", "processed", "duplicate"]
    outcomes = [dict(r)["outcome"] for r in dumps[0]["audit"]]
    assert outcomes.count("redelivery") == 4  # the three again, and the second retour once more


@pytest.fixture(scope="module")
def both(pki: TestPki, databases: _Databases) -> tuple[Receiver, Receiver]:
    oins = {pki.party("GGK").oin}
    return (
        Receiver(databases.new(), organisatie="0363", allowed_oins=oins),
        CoreReceiver(databases.new(), organisatie="0363", allowed_oins=oins),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 6), seed=st.integers(0, 2**32 - 1), again=st.booleans(), hostile=st.booleans())
def test_hostile_and_repeated_requests_get_the_same_verdict_and_rows_on_postgresql(
    pki: TestPki, both: tuple[Receiver, Receiver], which: int, seed: int, again: bool, hostile: bool
) -> None:
    """As the SQLite differential test: a Di01, Du01, Fo01 or second retour, or a hostile mutation
    of one, and the same body once more: the same answers and the same rows on both paths."""
    from ieb.testing.hostile import mutate

    fast, core = both
    der = _der(pki)
    body = _soap(_requests()[which])
    if hostile:
        body = mutate(body, random.Random(seed))
    for _ in range(2 if again else 1):
        assert _verdict(*_post(fast, der, body, raw=True)) == _verdict(*_post(core, der, body, raw=True))
    assert _dump(fast.engine) == _dump(core.engine)


def _end_backends(databases: _Databases, engine: sa.Engine) -> None:
    """End every server process of ``engine``'s database (its pooled connections), and wait until
    they are gone (``pg_terminate_backend`` with a timeout). Client backends only: an autovacuum
    worker on the new database is the superuser's, which ``ieb`` may not end (a CI run failed so)."""
    with databases.admin.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE datname = :d AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ),
            {"d": engine.url.database},
        ).all()
    assert ended and all(r[0] for r in ended)


@pytest.mark.parametrize("cls", [Receiver, CoreReceiver])
def test_a_lost_connection_is_replaced_and_the_request_stored_once(
    pki: TestPki, databases: _Databases, cls: type[Receiver]
) -> None:
    """The server ends the receiver's pooled connection between two requests: the next request is
    stored on a new connection, on both paths alike, once (the Core path: the pool's ping on
    checkout; the fast path, which skips that ping: its statement fails on the lost connection,
    which is replaced, and the statement is sent again), with exactly the audit rows of a request
    that met no trouble."""
    from ieb.ggk import build, new_di01

    engine = databases.new()
    app = cls(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    der = _der(pki)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert _post(app, der, build(new_di01(b"<x/>", "WMO401", "0363")))[0] == "200 OK"  # pooled now
    _end_backends(databases, engine)
    request = build(new_di01(b"<y/>", "WMO401", "0363"))
    with mock.patch.object(
        inbox_module, "store_processed_postgresql", side_effect=inbox_module.store_processed_postgresql
    ) as fast:
        assert _post(app, der, request)[0] == "200 OK"
        assert _post(app, der, request)[0] == "200 OK"  # a redelivery
    assert fast.call_count == (2 if cls is Receiver else 0)
    if cls is Receiver:
        assert statements == []  # neither request went to the Core path
    tables = ledger_tables()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)).scalar_one() == 2
        outcomes = conn.execute(sa.select(tables.audit.c.outcome).order_by(tables.audit.c.id)).scalars().all()
    assert outcomes == ["received", "processed", "received", "processed", "redelivery"]


def test_a_pooled_connection_the_server_ended_is_replaced_on_checkout(databases: _Databases) -> None:
    """The engine pings a pooled connection when it hands it out: a plain ``engine.connect()``
    after the server ended the pooled connection is handed a new, working one."""
    engine = databases.new()
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    _end_backends(databases, engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != first


def test_a_database_error_gets_the_same_answer_on_both_paths_and_stores_nothing(
    pki: TestPki, databases: _Databases
) -> None:
    """The inbox is locked by another transaction beyond the receiver's lock_timeout: the error
    raised inside the psycopg transaction is SQLAlchemy's, so both paths answer alike; nothing is
    stored, and the resend after the lock is stored once."""
    from ieb.ggk import build, new_di01

    der = _der(pki)
    answers = []
    for cls in (Receiver, CoreReceiver):
        engine = databases.new()
        sa.event.listen(
            engine, "connect", lambda dbapi, _rec: dbapi.execute("SET lock_timeout = '150ms'") and None
        )
        engine.dispose()
        app = cls(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        request = build(new_di01(b"<x/>", "WMO401", "0363"))
        with engine.connect() as locker:
            locker.execute(sa.text("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE"))
            status, body = _post(app, der, request)
            locker.rollback()
        answers.append((status, b"StUF058" in body))
        assert _post(app, der, request)[0] == "200 OK"
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(ledger_tables().inbox)).scalar_one() == 1
            )
    assert answers[0] == answers[1]
    assert not answers[0][0].startswith("200")


def test_a_new_request_is_one_statement_and_one_round_trip(pki: TestPki, databases: _Databases) -> None:
    """Counted on the psycopg connection: a new Di01 costs the receiver ONE statement (the inbox
    row and both audit rows) and nothing else: no ping, no BEGIN, no COMMIT (autocommit); a
    redelivery two more (the stored status, its audit row)."""
    import psycopg

    from ieb.ggk import build, new_di01

    engine = databases.new()
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    der = _der(pki)
    assert _post(app, der, build(new_di01(b"<x/>", "WMO401", "0363")))[0] == "200 OK"  # pooled now
    sent: list[str] = []
    real_execute, real_exec_command = psycopg.Cursor.execute, psycopg.Connection._exec_command

    def execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query).split(" ", 1)[0])
        return real_execute(cur, query, *args, **kwargs)

    def exec_command(conn: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(bytes(command).decode().split(" ", 1)[0])  # BEGIN, COMMIT, ROLLBACK
        return real_exec_command(conn, command, *args, **kwargs)

    request = build(new_di01(b"<y/>", "WMO401", "0363"))
    with (
        mock.patch.object(psycopg.Cursor, "execute", execute),
        mock.patch.object(psycopg.Connection, "_exec_command", exec_command),
    ):
        assert _post(app, der, request)[0] == "200 OK"
        assert sent == ["WITH"]
        sent.clear()
        assert _post(app, der, request)[0] == "200 OK"
        assert sent == ["WITH", "SELECT", "INSERT"]
