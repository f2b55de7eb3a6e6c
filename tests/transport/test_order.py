"""Issue 21 item 1: one person's messages go out one at a time, in order, and a message is sent
only after the earlier one of the same person was acknowledged AND accepted by its retour."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ggk import build, bv03_for, new_di01, parse
from ieb.store.schema import deliveries
from ieb.transport.client import SendResult
from ieb.transport.outbox import Outbox, open_ledger, utcnow
from ieb.transport.sender import RetryPolicy, Sender
from tests.migrated import migrated_sqlite_url

FAST = RetryPolicy(
    max_attempts=5,
    attempts_per_claim=2,
    backoff_initial=0.001,
    backoff_max=0.01,
    requeue_initial=0.01,
    requeue_max=0.05,
)
BSN_P, BSN_Q = "999900006", "999900018"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_ledger(migrated_sqlite_url(tmp_path / "order.sqlite"))
    yield eng
    eng.dispose()


_ids = iter(range(1, 10**6))


def _queue(engine: sa.Engine, bsn: str, bericht: str = "WMO401", afzender: str = "0363") -> str:
    """A ledger delivery for ``bsn`` and its envelope in the outbox (as Exchange.queue does)."""
    ident = f"{next(_ids):012d}"
    with engine.begin() as conn:
        conn.execute(
            sa.insert(deliveries).values(
                afzender=afzender,
                identificatie=ident,
                dagtekening=dt.date(2026, 1, 5),
                bericht=bericht,
                bsn=bsn,
                eb_start_nummer=1,
                status="1",
                datum=dt.date(2026, 1, 1),
                outcome="pending",
                release="ieb-1.0",
            )
        )
    di01 = new_di01(b"<x/>", bericht, afzender)
    Outbox(engine).enqueue(
        build(di01),
        referentienummer=di01.referentienummer,
        afzender=afzender,
        functie=bericht,
        payload=b"<x/>",
        bericht_identificatie=ident,
    )
    return di01.referentienummer


def _retour(engine: sa.Engine, ref: str, outcome: str, codes: str | None = None) -> None:
    """What the retour handler does: the delivery of ``ref`` gets its outcome."""
    from ieb.store.schema import outbox

    with engine.begin() as conn:
        row = conn.execute(
            sa.select(outbox.c.afzender, outbox.c.bericht_identificatie).where(
                outbox.c.referentienummer == ref
            )
        ).one()
        conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.afzender == row.afzender, deliveries.c.identificatie == row.bericht_identificatie
            )
            .values(outcome=outcome, retour_codes=codes, retour_at=utcnow())
        )


def _ok(envelope: bytes) -> SendResult:
    return SendResult(bv03=bv03_for(parse(envelope)), status=200, seconds=0.0)


def test_a_stop_waits_for_the_accepted_retour_of_its_start(engine: sa.Engine) -> None:
    start = _queue(engine, BSN_P)
    stop = _queue(engine, BSN_P, "WMO403")
    other = _queue(engine, BSN_Q)
    sent: list[str] = []

    def record(envelope: bytes) -> SendResult:
        sent.append(parse(envelope).referentienummer)
        return _ok(envelope)

    first = Sender(Outbox(engine), record, policy=FAST).drain(workers=4, timeout=30)
    assert sorted(sent) == sorted([start, other])  # the stop did not go out
    assert first.acknowledged == 2 and first.waiting == 1
    [(ref, reason)] = Outbox(engine).waiting()
    assert ref == stop and start in reason and "retour" in reason

    second = Sender(Outbox(engine), record, policy=FAST).drain(workers=4, timeout=30)
    assert second.acknowledged == 0  # acknowledged is not enough: the retour must accept it

    _retour(engine, start, "accepted")
    third = Sender(Outbox(engine), record, policy=FAST).drain(workers=4, timeout=30)
    assert third.acknowledged == 1 and sent[-1] == stop and third.waiting == 0


def test_a_rejected_start_holds_its_stop_with_a_clear_reason_and_blocks_nothing_later(
    engine: sa.Engine,
) -> None:
    start = _queue(engine, BSN_P)
    stop = _queue(engine, BSN_P, "WMO403")
    Sender(Outbox(engine), _ok, policy=FAST).drain(workers=2, timeout=30)
    _retour(engine, start, "rejected", "9330")
    time.sleep(0.01)
    result = Sender(Outbox(engine), _ok, policy=FAST).drain(workers=2, timeout=30)
    assert result.acknowledged == 0 and result.held == 1
    row = Outbox(engine).find(stop)
    assert row is not None and row["status"] == "failed"
    assert (
        start in row["last_error"] and "afgewezen" in row["last_error"] and "ieb requeue" in row["last_error"]
    )
    with engine.connect() as conn:
        outcome = conn.execute(
            sa.select(deliveries.c.outcome).where(deliveries.c.identificatie == row["bericht_identificatie"])
        ).scalar_one()
    assert outcome == "technical"
    # the clerk fixes the cause and plans again: a new start for the person goes out
    again = _queue(engine, BSN_P)
    later = Sender(Outbox(engine), _ok, policy=FAST).drain(workers=2, timeout=30)
    assert later.acknowledged == 1 and Outbox(engine).find(again)["status"] == "acknowledged"  # type: ignore[index]


def test_never_two_messages_of_one_person_in_flight_with_four_workers(engine: sa.Engine) -> None:
    persons = [f"9999{n:05d}" for n in range(30)]
    order: dict[str, list[str]] = {}
    for bsn in persons:
        order[bsn] = [_queue(engine, bsn), _queue(engine, bsn, "WMO403"), _queue(engine, bsn, "WMO403")]
    person_of = {ref: bsn for bsn, refs in order.items() for ref in refs}
    in_flight: Counter[str] = Counter()
    worst = Counter[str]()
    sent: list[str] = []
    lock = threading.Lock()

    def send(envelope: bytes) -> SendResult:
        ref = parse(envelope).referentienummer
        bsn = person_of[ref]
        with lock:
            in_flight[bsn] += 1
            worst[bsn] = max(worst[bsn], in_flight[bsn])
            sent.append(ref)
        time.sleep(0.002)
        _retour(engine, ref, "accepted")  # the CAK accepts (its retour is processed at once)
        with lock:
            in_flight[bsn] -= 1
        return _ok(envelope)

    total = 0
    for _ in range(5):  # each run sends what is sendable; the rest waits for retours
        total += Sender(Outbox(engine), send, policy=FAST).drain(workers=4, timeout=60).acknowledged
    assert total == 90 and len(set(sent)) == 90
    assert max(worst.values()) == 1
    for refs in order.values():
        assert [r for r in sent if r in refs] == refs


def test_metrics_by_gemeente_show_waiting_rows_and_the_oldest_message_without_retour(
    engine: sa.Engine,
) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from ieb.transport.monitoring import TransportCollector

    _queue(engine, BSN_P)
    _queue(engine, BSN_P, "WMO403")
    _queue(engine, BSN_Q, afzender="0599")
    Sender(Outbox(engine), _ok, policy=FAST).drain(workers=2, timeout=30)
    collector = TransportCollector(engine)
    collector.on_result("pending", "[StUF058] tijdelijke weigering")
    collector.on_result("pending", "GGk niet bereikbaar")
    collector.on_result("acknowledged", None)
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'ieb_outbox_waiting{gemeente="0363"} 1.0' in text
    assert 'ieb_outbox_waiting{gemeente="0599"} 0.0' in text
    assert 'ieb_outbox_open{gemeente="0363"} 1.0' in text
    assert 'ieb_oldest_without_retour_seconds{gemeente="0599"}' in text
    assert (
        'ieb_send_retries_total{code="StUF058"} 1.0' in text
        and 'ieb_send_retries_total{code="-"} 1.0' in text
    )


@pytest.mark.postgres
def test_order_holds_across_three_senders_on_one_postgresql(pg_server: Any) -> None:
    """Three senders (as three processes would) claim with FOR UPDATE SKIP LOCKED on one
    PostgreSQL: 0 duplicates, 0 out of order, never two messages of a person in flight."""
    pg = open_ledger(pg_server.database())
    try:
        persons = [f"9999{n:05d}" for n in range(20)]
        order = {bsn: [_queue(pg, bsn), _queue(pg, bsn, "WMO403")] for bsn in persons}
        person_of = {ref: bsn for bsn, refs in order.items() for ref in refs}
        in_flight: Counter[str] = Counter()
        worst: Counter[str] = Counter()
        sent: list[str] = []
        lock = threading.Lock()

        def send(envelope: bytes) -> SendResult:
            ref = parse(envelope).referentienummer
            with lock:
                in_flight[person_of[ref]] += 1
                worst[person_of[ref]] = max(worst[person_of[ref]], in_flight[person_of[ref]])
                sent.append(ref)
            time.sleep(0.005)
            _retour(pg, ref, "accepted")
            with lock:
                in_flight[person_of[ref]] -= 1
            return _ok(envelope)

        for _ in range(4):
            senders = [Sender(Outbox(pg, worker_id=f"p{i}"), send, policy=FAST) for i in range(3)]
            threads = [
                threading.Thread(target=s.drain, kwargs={"workers": 3, "timeout": 60}) for s in senders
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert len(sent) == 40 and len(set(sent)) == 40
        assert max(worst.values()) == 1
        for refs in order.values():
            assert [r for r in sent if r in refs] == refs
    finally:
        pg.dispose()


def test_requeue_zonder_retour_resends_old_acknowledged_messages_without_retour(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from ieb.transport.outbox import OutboxError, parse_age

    old = _queue(engine, BSN_P)
    answered = _queue(engine, BSN_Q)
    fresh = _queue(engine, "999900031")
    Sender(Outbox(engine), _ok, policy=FAST).drain(workers=2, timeout=30)
    _retour(engine, answered, "accepted")
    from ieb.store.schema import outbox

    with engine.begin() as conn:  # acknowledged 40 days ago
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.referentienummer.in_([old, answered]))
            .values(acknowledged_at=utcnow() - dt.timedelta(days=40))
        )
    assert parse_age("30d") == dt.timedelta(days=30) and parse_age("12h") == dt.timedelta(hours=12)
    with pytest.raises(OutboxError, match="30d"):
        parse_age("dertig")
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    proc = subprocess.run(
        [sys.executable, "-m", "ieb", "requeue", "--zonder-retour", "30d", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert old in proc.stdout and answered not in proc.stdout and fresh not in proc.stdout
    row = Outbox(engine).find(old)
    assert row is not None and row["status"] == "pending" and "geen retour" in row["last_error"]
    again = Sender(Outbox(engine), _ok, policy=FAST).drain(workers=1, timeout=30)
    assert again.acknowledged == 1  # the same envelope once more; the CAK answers it idempotently
