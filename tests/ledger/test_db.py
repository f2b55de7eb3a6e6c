from __future__ import annotations

import pytest
import sqlalchemy as sa

from ieb.ledger import open_database
from ieb.ledger.errors import DatabaseVersionError
from ieb.store.db import database_url, head_revision, schema_revision


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
