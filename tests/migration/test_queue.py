"""``queue_initial`` on SQLite and PostgreSQL: one outbox row per planned message, accepted by the CAK
simulator, and nothing new when run again."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ieb.migration import queue_initial, read_administratie, read_henv, read_za, reconcile
from ieb.migration.sample import generate
from ieb.simulator.cak import CakSimulator
from ieb.transport.outbox import ledger_tables, open_ledger

P = dt.date(2020, 1, 1)


def test_queue_initial(db_url: str) -> None:
    files = generate(40, seed=11)
    result = reconcile(
        read_henv(files.henv, name="h"),
        read_za(files.za, name="z"),
        read_administratie(files.administratie, name="a"),
        P,
    )
    queued = queue_initial(result, db_url, "0363", today=P)
    assert dict(queued.count) == {"WMO401": files.expected["startberichten"]}
    assert len(queued.outbox_ids) == files.expected["startberichten"]
    outbox = ledger_tables().outbox
    engine = open_ledger(db_url)
    try:
        with engine.connect() as conn:
            payloads = [r.payload for r in conn.execute(sa.select(outbox.c.payload).order_by(outbox.c.id))]
        cak = CakSimulator("sqlite://", today=P)
        assert all(cak.process(p).accepted for p in payloads)
        again = queue_initial(result, db_url, "0363", today=P)
        assert again.outbox_ids == () and again.plan.messages == []
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == len(payloads)
    finally:
        engine.dispose()
