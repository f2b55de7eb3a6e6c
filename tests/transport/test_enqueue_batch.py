"""Outbox.enqueue_many stores a large batch with multi-row inserts (issue 9) and keeps what one-by-one
enqueueing guaranteed: ids in the order given, every envelope stored as given, one audit event each,
all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.errors import IebError
from ieb.ggk import build, new_di01
from ieb.transport.outbox import Outbox, ledger_tables, open_ledger
from tests.migrated import migrated_sqlite_url


def _rows(n: int) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        di01 = new_di01(f"<x>{i}</x>".encode(), "WMO401", "0363")
        out.append(
            {
                "envelope": build(di01),
                "referentienummer": di01.referentienummer,
                "afzender": "0363",
                "functie": "WMO401",
                "payload": f"<x>{i}</x>".encode(),
                "bericht_identificatie": str(i),
            }
        )
    return out


def test_batch_keeps_order_content_and_audit(tmp_path: Path) -> None:
    engine = open_ledger(migrated_sqlite_url(tmp_path / "o.sqlite"))
    outbox = Outbox(engine)
    first = outbox.enqueue(**_rows(1)[0])  # type: ignore[arg-type]
    rows = _rows(1203)  # more than one chunk of 500
    ids = outbox.enqueue_many(rows)
    assert len(ids) == len(set(ids)) == 1203 and first not in ids
    t = ledger_tables()
    with engine.connect() as conn:
        stored = {
            r.id: r
            for r in conn.execute(sa.select(t.outbox.c.id, t.outbox.c.referentienummer, t.outbox.c.envelope))
        }
        enqueued = conn.execute(
            sa.select(sa.func.count()).select_from(t.audit).where(t.audit.c.kind == "enqueued")
        ).scalar()
    for i, row in zip(ids, rows, strict=True):
        assert stored[i].referentienummer == row["referentienummer"]
        assert bytes(stored[i].envelope) == row["envelope"]
    assert enqueued == 1204
    assert outbox.counts().get("pending") == 1204
    engine.dispose()


def test_batch_is_all_or_nothing(tmp_path: Path) -> None:
    engine = open_ledger(migrated_sqlite_url(tmp_path / "o.sqlite"))
    outbox = Outbox(engine)
    rows = _rows(10)
    with pytest.raises(TypeError):
        outbox.enqueue_many([*rows[:5], {**rows[5], "bogus": 1}])  # an unknown argument
    other = _rows(1)[0]
    clash = {**rows[3], "envelope": other["envelope"]}  # same referentienummer, another envelope
    with pytest.raises((sa.exc.IntegrityError, IebError)):
        outbox.enqueue_many([*rows, clash])
    assert outbox.counts().get("pending", 0) == 0
    engine.dispose()
