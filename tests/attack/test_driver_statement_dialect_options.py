"""Attack on B2 round 7's fixed statements on the driver (``ieb.store.db.driver_statement``): the
SQL and the bind processors are compiled once per *kind* of dialect (class, paramstyle, server
version) and shared by every engine. But a SQLite engine made with ``native_datetime=True`` (a
caller's engine handed to ``Ledger(engine)`` or ``Ledger(conn)``) has other processors for DATE
and DATETIME (none: the driver's own adapters). Whichever engine compiled first decided for all:
after a native engine, ieb's own engines stored dates as the driver adapts them (another text than
SQLAlchemy's, and a DeprecationWarning from Python 3.12 on); before it, the native engine's rows
got SQLAlchemy's strings. The compiled statement is now shared only by dialects that convert the
same way. Each engine's parameters must equal what SQLAlchemy's own ``execute`` binds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ledger import store
from ieb.store import db

NOW = dt.datetime(2026, 12, 7, 2, 0, 0, 123456, tzinfo=dt.UTC)
VALUES = {
    "p_id": 7,
    "p_outcome": "accepted",
    "p_codes": "0001 0233",
    "p_identificatie": "CAK-77",
    "p_dagtekening": dt.date(2026, 5, 21),
    "p_payload": b"<x/>",
    "p_source": "r.xml",
    "p_at": NOW,
    "p_detail": None,
}


def _sqlalchemy_binds(stmt: Any, dialect: sa.Dialect, values: dict[str, Any]) -> tuple[Any, ...]:
    """The positional parameters SQLAlchemy's own execute binds for ``values`` on ``dialect``."""
    compiled = stmt.compile(dialect=dialect)
    procs = compiled._bind_processors
    return tuple(procs[n](values[n]) if n in procs else values[n] for n in compiled.positiontup)


def _plain(params: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(bytes(p) if isinstance(p, memoryview) else p for p in params)


@pytest.mark.parametrize("native_first", [True, False])
def test_each_engine_binds_what_sqlalchemy_binds(native_first: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_DRIVER", {})  # a process that has compiled nothing yet
    usual = sa.create_engine("sqlite://")
    native = sa.create_engine("sqlite://", native_datetime=True)
    try:
        order = [native, usual] if native_first else [usual, native]
        for engine in order:
            with engine.connect():
                pass  # the dialect initialised, as on a first use
            made = db.driver_statement(store._SET_RETOUR, engine.dialect)
            expected = _sqlalchemy_binds(store._SET_RETOUR, engine.dialect, VALUES)
            assert _plain(made.params(VALUES)) == _plain(expected)
            assert _plain(made.rows([VALUES, VALUES])[1]) == _plain(expected)
    finally:
        usual.dispose()
        native.dispose()


def test_engines_of_one_kind_still_share_the_compiled_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_DRIVER", {})
    one, two = sa.create_engine("sqlite://"), sa.create_engine("sqlite://")
    try:
        assert db.driver_statement(store._SET_RETOUR, one.dialect) is db.driver_statement(
            store._SET_RETOUR, two.dialect
        )
    finally:
        one.dispose()
        two.dispose()
