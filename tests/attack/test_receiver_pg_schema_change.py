"""Attack on the receiver's PostgreSQL statement made once per kept set of connections (session 7,
``KeptPgConnections.new_entry_statement``): psycopg prepares a statement on the server after a few
runs on one connection, and the statement is now the same object for the receiver's life. An
additive schema change while it serves (a new nullable column, a new column with a default, a
text column made wider: what an additive migration does), and the kept connections ended by the
server right after it, must not lose a message nor store one twice; the next messages are
answered as before. Real HTTPS with mutual TLS, real PostgreSQL on ``$IEB_TEST_POSTGRES_URL``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "transport"))

from test_receiver_pg_kept import _pids, _Running, _send_all, _stored, _terminate
from test_receiver_postgresql_path import _Databases

from ieb.ggk import new_di01
from ieb.testing.pki import TestPki, create_test_pki

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG, reason="IEB_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


@pytest.fixture
def databases() -> Iterator[_Databases]:
    dbs = _Databases()
    yield dbs
    dbs.close()


_CHANGES = [
    "ALTER TABLE inbox ADD COLUMN attack_note TEXT",
    "ALTER TABLE inbox ADD COLUMN attack_flag INTEGER NOT NULL DEFAULT 7",
    "ALTER TABLE audit ADD COLUMN attack_note TEXT",
    "ALTER TABLE inbox ALTER COLUMN berichtcode TYPE VARCHAR(64)",
]


@pytest.mark.parametrize("end_backends", [False, True], ids=["same-connections", "backends-ended"])
def test_an_additive_schema_change_while_serving_loses_and_doubles_nothing(
    pki: TestPki, databases: _Databases, end_backends: bool
) -> None:
    engine = databases.new()
    running = _Running(pki, engine, threads=2)
    try:
        # more than psycopg's prepare threshold (5) per kept connection: the statement is prepared
        before = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(16)]
        assert sorted(_send_all(running, before, workers=2)) == sorted(m.referentienummer for m in before)
        kept = running.kept()
        pids = _pids(kept)
        prepared = 0
        for connection, *_ in kept._free:  # idle kept connections: asked between requests
            prepared += connection.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
        assert prepared >= 1, "psycopg did not prepare the store statement: nothing was attacked"
        with engine.begin() as conn:
            for change in _CHANGES:
                conn.execute(sa.text(change))
        if end_backends:
            _terminate(databases, pids)
        after = [new_di01(b"<y/>", "WMO401", "0363") for _ in range(16)]
        assert sorted(_send_all(running, after, workers=2)) == sorted(m.referentienummer for m in after)
        again = after[:4]  # redeliveries after the change: answered, not stored again
        assert sorted(_send_all(running, again, workers=2)) == sorted(m.referentienummer for m in again)
        stored = _stored(engine)
        assert set(stored) == {m.referentienummer for m in before + after}
        redelivered = {m.referentienummer for m in again}
        for ref, outcomes in stored.items():
            assert outcomes[:2] == ["received", "processed"], (ref, outcomes)
            assert len(outcomes) == (3 if ref in redelivered else 2), (ref, outcomes)
        with engine.connect() as conn:
            flags = conn.execute(sa.text("SELECT DISTINCT attack_flag FROM inbox")).scalars().all()
        assert flags == [7]
    finally:
        running.stop()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("ALTER TABLE inbox ALTER COLUMN id TYPE BIGINT", id="inbox-id-bigint"),
        pytest.param(
            "ALTER TABLE inbox ALTER COLUMN received_at TYPE TIMESTAMP(3) WITH TIME ZONE",
            id="received_at-precision",
        ),
    ],
)
def test_a_column_type_change_while_serving_does_not_refuse_every_message_after_it(
    pki: TestPki, databases: _Databases, change: str
) -> None:
    """A migration that changes the type of a column the statements return (inbox.id to BIGINT for
    a large inbox) made the statement psycopg had prepared on each kept connection fail for good:
    "cached plan must not change result type" (SQLSTATE 0A000). Before the fix the receiver answered
    EVERY later message StUF058 until it was restarted (nothing lost: the senders retried in vain).
    Such a statement wrote nothing; it is sent once more on a new connection."""
    engine = databases.new()
    running = _Running(pki, engine, threads=2)
    try:
        before = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(16)]
        assert sorted(_send_all(running, before, workers=2)) == sorted(m.referentienummer for m in before)
        again = before[:12]  # redeliveries: past the prepare threshold for the status read too
        assert sorted(_send_all(running, again, workers=2)) == sorted(m.referentienummer for m in again)
        with engine.begin() as conn:
            conn.execute(sa.text(change))
        after = [new_di01(b"<y/>", "WMO401", "0363") for _ in range(8)]
        assert sorted(_send_all(running, after, workers=2)) == sorted(m.referentienummer for m in after)
        assert sorted(_send_all(running, again, workers=2)) == sorted(m.referentienummer for m in again)
        stored = _stored(engine)
        assert set(stored) == {m.referentienummer for m in before + after}
        redelivered = {m.referentienummer for m in again}
        for ref, outcomes in stored.items():
            expected = ["received", "processed"] + ["redelivery"] * (2 if ref in redelivered else 0)
            assert outcomes == expected, (ref, outcomes)
    finally:
        running.stop()


@pytest.mark.parametrize("reset", ["DEALLOCATE ALL", "DISCARD ALL"])
def test_prepared_statements_dropped_behind_psycopgs_back_do_not_refuse_every_message(
    pki: TestPki, databases: _Databases, reset: str
) -> None:
    """What a connection pooler in front of PostgreSQL may do (PgBouncer's reset query, a
    transaction-mode pooler handing the session another server connection): the statements psycopg
    prepared are gone while psycopg still names them ("prepared statement _pg3_0 does not exist",
    SQLSTATE 26000). Sent through libpq, so psycopg does not notice. Before the fix every later
    message was answered StUF058 until the receiver was restarted."""
    engine = databases.new()
    running = _Running(pki, engine, threads=1)
    try:
        before = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(10)]
        assert sorted(_send_all(running, before, workers=1)) == sorted(m.referentienummer for m in before)
        kept = running.kept()
        assert len(kept._free) == 1
        for connection, *_ in kept._free:
            connection.pgconn.exec_(reset.encode())  # libpq directly: psycopg keeps its names
        after = [new_di01(b"<y/>", "WMO401", "0363") for _ in range(4)]
        assert sorted(_send_all(running, after, workers=1)) == sorted(m.referentienummer for m in after)
        stored = _stored(engine)
        assert set(stored) == {m.referentienummer for m in before + after}
        assert all(outcomes == ["received", "processed"] for outcomes in stored.values()), stored
    finally:
        running.stop()
