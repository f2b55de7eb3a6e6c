"""``queue_initial`` on SQLite and PostgreSQL: one outbox row per planned message, accepted by the CAK
simulator, nothing new when run again, and nothing at all when the outbox refuses a row."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ieb.migration import ReconcileError, queue_initial, read_administratie, read_henv, read_za, reconcile
from ieb.migration.sample import generate
from ieb.simulator.cak import CakSimulator
from ieb.store import schema
from ieb.transport.outbox import ledger_tables, open_ledger
from tests.migrated import migrated_memory_engine

P = dt.date(2020, 1, 1)


def test_queue_initial(ledger_db_url: str) -> None:
    files = generate(40, seed=11)
    result = reconcile(
        read_henv(files.henv, name="h"),
        read_za(files.za, name="z"),
        read_administratie(files.administratie, name="a"),
        P,
    )
    queued = queue_initial(result, ledger_db_url, "0363", today=P)
    assert dict(queued.count) == {"WMO401": files.expected["startberichten"]}
    assert len(queued.outbox_ids) == files.expected["startberichten"]
    outbox = ledger_tables().outbox
    engine = open_ledger(ledger_db_url)
    try:
        with engine.connect() as conn:
            payloads = [r.payload for r in conn.execute(sa.select(outbox.c.payload).order_by(outbox.c.id))]
        cak = CakSimulator(migrated_memory_engine(), today=P)
        assert all(cak.process(p).accepted for p in payloads)
        again = queue_initial(result, ledger_db_url, "0363", today=P)
        assert again.outbox_ids == () and again.plan.messages == []
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == len(payloads)
    finally:
        engine.dispose()


def test_queue_initial_is_one_transaction(ledger_db_url: str) -> None:
    """When the outbox refuses a row (a database trigger aborts the third insert), the ledger keeps
    no delivery either: plan, ledger and outbox are one transaction (Exchange.plan_and_queue)."""
    files = generate(12, seed=5)
    result = reconcile(
        read_henv(files.henv, name="h"),
        read_za(files.za, name="z"),
        read_administratie(files.administratie, name="a"),
        P,
    )
    assert files.expected["startberichten"] >= 3
    tables = ledger_tables()
    engine = open_ledger(ledger_db_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text(
                        "CREATE FUNCTION ieb_refuse() RETURNS trigger AS $$ BEGIN "
                        "IF (SELECT count(*) FROM outbox) >= 2 THEN RAISE EXCEPTION 'outbox vol'; END IF; "
                        "RETURN NEW; END $$ LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    sa.text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION ieb_refuse()"
                    )
                )
            else:
                conn.execute(
                    sa.text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON outbox "
                        "WHEN (SELECT count(*) FROM outbox) >= 2 BEGIN SELECT RAISE(ABORT, 'outbox vol'); END"
                    )
                )
        with pytest.raises(ReconcileError, match="outbox vol"):
            queue_initial(result, ledger_db_url, "0363", today=P)
        with engine.connect() as conn:
            for table in (tables.outbox, schema.deliveries):
                assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    finally:
        engine.dispose()
