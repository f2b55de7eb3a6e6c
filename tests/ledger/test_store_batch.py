"""The batched ledger reads and writes the planner uses at scale (issue 9): same results as the
one-row-at-a-time methods, ranges that never overlap, and planning one person reads only that
person's rows (no payloads, no whole-gemeente scan). No timings are asserted here (bench/run.py)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from ieb.ledger import open_database
from ieb.ledger.history import Delivery
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger
from ieb.store.schema import eb_start_nummers

from .conftest import BSNS, GEMEENTEN, TODAY


@pytest.fixture
def ledger(ledger_db_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_db_url) as led:
        yield led


def _desired() -> dict[str, list[Period]]:
    """Persons with open periods, closed periods and pauses (several starts each)."""
    out: dict[str, list[Period]] = {}
    for i, bsn in enumerate(BSNS[:8]):
        if i % 3 == 0:
            out[bsn] = [Period(dt.date(2024, 1, 1), dt.date(2024, 2, 29)), Period(dt.date(2024, 4, 1))]
        elif i % 3 == 1:
            out[bsn] = [Period(dt.date(2024, 3, 1), dt.date(2024, 5, 31))]
        else:
            out[bsn] = [Period(dt.date(2024, 2, 1), None, 99_000, dt.date(2024, 2, 1))]
    return out


def test_histories_match_history_per_person(ledger: Ledger) -> None:
    plan(ledger, "0363", _desired(), today=TODAY, gemeenten=GEMEENTEN)
    plan(ledger, "0599", {BSNS[0]: [Period(dt.date(2024, 1, 1))]}, today=TODAY, gemeenten=GEMEENTEN)
    with ledger.engine.connect() as conn:
        batch = ledger.histories(conn, "0363", [*BSNS[:8], BSNS[11]])
        for bsn in BSNS[:8]:
            one = ledger.history(conn, "0363", bsn=bsn)
            assert list(batch.of(bsn).deliveries()) == list(one.deliveries())
            assert batch.of(bsn).periods_of("0363", bsn) == one.periods_of("0363", bsn)
        assert list(batch.of(BSNS[11]).deliveries()) == []  # not in the ledger
        combined = list(batch.combined().deliveries())
        full = list(ledger.full_history(conn, "0363").deliveries())
        assert sorted(combined, key=repr) == sorted(full, key=repr)  # everyone asked: the whole gemeente
        assert all(d.afzender == "0363" for d in combined)  # the other gemeente stays out


def test_history_by_nummers_only(ledger: Ledger) -> None:
    plan(ledger, "0363", _desired(), today=TODAY, gemeenten=GEMEENTEN)
    with ledger.engine.connect() as conn:
        got = list(ledger.history(conn, "0363", nummers=[1]).deliveries())
    assert got and {d.eb_start_nummer for d in got} == {1}
    assert got[0].bericht == "WMO401"


def test_ranges_are_consecutive_and_never_overlap(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        assert ledger.next_identificaties(conn, "0363", 0) == []
        first = ledger.next_identificaties(conn, "0363", 3)
        single = ledger.next_identificatie(conn, "0363")
        more = ledger.next_identificaties(conn, "0363", 2)
        assert first == ["1", "2", "3"] and single == "4" and more == ["5", "6"]
        with pytest.raises(ValueError):
            ledger.next_values(conn, "0363", "identificatie", 0)


def test_allocated_numbers_are_registered_and_above_every_number_used(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        ledger.add(
            conn,
            Delivery("WMO401", "0363", "x1", TODAY, BSNS[0], 41, "1", dt.date(2024, 1, 1)),
            outcome="accepted",
        )
        got = ledger.allocate_eb_start_nummers(conn, "0363", [BSNS[1], BSNS[2], BSNS[1]])
        assert got == [42, 43, 44]
        assert ledger.allocate_eb_start_nummers(conn, "0363", []) == []
        assert ledger.allocate_eb_start_nummer(conn, "0363", BSNS[3]) == 45
        rows = conn.execute(sa.select(eb_start_nummers.c.eb_start_nummer, eb_start_nummers.c.bsn)).all()
    assert sorted(rows) == [(42, BSNS[1]), (43, BSNS[2]), (44, BSNS[1]), (45, BSNS[3])]


def test_concurrent_range_allocations_do_not_overlap(ledger_db_url: str) -> None:
    open_database(ledger_db_url).dispose()
    results: list[list[int]] = []
    lock = threading.Lock()

    def worker() -> None:
        with Ledger.open(ledger_db_url) as led:
            for _ in range(5):
                with led.engine.begin() as conn:
                    got = led.allocate_eb_start_nummers(conn, "0363", [BSNS[0]] * 7)
                with lock:
                    results.append(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = [n for r in results for n in r]
    assert sorted(numbers) == list(range(1, 4 * 5 * 7 + 1))
    assert all(r == list(range(r[0], r[0] + 7)) for r in results)


def test_add_many_stores_what_add_stores(ledger: Ledger) -> None:
    d1 = Delivery(
        "WMO401", "0363", "a1", TODAY, BSNS[0], 1, "1", dt.date(2024, 1, 1), 99_000, dt.date(2024, 1, 1)
    )
    d2 = Delivery("WMO403", "0363", "a2", TODAY, BSNS[0], 1, "1", dt.date(2024, 3, 31))
    with ledger.engine.begin() as conn:
        ledger.add(conn, d1, outcome="pending", payload=b"<x/>", source="one.xml", detail="r1")
        ledger.add_many(
            conn,
            [
                {
                    "delivery": d2,
                    "outcome": "rejected",
                    "payload": b"<y/>",
                    "source": "two.xml",
                    "retour_codes": ["9102", "0200"],
                    "detail": "r2",
                }
            ],
        )
        ledger.add_many(conn, [])
    with ledger.engine.connect() as conn:
        rows = ledger.rows(conn, afzender="0363")
    assert [r.delivery for r in rows] == [d1, d2]
    assert [(r.outcome, r.retour_codes, r.source, r.detail) for r in rows] == [
        ("pending", (), "one.xml", "r1"),
        ("rejected", ("9102", "0200"), "two.xml", "r2"),
    ]


def test_planning_one_person_reads_only_that_person(ledger: Ledger) -> None:
    """The planner asks the database for the planned person's rows only, never for payload blobs
    (before issue 9 it read the whole gemeente with payloads on every call)."""
    plan(ledger, "0363", _desired(), today=TODAY, gemeenten=GEMEENTEN)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(ledger.engine, "before_cursor_execute", seen)
    try:
        result = plan(
            ledger, "0363", {BSNS[10]: [Period(dt.date(2024, 5, 1))]}, today=TODAY, gemeenten=GEMEENTEN
        )
    finally:
        sa.event.remove(ledger.engine, "before_cursor_execute", seen)
    assert len(result.messages) == 1 and result.messages[0].delivery.eb_start_nummer > 8
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects, statements
    assert not any("payload" in s for s in selects), selects
    assert len(statements) <= 12, statements  # a handful of statements, whatever the ledger's size


def test_history_columns_follow_the_delivery_fields() -> None:
    """History rows are turned into Delivery objects by position: the column order must match."""
    from dataclasses import fields

    from ieb.ledger.store import _DELIVERY_COLUMNS

    names = [c.name for c in _DELIVERY_COLUMNS][1:]
    delivery_fields = fields(Delivery)
    assert names == [f.name for f in delivery_fields][: len(names)]
    # a field the store does not hold yet (``stopdatum``: a record with start and stop, see
    # tests/ledger/test_second_pack.py) must have a default, or rows could not become deliveries
    missing = delivery_fields[len(names) :]
    assert all(f.default is None for f in missing), [f.name for f in missing]


def test_add_many_writes_the_same_columns_as_add(ledger: Ledger) -> None:
    """Every stored column (dates, amounts, payload bytes, timestamps) of a batch row reads back as
    the same value as a row stored by :meth:`Ledger.add` (SQLite: the driver path of add_many)."""
    from ieb.store.schema import deliveries

    made = [
        Delivery("WMO401", "0363", f"b{i}", TODAY, BSNS[i], 10 + i, "1", dt.date(2024, 1, i + 1), k, ks)
        for i, (k, ks) in enumerate([(99_000, dt.date(2024, 1, 1)), (None, None)])
    ]
    with ledger.engine.begin() as conn:
        ledger.add(conn, made[0], outcome="pending", payload=b"<a/>", source="a.xml", detail="x")
        ledger.add(conn, made[1], outcome="pending", payload=None, source=None, detail=None)
        ledger.add_many(
            conn,
            [
                {
                    "delivery": replace(made[0], identificatie="c0"),
                    "outcome": "pending",
                    "payload": b"<a/>",
                    "source": "a.xml",
                    "detail": "x",
                },
                {"delivery": replace(made[1], identificatie="c1"), "outcome": "pending"},
            ],
        )
    with ledger.engine.connect() as conn:
        got = [dict(r._mapping) for r in conn.execute(sa.select(deliveries).order_by(deliveries.c.id))]
    for row in got:
        row.pop("id"), row.pop("identificatie"), row.pop("created_at")
    assert got[2] == got[0] and got[3] == got[1]
    assert got[0]["payload"] == b"<a/>" and got[0]["kostprijs_startdatum"] == dt.date(2024, 1, 1)
    with ledger.engine.connect() as conn:
        stamps = conn.execute(sa.select(deliveries.c.created_at).order_by(deliveries.c.id)).scalars().all()
    assert all(isinstance(s, dt.datetime) for s in stamps)
