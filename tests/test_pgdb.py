"""tests/pgdb.py: the databases the tests make on a PostgreSQL server are dropped again."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests import pgdb

PG = os.environ.get("IEB_TEST_POSTGRES_URL")


def _exists(name: str) -> bool:
    assert PG is not None
    admin = sa.create_engine(PG)
    try:
        with admin.connect() as conn:
            return bool(
                conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_created_databases_are_dropped_even_with_a_connection_left_open() -> None:
    if not PG:
        pytest.skip("IEB_TEST_POSTGRES_URL is not set")
    before = list(pgdb._CREATED)
    try:
        pgdb._CREATED.clear()
        template_url = pgdb.create_database(PG, "ieb_pgdbtest_")
        copy_url = pgdb.create_database(PG, "ieb_pgdbtest_", template=sa.make_url(template_url).database)
        names = [sa.make_url(u).database or "" for u in (template_url, copy_url)]
        assert all(_exists(n) for n in names)
        left_open = sa.create_engine(copy_url)
        conn = left_open.connect()  # a test that forgot to close: the drop still goes through
        try:
            assert pgdb.drop_created() == []
        finally:
            conn.invalidate()
            left_open.dispose()
        assert not any(_exists(n) for n in names)
        assert pgdb.drop_created() == []  # nothing left to drop
    finally:
        pgdb._CREATED[:0] = before


def test_a_server_that_is_gone_is_no_problem() -> None:
    before = list(pgdb._CREATED)
    try:
        pgdb._CREATED[:] = [("postgresql+psycopg://ieb:ieb@127.0.0.1:1/none", "ieb_test_gone")]
        assert pgdb.drop_created() == []
        assert pgdb._CREATED == []
    finally:
        pgdb._CREATED[:] = before
