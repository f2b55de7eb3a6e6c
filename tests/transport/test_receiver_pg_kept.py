"""The receiver on PostgreSQL keeps its psycopg connections out of the engine's pool
(``ieb.transport.inbox.KeptPgConnections``, issue 22 RECV round 8). The round-6 recovery holds for
them: a kept connection the server ends between requests or in the middle of a statement, one
dropped while idle, and a database that goes away and comes back never stop the receiver, and
every message offered is stored exactly once (answered 503/StUF058 while it cannot be stored).
At most one kept connection per server thread; none left once the server stops and the engine is
disposed, or the receiver is collected. Real HTTPS with mutual TLS, real PostgreSQL on
``$IEB_TEST_POSTGRES_URL`` (each test makes its own database)."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from test_receiver_postgresql_path import _Databases
from test_receiver_sqlite_path import _der, _post

from ieb.ggk import Di01, build, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.errors import TransientSendError
from ieb.transport.httpd import HttpsServer
from ieb.transport.inbox import KeptPgConnections
from ieb.transport.outbox import ledger_tables
from ieb.transport.server import Receiver, wait_until
from ieb.transport.tls import TlsFiles

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


def _tls(pki: TestPki, code: str) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


class _Running:
    """A Receiver on ``engine`` behind a real HTTPS server with ``threads`` worker threads."""

    def __init__(self, pki: TestPki, engine: sa.Engine, threads: int = 4) -> None:
        self.engine = engine
        self.app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        self.server = HttpsServer(self.app, _tls(pki, "0363"), threads=threads).start()
        self.tls = _tls(pki, "GGK")
        self.client = GgkClient(self.server.url, tls=self.tls)

    def kept(self) -> KeptPgConnections:
        kept: KeptPgConnections = self.app._kept_pg(self.engine)
        return kept

    def send(self, di01: Di01) -> str:
        """The Bv03's crossRefnummer."""
        return str(self.client.send(build(di01)).bv03.cross_refnummer)

    def stop(self) -> None:
        self.client.close()
        self.server.stop()


def _pids(kept: KeptPgConnections) -> set[int]:
    return {int(connection.info.backend_pid) for connection, *_ in kept._free}


def _backends(databases: _Databases, engine: sa.Engine) -> list[tuple[int, str | None, str | None]]:
    """(pid, wait_event_type, query) of every server process of ``engine``'s database."""
    with databases.admin.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, wait_event_type, query FROM pg_stat_activity"
                " WHERE datname = :d AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ),
            {"d": engine.url.database},
        ).all()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def _terminate(databases: _Databases, pids: set[int]) -> None:
    with databases.admin.connect() as conn:
        for pid in pids:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid}).scalar_one()


def _stored(engine: sa.Engine) -> dict[str, list[str]]:
    """referentienummer -> the outcomes of its audit rows, for every inbox row (one row each)."""
    t = ledger_tables()
    with engine.connect() as conn:
        refs = conn.execute(sa.select(t.inbox.c.referentienummer)).scalars().all()
        audit = conn.execute(
            sa.select(t.audit.c.referentienummer, t.audit.c.outcome).order_by(t.audit.c.id)
        ).all()
    assert len(refs) == len(set(refs)), "a message was stored twice"
    out: dict[str, list[str]] = {r: [] for r in refs}
    for ref, outcome in audit:
        out.setdefault(ref, []).append(outcome)
    return out


def _send_all(running: _Running, messages: list[Di01], workers: int) -> list[str]:
    answers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(part: list[Di01]) -> None:
        try:
            with GgkClient(running.server.url, tls=running.tls) as client:
                for m in part:
                    ref = str(client.send(build(m)).bv03.cross_refnummer)
                    with lock:
                        answers.append(ref)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(messages[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return answers


def test_kept_connections_ended_between_requests_are_replaced_and_each_message_stored_once(
    pki: TestPki, databases: _Databases
) -> None:
    engine = databases.new()
    running = _Running(pki, engine, threads=4)
    try:
        first = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(12)]
        assert sorted(_send_all(running, first, workers=4)) == sorted(m.referentienummer for m in first)
        kept = running.kept()
        pids = _pids(kept)
        assert 1 <= len(pids) <= 4  # at most one per server thread
        _terminate(databases, pids)
        then = [new_di01(b"<y/>", "WMO401", "0363") for _ in range(12)]
        assert sorted(_send_all(running, then, workers=4)) == sorted(m.referentienummer for m in then)
        assert not _pids(kept) & pids  # the ended ones are gone, new ones kept
        assert 1 <= len(_pids(kept)) <= 4
        stored = _stored(engine)
        assert set(stored) == {m.referentienummer for m in first + then}
        assert all(outcomes == ["received", "processed"] for outcomes in stored.values()), stored
    finally:
        running.stop()


def test_a_kept_connection_ended_in_the_middle_of_its_statement_stores_the_message_once(
    pki: TestPki, databases: _Databases
) -> None:
    """The store waits on a lock; the server ends its backend meanwhile (pg_terminate_backend from
    another connection): the statement is sent once more on a new connection, the answer is the
    Bv03 and the message is stored once with the audit rows of an untroubled request."""
    engine = databases.new()
    running = _Running(pki, engine, threads=2)
    try:
        assert running.send(warm := new_di01(b"<x/>", "WMO401", "0363")) == warm.referentienummer
        [pid] = _pids(running.kept())
        message = new_di01(b"<y/>", "WMO401", "0363")
        answers: list[Any] = []
        with engine.connect() as locker:
            locker.execute(sa.text("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE"))
            sender = threading.Thread(target=lambda: answers.append(running.send(message)))
            sender.start()
            assert wait_until(
                lambda: any(p == pid and w == "Lock" for p, w, _ in _backends(databases, engine)), 20
            ), "the kept connection never waited on the lock"
            _terminate(databases, {pid})
            assert wait_until(lambda: pid not in {p for p, _, _ in _backends(databases, engine)}, 20)
            locker.rollback()
        sender.join(30)
        assert answers == [message.referentienummer]
        assert _stored(engine) == {
            warm.referentienummer: ["received", "processed"],
            message.referentienummer: ["received", "processed"],
        }
        assert pid not in _pids(running.kept())
    finally:
        running.stop()


def test_a_kept_connection_dropped_while_idle_is_replaced(pki: TestPki, databases: _Databases) -> None:
    """The server drops idle sessions (``idle_session_timeout``): the next request finds its kept
    connection gone and is stored, once, on a new one."""
    engine = databases.new()
    sa.event.listen(
        engine, "connect", lambda dbapi, _rec: dbapi.execute("SET idle_session_timeout = '200ms'") and None
    )
    engine.dispose()
    running = _Running(pki, engine, threads=2)
    try:
        assert running.send(first := new_di01(b"<x/>", "WMO401", "0363")) == first.referentienummer
        [pid] = _pids(running.kept())
        assert wait_until(lambda: pid not in {p for p, _, _ in _backends(databases, engine)}, 30)
        assert running.send(then := new_di01(b"<y/>", "WMO401", "0363")) == then.referentienummer
        assert _stored(engine) == {
            first.referentienummer: ["received", "processed"],
            then.referentienummer: ["received", "processed"],
        }
    finally:
        running.stop()


def test_a_database_that_goes_away_and_comes_back_gets_each_message_once(
    pki: TestPki, databases: _Databases
) -> None:
    """What a restart looks like to the receiver: every connection ended and no new one accepted
    for a while (``ALLOW_CONNECTIONS false``): the sender is answered the retryable 503/StUF058 and
    nothing is stored; once the database is back the same message offered again is stored once,
    and the receiver carries on."""
    engine = databases.new()
    name = engine.url.database
    running = _Running(pki, engine, threads=2)
    try:
        assert running.send(first := new_di01(b"<x/>", "WMO401", "0363")) == first.referentienummer
        message = new_di01(b"<y/>", "WMO401", "0363")
        with databases.admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        try:
            _terminate(databases, {p for p, _, _ in _backends(databases, engine)})
            with pytest.raises(TransientSendError):
                running.send(message)
            with pytest.raises(TransientSendError):
                running.send(message)
        finally:
            with databases.admin.connect() as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert _stored(engine) == {first.referentienummer: ["received", "processed"]}
        assert running.send(message) == message.referentienummer
        assert running.send(message) == message.referentienummer  # a redelivery
        assert running.send(last := new_di01(b"<z/>", "WMO401", "0363")) == last.referentienummer
        assert _stored(engine) == {
            first.referentienummer: ["received", "processed"],
            message.referentienummer: ["received", "processed", "redelivery"],
            last.referentienummer: ["received", "processed"],
        }
    finally:
        running.stop()


def test_no_connection_is_left_when_the_server_stops_and_the_engine_is_disposed(
    pki: TestPki, databases: _Databases
) -> None:
    engine = databases.new()
    running = _Running(pki, engine, threads=3)
    try:
        messages = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(9)]
        _send_all(running, messages, workers=3)
        assert 1 <= len(running.kept()) <= 3
    finally:
        running.stop()
    engine.dispose()
    assert wait_until(lambda: not _backends(databases, engine), 20), _backends(databases, engine)
    # the engine works on after its dispose, and a new kept connection is made
    running = _Running(pki, engine, threads=1)
    try:
        assert running.send(again := new_di01(b"<y/>", "WMO401", "0363")) == again.referentienummer
        assert len(running.kept()) == 1
    finally:
        running.stop()
    assert len(_stored(engine)) == 10


def test_the_kept_connections_are_closed_when_the_receiver_is_collected(
    pki: TestPki, databases: _Databases
) -> None:
    engine = databases.new()
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    assert _post(app, _der(pki), build(new_di01(b"<x/>", "WMO401", "0363")))[0] == "200 OK"
    [pid] = _pids(app._kept_pg(engine))
    engine.pool.dispose()  # only the pool's own connections (no engine_disposed event)
    del app
    gc.collect()
    assert wait_until(lambda: pid not in {p for p, _, _ in _backends(databases, engine)}, 20)
