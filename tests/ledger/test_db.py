from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ieb.ledger import open_database
from ieb.ledger.errors import DatabaseVersionError
from ieb.ledger.store import Ledger
from ieb.store.db import _alembic_config, database_url, head_revision, schema_revision
from ieb.store.schema import FIRST_RELEASE, deliveries, metadata

#: a heenbericht of the first release and a bericht name of another release (test data)
START, OTHER = "WMO" + "401", "TST001"


def test_open_creates_schema_and_reopens(db_url: str) -> None:
    engine = open_database(db_url)
    assert schema_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert {"outbox", "inbox", "audit", "deliveries", "counters", "eb_start_nummers"} <= names
    engine.dispose()
    again = open_database(db_url)
    assert schema_revision(again) == head_revision()
    again.dispose()


def test_newer_schema_is_refused_and_left_alone(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(DatabaseVersionError, match=r"9999_future.*newer ieb"):
        open_database(db_url)
    check = sa.create_engine(db_url)
    with check.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999_future"
    check.dispose()


def test_foreign_database_is_refused(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/foreign.sqlite"
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE klanten (id integer)"))
    eng.dispose()
    with pytest.raises(DatabaseVersionError, match="foreign"):
        open_database(url)


def test_database_url_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IEB_DB", raising=False)
    assert database_url(None) == "sqlite:///ieb.sqlite"
    monkeypatch.setenv("IEB_DB", "/tmp/x.sqlite")
    assert database_url(None) == "sqlite:////tmp/x.sqlite"
    assert database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"


# ----------------------------------------------------------------- the storage floor (issue 19)


def _shape(engine: sa.Engine) -> dict[str, object]:
    """Everything the inspector reports about our tables, in a comparable form."""
    insp = sa.inspect(engine)
    out: dict[str, object] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        columns = {
            c["name"]: (
                str(c["type"].compile(dialect=engine.dialect)),
                c["nullable"],
                None if c.get("default") is None else str(c["default"]),
            )
            for c in insp.get_columns(table)
        }
        pk = tuple(insp.get_pk_constraint(table)["constrained_columns"])
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
        )
        uniques = sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table))
        checks = sorted(
            (c["name"], " ".join(str(c["sqltext"]).replace("(", " ").replace(")", " ").split()))
            for c in insp.get_check_constraints(table)
        )
        fks = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(table)
        )
        out[table] = {
            "columns": columns,
            "pk": pk,
            "indexes": indexes,
            "uniques": uniques,
            "checks": checks,
            "fks": fks,
        }
    return out


def combined() -> sa.MetaData:
    """What the migrations must build, all of it: the store's one MetaData (the iwmo, wlz and
    logboek tables are on it too)."""
    return metadata


def test_live_schema_equals_the_migrations_result(db_url: str, db_url_factory: Callable[[], str]) -> None:
    """metadata.create_all and the Alembic migrations give the same database, on both backends."""
    migrated = open_database(db_url)
    live = sa.create_engine(db_url_factory())
    every = combined()
    every.create_all(live)
    try:
        with migrated.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), every)
        assert diff == [], diff
        assert _shape(migrated) == _shape(live)
        assert set(_shape(live)) == set(every.tables)
        # the migrations build no table the metadata does not describe (alembic_version aside)
        assert set(sa.inspect(migrated).get_table_names()) - {"alembic_version"} == set(metadata.tables)
        assert {"iwmo_producten", "wlz_signals", "logboek", "outbox"} <= set(metadata.tables)
    finally:
        migrated.dispose()
        live.dispose()


def _row(bericht: str, identificatie: str, **extra: object) -> dict[str, object]:
    return {
        "afzender": "0363",
        "identificatie": identificatie,
        "dagtekening": dt.date(2024, 6, 1),
        "bericht": bericht,
        "bsn": "999900006",
        "eb_start_nummer": 1,
        "status": "1",
        "datum": dt.date(2024, 1, 1),
        "outcome": "pending",
        **extra,
    }


def test_migration_0003_records_the_release_and_drops_the_bericht_list(db_url: str) -> None:
    """A 0002 database keeps its rows (now release 'ieb-1.0'), accepts berichten of other releases,
    and every new row must name its release; the downgrade restores the 1.0 list."""
    engine = open_database(db_url, upgrade=False)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0002_exchange")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer,"
                    " status, datum, outcome) VALUES ('0363', '1', '2024-06-01', :b, '999900006', 1, '1',"
                    " '2024-01-01', 'accepted')"
                ),
                {"b": START},
            )
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.insert(_legacy_deliveries()), _row(OTHER, "2"))
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        assert schema_revision(engine) == head_revision()
        with engine.begin() as conn:
            assert conn.execute(sa.select(deliveries.c.release, deliveries.c.bericht)).all() == [
                (FIRST_RELEASE, START)
            ]
            conn.execute(sa.insert(deliveries), _row(OTHER, "3", release="test-2.0"))
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.insert(_legacy_deliveries()), _row(START, "4"))  # no release: refused
        with engine.begin() as conn:
            conn.execute(sa.delete(deliveries).where(deliveries.c.bericht == OTHER))
            command.downgrade(_alembic_config(conn), "0002_exchange")
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.insert(_legacy_deliveries()), _row(OTHER, "5"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT bericht FROM deliveries")).scalars().all() == [START]
    finally:
        engine.dispose()


def _legacy_deliveries() -> sa.TableClause:
    """The deliveries table without the release column (what code of revision 0002 inserts)."""
    return sa.table("deliveries", *(sa.column(c.name, c.type) for c in deliveries.c if c.name != "release"))


def test_a_ledger_joins_the_callers_transaction(db_url: str) -> None:
    """Ledger(conn): its units are savepoints; the caller's rollback discards them, and a unit's own
    rollback discards only that unit."""
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            with conn.begin() as outer:
                ledger = Ledger(conn)
                with ledger.transaction() as unit:
                    assert ledger.next_identificaties(unit.connection, "0363", 1) == ["1"]
                outer.rollback()
        with engine.begin() as conn:
            ledger = Ledger(conn)
            with ledger.transaction() as unit:
                first = ledger.next_identificaties(unit.connection, "0363", 1)
            with ledger.transaction() as unit:
                assert ledger.next_identificaties(unit.connection, "0363", 1) == ["2"]
                unit.rollback()
            with pytest.raises(ValueError), ledger.transaction() as unit:
                ledger.next_identificaties(unit.connection, "0363", 1)
                raise ValueError("boom")
        assert first == ["1"]  # the rolled-back outer transaction left no counter behind
        with engine.begin() as conn:
            assert Ledger(engine).next_identificaties(conn, "0363", 1) == ["2"]
        with engine.connect() as conn:
            with pytest.raises(RuntimeError, match="inside a transaction"), Ledger(conn).transaction():
                pass
    finally:
        engine.dispose()
