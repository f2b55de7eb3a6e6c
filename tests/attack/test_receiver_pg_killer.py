"""Attack on the receiver on PostgreSQL (session 7: the store statement made once per kept set of
connections, and a stale prepared statement handled as a lost connection): several senders at
once while another session ends the receiver's backends again and again (pg_terminate_backend, as
an administrator or a failover would), and a column type change in the middle. A message answered
with the Bv03 is stored; one refused for now (StUF058/503, or a broken connection) is sent again,
as a sender does; in the end every message is stored exactly once with the audit rows of one
arrival (plus one ``redelivery`` row per resend the receiver had already stored). Real HTTPS with
mutual TLS, real PostgreSQL on ``$IEB_TEST_POSTGRES_URL``."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "transport"))

from test_receiver_pg_kept import _Running, _stored
from test_receiver_postgresql_path import _Databases

from ieb.ggk import Di01, build, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.errors import TransientSendError

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG, reason="IEB_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


@pytest.fixture
def databases() -> Iterator[_Databases]:
    dbs = _Databases()
    yield dbs
    dbs.close()


def test_senders_while_backends_are_ended_and_a_column_type_changes(
    pki: TestPki, databases: _Databases
) -> None:
    engine = databases.new()
    running = _Running(pki, engine, threads=4)
    messages = [new_di01(b"<x/>", "WMO401", "0363") for _ in range(200)]
    sent = {m.referentienummer: 0 for m in messages}  # sends per message
    errors: list[BaseException] = []
    done = threading.Event()
    lock = threading.Lock()

    def sender(part: list[Di01]) -> None:
        try:
            with GgkClient(running.server.url, tls=running.tls) as client:
                for m in part:
                    for _ in range(50):
                        with lock:
                            sent[m.referentienummer] += 1
                        try:
                            answer = client.send(build(m))
                        except TransientSendError:
                            continue  # refused for now, or the connection broke: send it again
                        assert str(answer.bv03.cross_refnummer) == m.referentienummer
                        break
                    else:
                        raise AssertionError(f"{m.referentienummer} never accepted")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def killer() -> None:
        """Ends the receiver's backends every 20 ms for a while, then changes inbox.id's type once
        (statements prepared on the kept connections since go stale) and lets them be."""
        for _ in range(15):
            if done.wait(0.02):
                return
            with databases.admin.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :d AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    ),
                    {"d": engine.url.database},
                )
        done.wait(0.3)  # the kept connections prepare their statements again
        with engine.begin() as change:
            change.execute(sa.text("ALTER TABLE inbox ALTER COLUMN id TYPE BIGINT"))

    threads = [threading.Thread(target=sender, args=(messages[i::4],)) for i in range(4)]
    kill = threading.Thread(target=killer)
    try:
        kill.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        done.set()
        kill.join(30)
        running.stop()
    assert not errors, errors
    stored = _stored(engine)  # (asserts no referentienummer twice)
    assert set(stored) == set(sent)
    for ref, outcomes in stored.items():
        assert outcomes[:2] == ["received", "processed"], (ref, outcomes)
        assert set(outcomes[2:]) <= {"redelivery"} and len(outcomes) - 2 < sent[ref], (
            ref,
            outcomes,
            sent[ref],
        )
    with engine.connect() as conn:
        kind = conn.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'inbox' AND column_name = 'id'"
            )
        ).scalar_one()
    assert kind == "bigint"  # the change did happen during the run
