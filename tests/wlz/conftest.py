"""Fixtures of the Wlz-signalen tests: the exchange fixtures of tests/exchange (test PKI, config),
a fixed day, and an in-process loop through the simulator's app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from ieb.exchange import Exchange
from ieb.testing.pki import TestPki
from tests.exchange.conftest import make_config, pki
from tests.ledger.conftest import db_url, ledger_db_url
from tests.migrated import migrated_sqlite_file

__all__ = [
    "TODAY",
    "db_url",
    "ledger_db_url",
    "make_config",
    "pki",
    "plan_and_send",
    "send_through_simulator",
]

#: the fixed "today" of these tests (no wall clock)
TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def one(pki: TestPki, tmp_path: Path) -> Iterator[Exchange]:
    """An exchange for gemeente 0363 alone on a fresh SQLite database."""
    ex = Exchange(make_config(pki, migrated_sqlite_file(tmp_path / "ieb.sqlite")))
    yield ex
    ex.close()


def send_through_simulator(exchange: Exchange, pki: TestPki, cak_db: Path, *, today: dt.date) -> int:
    """Send the outbox to the simulator's app in-process and deliver its retours back, round after
    round (a stop waits for its start's retour, per-person order); returns the number of
    heenberichten acknowledged."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from ieb.ledger import open_database
    from ieb.simulator.server import GgkSimulator
    from ieb.testing.inprocess import InProcessTransport
    from ieb.transport.outbox import Outbox
    from ieb.transport.pki import load_certificates
    from ieb.transport.sender import Sender

    der = {c: load_certificates(pki.party(c).cert)[0].public_bytes(Encoding.DER) for c in ("0363", "GGK")}
    sim_engine = open_database(f"sqlite:///{cak_db}")
    simulator = GgkSimulator(sim_engine, today=today)
    simulator.start()
    total = 0
    try:
        for _ in range(5):
            sent = Sender(
                exchange.outbox(),
                InProcessTransport(simulator, peer_cert=der["0363"]),
                policy=exchange.retry_policy,
            ).drain(workers=1, timeout=600)
            if sent.acknowledged == 0:
                break
            total += sent.acknowledged
            simulator._queue.join()  # the CAK side has answered
            callbacks = Sender(
                Outbox(sim_engine),
                InProcessTransport(exchange.receiver(), peer_cert=der["GGK"]),
                policy=exchange.retry_policy,
            ).drain(workers=1, timeout=600)
            assert callbacks.acknowledged == sent.acknowledged
    finally:
        simulator.stop()
        sim_engine.dispose()
    return total


def plan_and_send(
    exchange: Exchange,
    records: list[dict[str, str]],
    pki: TestPki,
    cak_db: Path,
    *,
    today: dt.date,
    chunk: int = 60,
) -> int:
    """Plan, queue and send ``records`` in chunks of ``chunk`` persons; returns the number of
    heenberichten acknowledged."""
    total = 0
    for i in range(0, len(records), chunk):
        exchange.queue(exchange.plan(records[i : i + chunk], today=today))
        total += send_through_simulator(exchange, pki, cak_db, today=today)
    return total
