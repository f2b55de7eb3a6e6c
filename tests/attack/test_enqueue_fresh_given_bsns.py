"""Attack (session 7, attack2) on ``enqueue_fresh(..., bsns=, ids=False)``: the outbox rows'
``person`` must be what the ledger look-up gives, also for one person planned by two gemeenten
(the same Bsn, another afzender: another person key), several messages per person, the rows in
another order than planned (their Bsns moved along), and a batch with a row twice (handed to
``Outbox.enqueue_many``, which keeps it once)."""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.exchange import Exchange
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger
from ieb.transport.outbox import Outbox, _persons, enqueue_fresh, ledger_tables, open_ledger
from tests.pgdb import create_database

BSNS = ["999900006", "999900018", "999900031"]


def _planned(conn: sa.Connection) -> tuple[list[dict[str, object]], list[str]]:
    rows: list[dict[str, object]] = []
    bsns: list[str] = []
    periods = [Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), Period(dt.date(2026, 6, 1))]
    for gemeente in ("0363", "0599"):
        p = plan(Ledger(conn), gemeente, {b: periods for b in BSNS}, today=dt.date(2026, 12, 7))
        rows += [Exchange._row(gemeente, m.bericht, m.xml, m.delivery.identificatie) for m in p.messages]
        bsns += [m.delivery.bsn for m in p.messages]
    return rows, bsns


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("twice", [False, True])
def test_persons_equal_the_lookup_across_gemeenten_and_order(
    tmp_path: Path, twice: bool, dialect: str
) -> None:
    pg = os.environ.get("IEB_TEST_POSTGRES_URL")
    if dialect == "postgresql" and not pg:
        pytest.skip("IEB_TEST_POSTGRES_URL is not set")
    url = create_database(pg, "ieb_attack_") if pg and dialect == "postgresql" else None
    engine = open_ledger(url or f"sqlite:///{tmp_path / 'o.sqlite'}")
    try:
        with engine.begin() as conn:
            rows, bsns = _planned(conn)
            assert len(rows) > 2 * len(BSNS)  # several messages per person and gemeente
            pairs = list(zip(rows, bsns, strict=True))
            random.Random(7).shuffle(pairs)
            if twice:
                pairs.append(pairs[0])
            enqueue_fresh(
                Outbox(engine), [r for r, _ in pairs], conn=conn, bsns=[b for _, b in pairs], ids=False
            )
            expected = _persons(conn, rows)
        t = ledger_tables().outbox
        with engine.connect() as conn:
            stored = conn.execute(sa.select(t.c.afzender, t.c.bericht_identificatie, t.c.person)).all()
    finally:
        engine.dispose()
    assert len(stored) == len(rows)
    assert {(a, i): p for a, i, p in stored} == expected
    by_gemeente = {a: {p for a2, _, p in stored if a2 == a} for a, _, _ in stored}
    assert len(by_gemeente["0363"]) == len(by_gemeente["0599"]) == len(BSNS)
    assert not by_gemeente["0363"] & by_gemeente["0599"]
