"""Issue 22 (RECV round 7): on a SQLite file the receiver keeps ONE sqlite3 connection, outside the
engine's pool, for its one-transaction store (``inbox.kept_sqlite_connection``), used only under
the engine's write lock. No pool checkout per message; the rows are those of the pooled path
(test_receiver_sqlite_path.py compares them with the Core path); an in-memory database keeps using
its one shared connection; concurrent requests are each stored once; the connection is closed
when the receiver is collected."""

from __future__ import annotations

import gc
import io
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ieb.ggk import build, new_di01
from ieb.transport.inbox import kept_sqlite_connection
from ieb.transport.outbox import open_ledger
from ieb.transport.server import Receiver

WMO = b'<?xml version="1.0" encoding="UTF-8"?><a>wmo401</a>'


def _post(app: Receiver, envelope: bytes) -> str:
    body = envelope
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "1",
    }
    status: list[str] = []
    b"".join(app(environ, lambda s, _h: status.append(s)))
    return status[0]


def _di01s(n: int) -> list[bytes]:
    return [build(new_di01(WMO, "WMO401", "0363")) for _ in range(n)]


def _rows(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        inbox = conn.execute(sa.text("SELECT count(*) FROM inbox WHERE status = 'processed'")).scalar_one()
        audit = conn.execute(sa.text("SELECT count(*) FROM audit")).scalar_one()
    return int(inbox), int(audit)


def test_a_file_database_is_stored_without_a_pool_checkout_per_message(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'r.sqlite'}")
    checkouts: list[int] = []
    event.listen(engine, "checkout", lambda *_a: checkouts.append(1))
    app = Receiver(engine, organisatie="0363")
    messages = _di01s(5)
    assert _post(app, messages[0]).startswith("200")
    first = len(checkouts)
    for data in messages[1:]:
        assert _post(app, data).startswith("200")
    assert len(checkouts) == first  # the next four: not one checkout
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _rows(engine) == (5, 10)
    assert _post(app, messages[2]).startswith("200")  # a redelivery: acknowledged, one audit row
    assert _rows(engine) == (5, 11)
    engine.dispose()


def test_concurrent_requests_share_the_kept_connection_under_the_write_lock(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'r.sqlite'}")
    app = Receiver(engine, organisatie="0363")
    messages = _di01s(40)
    statuses: list[str] = []

    def send(part: list[bytes]) -> None:
        for data in part:
            statuses.append(_post(app, data))

    threads = [threading.Thread(target=send, args=(messages[i::4] + messages[i::8],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s.startswith("200") for s in statuses) and len(statuses) == 40 + 20
    inbox, audit = _rows(engine)
    assert inbox == 40 and audit == 40 * 2 + 20  # each stored once; each repeat one redelivery row
    engine.dispose()


def test_an_in_memory_database_keeps_its_one_shared_connection() -> None:
    engine = open_ledger("sqlite://")
    assert kept_sqlite_connection(engine) is None
    app = Receiver(engine, organisatie="0363")
    for data in _di01s(3):
        assert _post(app, data).startswith("200")
    assert _rows(engine) == (3, 6)


def test_the_kept_connection_is_closed_with_the_receiver(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'r.sqlite'}")
    app = Receiver(engine, organisatie="0363")
    assert _post(app, _di01s(1)[0]).startswith("200")
    connection: Any = app.__dict__["_kept_sqlite_connection"][1]
    assert isinstance(connection, sqlite3.Connection)
    connection.execute("SELECT 1")
    del app
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
    engine.dispose()


def test_a_locked_database_answers_503_and_the_kept_connection_works_afterwards(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    engine = open_ledger(f"sqlite:///{path}")
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 100")

    app = Receiver(engine, organisatie="0363")
    first, second = _di01s(2)
    assert _post(app, first).startswith("200")
    blocker = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        assert _post(app, second).startswith("503")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert _post(app, second).startswith("200")
    assert _rows(engine) == (2, 4)
    engine.dispose()
