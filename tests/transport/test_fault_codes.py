"""Issue 21 item 3: transient is transient. The versioned code tables (2018 and November 2025),
the client's classification of a Fo03, and a receiver that answers a RETRYABLE fault when it
cannot store (real SQLite write lock, real mutual TLS on loopback)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ggk import Systeem, du01_for, fo03_for, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.errors import DeliveryRejectedError, TransientFaultError, TransientSendError
from ieb.transport.faults import GGK_2018, GGK_2025_11, FaultKind, classify, fault_error, table_for
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.server import HttpsServer, InboxEntry, Receiver
from ieb.transport.tls import TlsFiles

T, P = FaultKind.TRANSIENT, FaultKind.PERMANENT


@pytest.mark.parametrize(
    ("code", "table", "kind"),
    [
        ("IB101", GGK_2018, P),  # no valid CPA
        ("IB102", GGK_2018, P),  # no route: a configuration at the GGk, like IB101 (spec/transport.md)
        ("IB103", GGK_2018, T),  # message type frozen
        ("IB007", GGK_2018, P),  # too large (2018)
        ("IB007", GGK_2025_11, P),  # functie + organisatie not allowed (2025)
        ("IB003", GGK_2025_11, P),  # too large (2025)
        ("IB001", GGK_2025_11, P),  # not XSD-valid; the CAK may send it
        ("IB016", GGK_2025_11, P),  # referentienummer not unique
        ("IB023", GGK_2025_11, T),  # functie not active
        ("StUF058", GGK_2018, T),
        ("StUF058", GGK_2025_11, T),
        ("IB999", GGK_2025_11, P),  # in no list: a human looks at it
    ],
)
def test_every_code_is_classified_explicitly_per_list(code: str, table: Any, kind: FaultKind) -> None:
    assert classify(code, table=table).kind is kind


def test_the_lists_are_versioned_and_renumbered() -> None:
    assert table_for(dt.date(2024, 1, 1)) is GGK_2018
    assert table_for(dt.date(2025, 11, 1)) is GGK_2025_11
    assert "groot" in GGK_2018.rules["IB007"].omschrijving
    assert "25 MB" in GGK_2025_11.rules["IB003"].omschrijving and "IB003" not in GGK_2018.rules
    # an old-list code that the new list lacks is still known (a GGk on the old numbers)
    assert classify("IB103", day=dt.date(2026, 1, 1)).kind is T
    assert classify("IB102", day=dt.date(2026, 1, 1)).kind is P


def _fo03(code: str) -> Any:
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    return fo03_for(di01, code, "test", plek="server", zender=Systeem(organisatie="CAK", applicatie="GGk"))


def test_fault_error_maps_transient_codes_and_503_to_a_retry() -> None:
    assert isinstance(fault_error(_fo03("StUF058"), status=500), TransientFaultError)
    assert isinstance(fault_error(_fo03("IB002"), status=503), TransientFaultError)  # "try later"
    refused = fault_error(_fo03("IB002"), status=500)
    assert isinstance(refused, DeliveryRejectedError) and refused.code == "IB002"


# ------------------------------------------------------------------ receiver over mutual TLS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


@pytest.fixture
def receiver(pki: TestPki, tmp_path: Path) -> Iterator[tuple[Receiver, HttpsServer, Path, list[str]]]:
    path = tmp_path / "gemeente.sqlite"
    engine = open_ledger(f"sqlite:///{path}")
    engine.dispose()

    @sa.event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 100")

    handled: list[str] = []

    def handler(envelope: object, entry: InboxEntry) -> str:
        handled.append(entry.referentienummer)
        return "ok"

    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, handler=handler)
    server = HttpsServer(app, _tls(pki, "0363"), threads=4).start()
    try:
        yield app, server, path, handled
    finally:
        server.stop()
        engine.dispose()


def test_a_receiver_that_cannot_store_answers_a_retryable_fault_and_loses_nothing(
    pki: TestPki, receiver: tuple[Receiver, HttpsServer, Path, list[str]]
) -> None:
    app, server, path, handled = receiver
    du01 = du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")
    lock = sqlite3.connect(path, timeout=5, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # the database is unavailable for writing
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        try:
            with pytest.raises(TransientSendError) as caught:
                client.send(du01)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert isinstance(caught.value, TransientFaultError)
        assert caught.value.code == "StUF058" and caught.value.status == 503
        result = client.send(du01)  # the sender offers the same envelope again
    assert result.bv03.cross_refnummer == du01.referentienummer
    assert handled == [du01.referentienummer]
    inbox = ledger_tables().inbox
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.status)).scalars().all()
    assert rows == ["processed"]


def test_a_stored_but_unprocessed_envelope_is_processed_on_its_redelivery(
    pki: TestPki, receiver: tuple[Receiver, HttpsServer, Path, list[str]]
) -> None:
    app, server, _path, handled = receiver
    du01 = du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")
    calls = {"n": 0}
    real = app.handler
    assert real is not None

    def flaky(envelope: Any, entry: InboxEntry) -> str | None:
        calls["n"] += 1
        if calls["n"] == 1:  # the database went away between storing and processing
            raise sa.exc.OperationalError(
                "UPDATE deliveries", {}, sqlite3.OperationalError("database is locked")
            )
        return real(envelope, entry)

    app.handler = flaky
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        with pytest.raises(TransientFaultError):
            client.send(du01)
        client.send(du01)
    assert handled == [du01.referentienummer] and calls["n"] == 2
