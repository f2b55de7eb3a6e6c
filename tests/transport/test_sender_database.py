"""Issue 21 item 2: the sender survives its database. A real SQLite write lock held by another
connection makes every claim fail with "database is locked"; the workers back off, report
``degraded`` with the cause, and send everything once the lock is gone, or give up after the
configured time so a supervisor restarts the process."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ggk import build, bv03_for, new_di01, parse
from ieb.transport.client import SendResult
from ieb.transport.outbox import Outbox, open_ledger
from ieb.transport.sender import RetryPolicy, Sender

POLICY = RetryPolicy(
    max_attempts=5,
    attempts_per_claim=2,
    backoff_initial=0.001,
    backoff_max=0.01,
    requeue_initial=0.01,
    requeue_max=0.05,
    db_backoff_initial=0.05,
    db_backoff_max=0.2,
    give_up_seconds=60.0,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[sa.Engine, Path]]:
    path = tmp_path / "locked.sqlite"
    eng = open_ledger(f"sqlite:///{path}")
    eng.dispose()

    @sa.event.listens_for(eng, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 100")  # fail fast instead of waiting 30 s

    yield eng, path
    eng.dispose()


def _fill(engine: sa.Engine, n: int) -> list[str]:
    refs = []
    for _ in range(n):
        di01 = new_di01(b"<x/>", "WMO401", "0363")
        Outbox(engine).enqueue(
            build(di01), referentienummer=di01.referentienummer, afzender="0363", functie="WMO401"
        )
        refs.append(di01.referentienummer)
    return refs


def _ok(envelope: bytes) -> SendResult:
    return SendResult(bv03=bv03_for(parse(envelope)), status=200, seconds=0.0)


class _Lock:
    """Another process's write lock on the SQLite file, held until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_a_locked_database_degrades_the_sender_and_it_recovers_by_itself(db: tuple[sa.Engine, Path]) -> None:
    engine, path = db
    refs = _fill(engine, 20)
    lock = _Lock(path)
    sender = Sender(Outbox(engine), _ok, policy=POLICY)
    box: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: box.setdefault("r", sender.drain(workers=4, timeout=60)))
    runner.start()
    seen: dict[str, Any] = {}
    for _ in range(200):
        health = sender.health()
        if health["state"] == "degraded":
            seen = health
            break
        time.sleep(0.02)
    assert seen["state"] == "degraded" and "database" in seen["cause"] and "locked" in seen["cause"]
    assert seen["workers_alive"] == 4  # backing off, not dead
    time.sleep(0.5)
    lock.release()
    runner.join(60)
    result = box["r"]
    assert result.acknowledged == 20 and result.gave_up is None
    assert Outbox(engine).counts()["acknowledged"] == 20
    assert {r["referentienummer"] for r in _rows(engine)} == set(refs)
    assert sender.health_state.db_errors > 0 and sender.health()["state"] == "stopped"


def test_the_sender_gives_up_after_the_configured_time_and_says_why(db: tuple[sa.Engine, Path]) -> None:
    engine, path = db
    _fill(engine, 3)
    lock = _Lock(path)
    causes: list[str] = []
    policy = RetryPolicy(db_backoff_initial=0.05, db_backoff_max=0.1, give_up_seconds=1.0)
    sender = Sender(Outbox(engine), _ok, policy=policy, on_give_up=causes.append)
    try:
        result = sender.run_forever(workers=2, idle_seconds=0.05)
    finally:
        lock.release()
    assert result.gave_up is not None and "database" in result.gave_up
    assert len(causes) == 1 and causes[0] == result.gave_up
    assert sender.alive == 0 and sender.health()["state"] == "stopped"
    assert Outbox(engine).counts()["pending"] == 3  # nothing lost: the rows wait for the next run


def _rows(engine: sa.Engine) -> list[dict[str, Any]]:
    from ieb.ledger.schema import outbox

    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(outbox))]


def test_a_database_call_that_hangs_counts_as_degraded() -> None:
    """A locked SQLite makes a call wait up to its busy timeout (30 s) before it fails: health says
    so while it waits, not only afterwards."""
    from ieb.transport.sender import SenderHealth

    now = [100.0]
    health = SenderHealth(clock=lambda: now[0])
    health.enter()
    now[0] += 4.0
    assert health.as_dict()["state"] == "ok"
    now[0] += 2.0
    seen = health.as_dict()
    assert seen["state"] == "degraded" and "reageert" in seen["cause"] and seen["degraded_seconds"] == 6.0
    health.leave()
    health.ok()
    assert health.as_dict()["state"] == "ok"
