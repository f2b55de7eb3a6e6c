"""The outbox remembers which envelopes ieb checked against the schema when it enqueued them
(issue 22, transport round 5; revision 0010_outbox_validated).

The guarantee stays "no envelope failing RIN001 leaves": the client skips its re-check only for
bytes that are, byte for byte, the ones ``build()`` checked (their SHA-256 is stored with the row).
A row without the mark (hand-made bytes, rows from before the revision) or whose bytes were changed
in the database after enqueueing is checked again and refused before anything is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from alembic import command

from ieb.ggk import build, new_di01
from ieb.ggk.codec import SchemaCheckedEnvelope
from ieb.ggk.errors import EnvelopeInvalidError
from ieb.store.db import _alembic_config, open_database
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import client as client_module
from ieb.transport.client import GgkClient
from ieb.transport.outbox import Outbox, enqueue_fresh, ledger_tables, open_ledger
from ieb.transport.sender import RetryPolicy, Sender
from ieb.transport.server import HttpsServer, Receiver
from ieb.transport.tls import TlsFiles

FAST = RetryPolicy(max_attempts=2, attempts_per_claim=1, backoff_initial=0.001, backoff_max=0.002)


def _row(gemeente: str = "0363") -> dict[str, Any]:
    di01 = new_di01(b"<x/>", "WMO401", gemeente)
    return {
        "envelope": build(di01),
        "referentienummer": di01.referentienummer,
        "afzender": gemeente,
        "functie": "WMO401",
    }


def _marks(engine: sa.Engine) -> dict[str, str | None]:
    t = ledger_tables().outbox
    with engine.connect() as conn:
        return {str(r): m for r, m in conn.execute(sa.select(t.c.referentienummer, t.c.validated_sha256))}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    e = open_ledger(f"sqlite:///{tmp_path / 'out.sqlite'}")
    yield e
    e.dispose()


def test_every_enqueue_path_marks_built_envelopes_and_only_those(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    fresh, batch, one = [_row() for _ in range(2)], [_row() for _ in range(2)], _row()
    enqueue_fresh(outbox, fresh)
    outbox.enqueue_many(batch)
    outbox.enqueue(one["envelope"], **{k: v for k, v in one.items() if k != "envelope"})
    plain = _row()
    plain["envelope"] = bytes(plain["envelope"])  # the same bytes, but not known to be checked
    outbox.enqueue(plain["envelope"], **{k: v for k, v in plain.items() if k != "envelope"})
    marks = _marks(engine)
    for row in [*fresh, *batch, one]:
        assert marks[row["referentienummer"]] == hashlib.sha256(row["envelope"]).hexdigest()
    assert marks[plain["referentienummer"]] is None
    claimed = {m.referentienummer: m for m in outbox.claim(10)}
    assert len(claimed) == 6
    for ref, msg in claimed.items():
        envelope = msg.checked_envelope()
        assert envelope == msg.envelope
        assert isinstance(envelope, SchemaCheckedEnvelope) == (ref != plain["referentienummer"])
        assert type(msg.envelope) is bytes  # what the database gave back is never taken as checked


def test_bytes_changed_after_enqueueing_are_checked_again_and_refused(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    good, bad = _row(), _row()
    enqueue_fresh(outbox, [good, bad])
    tampered = bytes(bad["envelope"]).replace(
        b"</GGK:stuurgegevens>", b"<StUF:onbekend>x</StUF:onbekend></GGK:stuurgegevens>", 1
    )
    t = ledger_tables().outbox
    with engine.begin() as conn:
        conn.execute(
            sa.update(t).where(t.c.referentienummer == bad["referentienummer"]).values(envelope=tampered)
        )
    claimed = {m.referentienummer: m for m in outbox.claim(10)}
    changed = claimed[bad["referentienummer"]].checked_envelope()
    assert not isinstance(changed, SchemaCheckedEnvelope) and changed == tampered
    client = GgkClient("https://127.0.0.1:9/x", session=mock.Mock())
    with pytest.raises(EnvelopeInvalidError) as info:
        client.soap_request(changed)
    assert info.value.code == "RIN001"
    # a forged mark (a digest of other bytes) is no mark either
    forged = claimed[good["referentienummer"]]
    other = type(forged)(
        forged.id, forged.referentienummer, forged.functie, tampered, 1, forged.validated_sha256
    )
    assert not isinstance(other.checked_envelope(), SchemaCheckedEnvelope)


def test_the_client_skips_the_schema_check_only_for_checked_bytes() -> None:
    row = _row()
    client = GgkClient("https://127.0.0.1:9/x", session=mock.Mock())
    real = client_module.validate_element
    with mock.patch.object(client_module, "validate_element", side_effect=real) as check:
        marked = client.soap_request(row["envelope"])
        assert check.call_count == 0
        plain = client.soap_request(bytes(row["envelope"]))
        assert check.call_count == 1
    assert marked == plain  # the same request bytes either way


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def test_a_sender_over_https_sends_the_marked_row_and_never_the_tampered_one(
    pki: TestPki, tmp_path: Path, engine: sa.Engine
) -> None:
    outbox = Outbox(engine)
    good, bad = _row(), _row()
    enqueue_fresh(outbox, [good, bad])
    t = ledger_tables().outbox
    with engine.begin() as conn:
        conn.execute(
            sa.update(t)
            .where(t.c.referentienummer == bad["referentienummer"])
            .values(
                envelope=bytes(bad["envelope"]).replace(
                    b"</GGK:stuurgegevens>", b"<StUF:x/></GGK:stuurgegevens>", 1
                )
            )
        )
    received = open_ledger(f"sqlite:///{tmp_path / 'ggk.sqlite'}")
    g, k = pki.party("GGK"), pki.party("0363")
    app = Receiver(received, organisatie="CAK", applicatie="GGk")
    try:
        with HttpsServer(app, TlsFiles(g.chain, g.key, pki.roots), threads=2) as server:
            with GgkClient(server.url, tls=TlsFiles(k.chain, k.key, pki.roots)) as client:
                Sender(outbox, client, policy=FAST).drain(workers=1)
        inbox = ledger_tables().inbox
        with received.connect() as conn:
            refs = set(conn.execute(sa.select(inbox.c.referentienummer)).scalars())
        assert refs == {good["referentienummer"]}
        with engine.connect() as conn:
            rows = {
                r.referentienummer: r
                for r in conn.execute(sa.select(t.c.referentienummer, t.c.status, t.c.last_error))
            }
        assert rows[good["referentienummer"]].status == "acknowledged"
        assert rows[bad["referentienummer"]].status in ("failed", "dead")
        assert "RIN001" in (rows[bad["referentienummer"]].last_error or "")
    finally:
        received.dispose()


def test_revision_0010_adds_the_column_and_older_rows_keep_the_check(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'old.sqlite'}", upgrade=False)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0009_afzender_release")
            conn.execute(
                sa.text(
                    "INSERT INTO outbox (referentienummer, afzender, functie, envelope, status, attempts,"
                    " next_attempt_at, created_at, updated_at) VALUES ('r1', '0363', 'WMO401', :e, 'pending', 0,"
                    " '2024-06-01 00:00:00', '2024-06-01 00:00:00', '2024-06-01 00:00:00')"
                ),
                {"e": bytes(_row()["envelope"])},
            )
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0010_outbox_validated")
        assert _marks(engine) == {"r1": None}
        (msg,) = Outbox(engine).claim(1)
        assert not isinstance(msg.checked_envelope(), SchemaCheckedEnvelope)
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0009_afzender_release")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
        assert "validated_sha256" not in columns and "envelope" in columns
    finally:
        engine.dispose()
