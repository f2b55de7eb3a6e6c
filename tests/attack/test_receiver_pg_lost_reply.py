"""The receiver's one-statement PostgreSQL store (``ieb.transport.inbox.store_processed_postgresql``)
sends its statement once more when the connection is lost. When the loss came AFTER the server ran
(and, in autocommit, committed) the statement, i.e. only the reply was lost, the second attempt
finds its own row: that is the same single arrival, not a redelivery. Before the fix it was recorded
as a ``redelivery`` audit row for a message that came once, and the "received"/"processed" audit
lines were never logged. The loss of the reply is injected at the driver (the network boundary):
the statement really ran on the server named by ``$IEB_TEST_POSTGRES_URL``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "transport"))

from test_receiver_postgresql_path import _Databases
from test_receiver_sqlite_path import _der, _post

from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.outbox import ledger_tables
from ieb.transport.server import Receiver

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG, reason="IEB_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def test_a_reply_lost_after_the_commit_is_not_a_redelivery(
    pki: TestPki, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    from ieb.ggk import build, new_di01

    dbs = _Databases()
    try:
        engine = dbs.new()
        app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        der = _der(pki)
        assert _post(app, der, build(new_di01(b"<x/>", "WMO401", "0363")))[0] == "200 OK"
        real = psycopg.Cursor.execute
        lost: list[str] = []

        def reply_lost(self: psycopg.Cursor, query: object, *args: object, **kwargs: object) -> object:
            result = real(self, query, *args, **kwargs)  # the server ran (and committed) it
            if not lost and str(query).startswith("WITH new AS"):
                lost.append(str(query))
                self.connection.close()  # ... and the connection went before the reply came
                raise psycopg.OperationalError(
                    "consuming input failed: server closed the connection unexpectedly"
                )
            return result

        request = build(new_di01(b"<y/>", "WMO401", "0363"))
        with caplog.at_level(logging.INFO), mock.patch.object(psycopg.Cursor, "execute", reply_lost):
            assert _post(app, der, request)[0] == "200 OK"
        assert lost, "the fast path did not run"
        tables = ledger_tables()
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)).scalar_one() == 2
            outcomes = (
                conn.execute(sa.select(tables.audit.c.outcome).order_by(tables.audit.c.id)).scalars().all()
            )
        # one arrival: received + processed, exactly as a request that met no trouble
        assert outcomes == ["received", "processed", "received", "processed"]
        logged = [
            r.getMessage()
            for r in caplog.records
            if "redelivery" in r.getMessage() or "received" in r.getMessage()
        ]
        assert not any("redelivery" in m for m in logged), logged
        # a real redelivery afterwards is still one
        assert _post(app, der, request)[0] == "200 OK"
        with engine.connect() as conn:
            outcomes = (
                conn.execute(sa.select(tables.audit.c.outcome).order_by(tables.audit.c.id)).scalars().all()
            )
        assert outcomes[-1] == "redelivery" and outcomes.count("redelivery") == 1
    finally:
        dbs.close()
