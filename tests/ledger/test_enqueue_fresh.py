"""enqueue_fresh (issue 22): outbox rows and their audit rows in multi-row statements, with what
Outbox.enqueue_many guarantees: ids in the order given, every envelope as given, one audit event each,
a resumed run keeps each envelope once, a conflicting envelope is refused, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.errors import IebError
from ieb.ggk import build, new_di01
from ieb.transport.outbox import Outbox, enqueue_fresh, ledger_tables, open_ledger


def _rows(n: int, start: int = 0) -> list[dict[str, object]]:
    out = []
    for i in range(start, start + n):
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


def _audit_count(engine: sa.Engine) -> int:
    t = ledger_tables()
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(t.audit).where(t.audit.c.kind == "enqueued")
            ).scalar()
            or 0
        )


def test_fresh_batch_keeps_order_content_and_audit(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'o.sqlite'}")
    outbox = Outbox(engine)
    rows = _rows(1203)  # more than one chunk of 500
    ids = enqueue_fresh(outbox, rows)
    assert len(ids) == len(set(ids)) == 1203
    t = ledger_tables()
    with engine.connect() as conn:
        stored = {
            r.id: r
            for r in conn.execute(sa.select(t.outbox.c.id, t.outbox.c.referentienummer, t.outbox.c.envelope))
        }
        refs = {r.referentienummer for r in conn.execute(sa.select(t.audit.c.referentienummer))}
    for i, row in zip(ids, rows, strict=True):
        assert stored[i].referentienummer == row["referentienummer"]
        assert bytes(stored[i].envelope) == row["envelope"]
    assert _audit_count(engine) == 1203
    assert refs == {r["referentienummer"] for r in rows}
    assert outbox.counts().get("pending") == 1203
    engine.dispose()


def test_a_resumed_run_stores_each_envelope_once(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'o.sqlite'}")
    outbox = Outbox(engine)
    rows = _rows(20)
    first = enqueue_fresh(outbox, rows[:8])
    again = enqueue_fresh(outbox, rows)  # the first 8 again: enqueue_many keeps them once
    assert again[:8] == first
    assert outbox.counts().get("pending") == 20
    engine.dispose()


def test_a_conflicting_envelope_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'o.sqlite'}")
    outbox = Outbox(engine)
    rows = _rows(10)
    enqueue_fresh(outbox, rows[:2])
    clash = {
        **rows[1],
        "envelope": _rows(1, 99)[0]["envelope"],
    }  # a stored referentienummer, another envelope
    with pytest.raises((sa.exc.IntegrityError, IebError)):
        enqueue_fresh(outbox, [*rows[2:], clash])
    assert outbox.counts().get("pending") == 2
    assert _audit_count(engine) == 2
    with pytest.raises(TypeError):
        enqueue_fresh(outbox, [*rows[2:5], {**rows[5], "bogus": 1}])  # an unknown argument
    assert outbox.counts().get("pending") == 2
    engine.dispose()


def test_fresh_rows_equal_those_of_enqueue_many(tmp_path: Path) -> None:
    """The SQLite executemany path stores the same values (types, timestamps, person) as
    SQLAlchemy's own INSERT through Outbox.enqueue_many."""
    import datetime as dt

    moment = dt.datetime(2026, 12, 6, 17, 30, 15, 123456, tzinfo=dt.UTC)
    rows = _rows(3)
    rows[1]["bericht_identificatie"] = None
    stored = []
    for name, enqueue in (("fresh", enqueue_fresh), ("many", Outbox.enqueue_many)):
        engine = open_ledger(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
        outbox = Outbox(engine, clock=lambda: moment)
        ids = enqueue(outbox, rows)
        t = ledger_tables()
        with engine.connect() as conn:
            by_id = {r.id: r._asdict() for r in conn.execute(sa.select(t.outbox))}
            kinds = [
                (r.kind, r.referentienummer, r.functie, r.outcome, r.at is not None)
                for r in conn.execute(sa.select(t.audit).order_by(t.audit.c.id))
            ]
        stored.append(([{k: v for k, v in by_id[i].items() if k != "id"} for i in ids], kinds))
        engine.dispose()
    assert stored[0] == stored[1]
    first = stored[0][0][0]
    assert first["created_at"] == first["updated_at"] == first["next_attempt_at"]
    assert first["created_at"].replace(tzinfo=None) == moment.replace(tzinfo=None)
    assert first["status"] == "pending" and first["attempts"] == 0
    assert bytes(first["envelope"]) == rows[0]["envelope"]


def _planned_rows(engine: sa.Engine, conn: sa.Connection) -> tuple[list[dict[str, object]], list[str]]:
    """Plan three persons (recorded in the ledger in ``conn``) and return the outbox rows of their
    messages and their Bsns (the planner's caller, ieb.exchange)."""
    import datetime as dt

    from ieb.exchange import Exchange
    from ieb.ledger.planner import Period, plan
    from ieb.ledger.store import Ledger

    bsns = ["999900006", "999900018", "999900031"]
    p = plan(
        Ledger(conn),
        "0363",
        {b: [Period(dt.date(2026, 1, 1))] for b in bsns},
        today=dt.date(2026, 12, 7),
    )
    rows = [Exchange._row("0363", m.bericht, m.xml, m.delivery.identificatie) for m in p.messages]
    return rows, [m.delivery.bsn for m in p.messages]


def test_given_bsns_store_the_same_rows_as_the_ledger_lookup(tmp_path: Path) -> None:
    """``bsns=`` (the planner's Bsns, no look-up of the deliveries) and ``ids=False`` store exactly
    the outbox and audit rows of the plain call, which looks each row's person up in the ledger."""
    import datetime as dt

    moment = dt.datetime(2026, 12, 7, 9, 0, 0, 1, tzinfo=dt.UTC)
    stored = []
    for given in (False, True):
        engine = open_ledger(f"sqlite:///{tmp_path / f'{given}.sqlite'}")
        outbox = Outbox(engine, clock=lambda: moment)
        with engine.begin() as conn:
            rows, bsns = _planned_rows(engine, conn)
            if given:
                assert enqueue_fresh(outbox, rows, conn=conn, bsns=bsns, ids=False) == []
            else:
                assert len(enqueue_fresh(outbox, rows, conn=conn)) == len(rows)
        t = ledger_tables()
        with engine.connect() as conn:
            out = [
                {k: v for k, v in r._asdict().items() if k not in ("id", "envelope", "referentienummer")}
                for r in conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id))
            ]
            audit = [
                (r.kind, r.functie, r.outcome, r.direction)
                for r in conn.execute(sa.select(t.audit).order_by(t.audit.c.id))
            ]
        stored.append((out, audit))
        engine.dispose()
    assert stored[0] == stored[1]
    assert all(r["person"] and r["person"].startswith("0363:") for r in stored[0][0])
    assert len({r["person"] for r in stored[0][0]}) == 3


def test_bsns_must_match_the_rows(tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'o.sqlite'}")
    with pytest.raises(ValueError, match="bsns"):
        enqueue_fresh(Outbox(engine), _rows(2), bsns=["999900006"])
    engine.dispose()
