"""Issue 22 (RECV): a retour handler that takes ``conn`` runs inside the receiver's transaction (a
savepoint): storing, processing and marking a Du01 is one commit, and a failing handler still leaves
the acknowledged entry stored (``failed``, with the reason) while its own writes are rolled back.
Without a handler the receiver answers from the checked stuurgegevens; the Bv03 is the same."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.ggk import Di01, Du01, Envelope, du01_for, fo01_for, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.outbox import ledger_tables, open_ledger, utcnow
from ieb.transport.server import HttpsServer, InboxEntry, Receiver
from ieb.transport.tls import TlsFiles


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


class JoinedHandler:
    """Writes an audit row through the receiver's connection, then fails when told to."""

    def __init__(self) -> None:
        self.fail = False
        self.message = "retour onleesbaar"
        self.plain_calls: list[str] = []

    def __call__(self, envelope: Envelope, entry: InboxEntry, *, conn: sa.Connection | None = None) -> str:
        if conn is None:  # a Fo01 is processed in its own transaction, as before
            self.plain_calls.append(envelope.berichtcode)
            return "los"
        audit = ledger_tables().audit
        conn.execute(
            sa.insert(audit),
            {"at": utcnow(), "direction": "in", "kind": "handler", "outcome": "in-savepoint"},
        )
        if self.fail:
            raise ValueError(self.message)
        return "accepted"


@pytest.fixture
def served(pki: TestPki, tmp_path: Path) -> Iterator[tuple[Receiver, HttpsServer, JoinedHandler, list[int]]]:
    engine = open_ledger(f"sqlite:///{tmp_path / 'gemeente.sqlite'}")
    handler = JoinedHandler()
    commits: list[int] = []
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, handler=handler)
    sa.event.listen(engine, "commit", lambda conn: commits.append(1))
    server = HttpsServer(app, _tls(pki, "0363"), threads=2).start()
    try:
        yield app, server, handler, commits
    finally:
        server.stop()
        engine.dispose()


def _rows(app: Receiver, table: sa.Table) -> list[sa.Row]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)))


def test_a_du01_is_stored_processed_and_marked_in_one_commit(pki: TestPki, served: tuple) -> None:
    app, server, _handler, commits = served
    assert app.joins_handler
    du01 = du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        commits.clear()
        sent = client.send(du01)
        assert len(commits) == 1
        assert sent.bv03.cross_refnummer == du01.referentienummer
        again = client.send(du01)  # a redelivery: acknowledged, not processed again
    assert again.bv03.cross_refnummer == du01.referentienummer
    (entry,) = _rows(app, ledger_tables().inbox)
    assert entry.status == "processed" and entry.error is None
    outcomes = [(r.kind, r.outcome) for r in _rows(app, ledger_tables().audit)]
    assert outcomes.count(("handler", "in-savepoint")) == 1
    assert ("Du01", "accepted") in outcomes and ("Du01", "redelivery") in outcomes


def test_a_failing_handler_keeps_the_entry_as_failed_and_rolls_back_only_its_own_writes(
    pki: TestPki, served: tuple
) -> None:
    app, server, handler, _commits = served
    handler.fail = True
    du01 = du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        sent = client.send(du01)  # acknowledged: the entry is stored
    assert sent.bv03.cross_refnummer == du01.referentienummer
    (entry,) = _rows(app, ledger_tables().inbox)
    assert entry.status == "failed" and entry.error == "ValueError: retour onleesbaar"
    audit = [(r.kind, r.outcome) for r in _rows(app, ledger_tables().audit)]
    assert ("handler", "in-savepoint") not in audit
    assert ("Du01", "received") in audit and ("Du01", "failed") in audit


def test_a_fo01_still_goes_to_the_handler_without_the_connection(pki: TestPki, served: tuple) -> None:
    app, server, handler, _ = served
    fo01 = fo01_for(new_di01(b"<x/>", "WMO401", "0363"), "IB213")
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        client.send(fo01)
    assert handler.plain_calls == ["Fo01"]
    assert [r.status for r in _rows(app, ledger_tables().inbox)] == ["processed"]


def test_without_a_handler_the_bv03_answers_the_request(pki: TestPki, tmp_path: Path) -> None:
    engine = open_ledger(f"sqlite:///{tmp_path / 'cak.sqlite'}")
    app = Receiver(engine, organisatie="CAK", applicatie="GGk", allowed_oins={pki.party("0363").oin})
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    with HttpsServer(app, _tls(pki, "GGK"), threads=2) as server:
        with GgkClient(server.url, tls=_tls(pki, "0363")) as client:
            bv03 = client.send(di01).bv03
            client.send(di01)  # a redelivery
    audit = [(r.kind, r.outcome, r.detail) for r in _rows(app, ledger_tables().audit) if r.direction == "in"]
    assert audit == [
        ("Di01", "received", f"peer OIN {pki.party('0363').oin}"),
        ("Di01", "processed", "verwerkt"),
        ("Di01", "redelivery", "al ontvangen; bevestigd zonder opnieuw te verwerken"),
    ]
    assert [r.status for r in _rows(app, ledger_tables().inbox)] == ["processed"]
    engine.dispose()
    sg = bv03.stuurgegevens
    assert sg.cross_refnummer == di01.referentienummer
    assert (sg.zender.organisatie, sg.zender.applicatie) == ("CAK", "GGk")
    assert sg.ontvanger == di01.stuurgegevens.zender
    assert sg.referentienummer != di01.referentienummer
    assert isinstance(di01, Di01) and not isinstance(di01, Du01)


def test_a_failing_handlers_text_is_logged_without_a_bsn(
    pki: TestPki, served: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    """The reason is stored whole with the entry, but the log line masks any BSN in it."""
    app, server, handler, _commits = served
    handler.fail = True
    handler.message = "Bsn 999990019 onbekend"
    caplog.set_level(logging.WARNING, logger="ieb.transport.server")
    du01 = du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        client.send(du01)
    (entry,) = _rows(app, ledger_tables().inbox)
    assert entry.status == "failed" and entry.error == "ValueError: Bsn 999990019 onbekend"
    lines = [r.getMessage() for r in caplog.records if "mislukt" in r.getMessage()]
    assert lines and all("999990019" not in line for line in lines)
