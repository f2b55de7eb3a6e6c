"""The retour rows on SQLite go through the driver (issue 22, round 7): ``Ledger.set_retours``,
``Ledger.find_many`` and ``Ledger.add_many`` use statements compiled once per kind of dialect
(``ieb.store.db.driver_statement``) with each value converted by its type's own processor. These
tests compare what they store and read with SQLAlchemy's own ``execute`` of the same statements,
on SQLite and on PostgreSQL (where the ledger keeps SQLAlchemy's path): the same stored values,
byte for byte as the database holds them, and the same rows read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.ledger import store
from ieb.ledger.history import Delivery
from ieb.ledger.store import Ledger
from ieb.store.db import driver_statement, open_database
from ieb.store.schema import deliveries

NOW = dt.datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=dt.UTC)
DAY = dt.date(2026, 5, 20)

#: text as a clerk or a foreign file may bring it (no NUL: PostgreSQL refuses it in text)
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
DATES = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))


def _deliveries(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        d = Delivery(
            "WMO401",
            "0363",
            f"B{i}",
            DAY,
            "999900006",
            i + 1,
            "1",
            dt.date(2026, 1, 1),
            12345 if i % 2 else None,
            dt.date(2026, 1, 1) if i % 2 else None,
            None,
        )
        out.append({"delivery": d, "outcome": "pending", "payload": b"<heen/>", "source": f"heen-{i}.xml"})
    return out


@pytest.fixture
def pair(
    ledger_db_url: str, ledger_db_url_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, Ledger]]:
    """Two ledgers with the same heenberichten: the first written by ``add_many`` (the driver on
    SQLite), the second by SQLAlchemy's ``insert`` of the same rows; ``_now`` fixed."""
    monkeypatch.setattr(store, "_now", lambda: NOW)
    fast, slow = Ledger(open_database(ledger_db_url)), Ledger(open_database(ledger_db_url_factory()))
    items = _deliveries(6)
    with fast.transaction() as unit:
        fast.add_many(unit.connection, items)
    with slow.transaction() as unit:
        rows = [
            Ledger._row_values(
                i["delivery"], i["outcome"], i["payload"], i["source"], (), None, NOW, "ieb-1.0"
            )
            for i in items
        ]
        unit.connection.execute(sa.insert(deliveries), rows)
    try:
        yield fast, slow
    finally:
        fast.close()
        slow.close()


def _stored(ledger: Ledger) -> list[tuple[Any, ...]]:
    """Every row as the database holds it (driver values, no SQLAlchemy type processing)."""
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM deliveries ORDER BY id").fetchall()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]


def test_add_many_stores_what_sqlalchemy_stores(pair: tuple[Ledger, Ledger]) -> None:
    fast, slow = pair
    assert _stored(fast) == _stored(slow)


_UPDATE = st.fixed_dictionaries(
    {
        "row": st.integers(0, 5),
        "outcome": st.sampled_from(["accepted", "rejected", "technical", "not_assessed"]),
        "codes": st.lists(st.sampled_from(["0001", "0200", "0233", "8848", "S300", "9101"]), max_size=4),
        "identificatie": st.none() | st.text(TEXT, max_size=12),
        "dagtekening": st.none() | DATES,
        "payload": st.none() | st.binary(max_size=300),
        "source": st.none() | st.text(TEXT, max_size=40),
        "detail": st.none() | st.text(TEXT, max_size=60),
    }
)


def test_set_retours_and_find_many_agree_with_sqlalchemy(pair: tuple[Ledger, Ledger]) -> None:
    fast, slow = pair
    with fast.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(deliveries.c.id).order_by(deliveries.c.id))]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(updates=st.lists(_UPDATE, min_size=1, max_size=6, unique_by=lambda u: u["row"]))
    def check(updates: list[dict[str, Any]]) -> None:
        items = [
            {**{k: v for k, v in u.items() if k != "row"}, "delivery_id": ids[u["row"]]} for u in updates
        ]
        with fast.transaction() as unit:
            fast.set_retours(unit.connection, items)
        with slow.transaction() as unit:  # SQLAlchemy's executemany of the same statement
            unit.connection.execute(
                store._SET_RETOUR,
                [
                    {
                        "p_id": i["delivery_id"],
                        "p_outcome": i["outcome"],
                        "p_codes": " ".join(i["codes"]) or None,
                        "p_identificatie": i["identificatie"],
                        "p_dagtekening": i["dagtekening"],
                        "p_payload": i["payload"],
                        "p_source": i["source"],
                        "p_at": NOW,
                        "p_detail": i["detail"],
                    }
                    for i in items
                ],
            )
        assert _stored(fast) == _stored(slow)
        keys = [("0363", f"B{k}", DAY) for k in range(7)] + [("0363", "B1", DAY + dt.timedelta(days=1))]
        with fast.transaction() as unit:
            found = fast.find_many(unit.connection, keys)
            by_sqlalchemy = {
                (r.afzender, r.identificatie, r.dagtekening): r
                for r in unit.connection.execute(
                    store._FIND_MANY, {"p_afzender": "0363", "p_identificaties": [k[1] for k in keys]}
                )
            }
        assert set(found) == set(by_sqlalchemy) == set(keys[:6])
        for key, row in found.items():
            assert tuple(row) == tuple(by_sqlalchemy[key])
            assert row._fields == by_sqlalchemy[key]._fields
            assert row.retour_dagtekening == by_sqlalchemy[key].retour_dagtekening

    check()


def test_a_statement_is_compiled_once_for_every_engine_of_a_kind(tmp_path: Any) -> None:
    engines = [open_database(tmp_path / f"{k}.sqlite") for k in range(2)]
    try:
        for e in engines:  # a connection sets the dialect's server version
            with e.connect():
                pass
        first, second = (driver_statement(store._SET_RETOUR, e.dialect) for e in engines)
        assert engines[0].dialect is not engines[1].dialect
        assert first is second
        assert first.names == (
            "p_outcome",
            "p_codes",
            "p_identificatie",
            "p_dagtekening",
            "p_payload",
            "p_source",
            "p_detail",
            "p_at",
            "p_id",
        )
        # another statement object (even an equal one) is compiled on its own
        other = (
            sa.update(deliveries).where(deliveries.c.id == sa.bindparam("p_id")).values(outcome="accepted")
        )
        assert driver_statement(other, engines[0].dialect).compiled.statement is other
    finally:
        for e in engines:
            e.dispose()


_T1 = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
#: the same instant as _T1 (equal in Python) in another zone: converted on its own, never reused
_T2 = _T1.astimezone(dt.timezone(dt.timedelta(hours=1)))
_VALUE_POOL = [_T1, _T2, dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC), NOW, None]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(range(len(_VALUE_POOL))), st.none() | DATES, st.integers(1, 9)),
        max_size=8,
    )
)
def test_rows_converts_a_shared_value_once_with_the_same_result(picks: list[tuple[int, Any, int]]) -> None:
    """``DriverStatement.rows`` reuses the conversion only for the very same object as the row
    before (one timestamp for a whole ``executemany``); it equals ``params`` row by row."""
    from sqlalchemy.dialects import sqlite

    update = driver_statement(store._SET_RETOUR, sqlite.dialect())
    values = [
        {
            "p_id": ident,
            "p_outcome": "accepted",
            "p_codes": None,
            "p_identificatie": "R1",
            "p_dagtekening": day,
            "p_payload": b"<r/>",
            "p_source": "r.xml",
            "p_at": _VALUE_POOL[at],
            "p_detail": None,
        }
        for at, day, ident in picks
    ]
    assert update.rows(values) == [update.params(v) for v in values]
    if values:  # equal in Python, stored differently: why the reuse is by identity only
        assert update.params({**values[0], "p_at": _T1}) != update.params({**values[0], "p_at": _T2})
