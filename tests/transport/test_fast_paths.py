"""Issue 22: the stored envelope goes out in a fixed SOAP wrapper (checked, never re-serialised),
no thread per send, one transaction per received request, verified chains remembered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import etree

from ieb.ggk import build, bv03_for, new_di01, parse
from ieb.ggk.errors import EnvelopeInvalidError
from ieb.ggk.soap import SOAP11_NS
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient, SendResult
from ieb.transport.errors import PermanentSendError
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.server import PROCESSED, HttpsServer, Receiver
from ieb.transport.tls import TlsFiles
from tests.migrated import migrated_sqlite_url


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


@pytest.fixture
def served(pki: TestPki, tmp_path: Path) -> Iterator[tuple[Receiver, HttpsServer, sa.Engine]]:
    engine = open_ledger(migrated_sqlite_url(tmp_path / "gemeente.sqlite"))
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    server = HttpsServer(app, _tls(pki, "0363"), threads=2).start()
    try:
        yield app, server, engine
    finally:
        server.stop()
        engine.dispose()


def test_the_stored_envelope_is_posted_unchanged_in_the_soap_body(pki: TestPki) -> None:
    client = GgkClient("https://127.0.0.1:1/x", tls=_tls(pki, "GGK"))
    stored = build(new_di01(b"<x>a</x>", "WMO401", "0363"))
    operation, data = client.soap_request(stored)
    assert operation == "ggk_Di01"
    assert stored.split(b"?>", 1)[1].strip() in data  # byte for byte, no re-serialisation
    root = etree.fromstring(data)
    assert root.tag == f"{{{SOAP11_NS}}}Envelope"
    (body,) = root.findall(f"{{{SOAP11_NS}}}Body")
    assert (
        len(body) == 1 and parse(etree.tostring(body[0])).referentienummer == parse(stored).referentienummer
    )
    # the model gives the same request as its stored bytes
    assert client.soap_request(parse(stored))[1] == data
    client.close()


def test_an_envelope_that_is_not_schema_valid_is_refused_before_sending(pki: TestPki) -> None:
    client = GgkClient("https://127.0.0.1:1/x", tls=_tls(pki, "GGK"))  # nothing listens there
    stored = build(new_di01(b"<x/>", "WMO401", "0363"))
    broken = stored.replace(
        b"<StUF:berichtcode>Di01</StUF:berichtcode>", b"<StUF:berichtcode>Xx99</StUF:berichtcode>"
    )
    with pytest.raises(EnvelopeInvalidError) as info:
        client.send(broken)
    assert info.value.code == "RIN001"
    bv03 = build(bv03_for(parse(stored)))
    with pytest.raises(PermanentSendError, match="Bv03 wordt niet verstuurd"):
        client.send(bv03)
    client.close()


def test_no_thread_is_started_per_send(served: tuple[Receiver, HttpsServer, sa.Engine], pki: TestPki) -> None:
    _, server, _ = served
    started: list[str] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        client.send(build(new_di01(b"<x/>", "WMO401", "0363")))  # the watchdog may start here
        threading.Thread.start = spy  # type: ignore[method-assign]
        try:
            results = [client.send(build(new_di01(b"<x/>", "WMO401", "0363"))) for _ in range(5)]
        finally:
            threading.Thread.start = original  # type: ignore[method-assign]
    assert all(isinstance(r, SendResult) and r.status == 200 for r in results)
    assert [name for name in started if name.startswith(("ieb-send", "Thread"))] == []


def test_a_bv03_is_read_lazily_but_fully(
    served: tuple[Receiver, HttpsServer, sa.Engine], pki: TestPki
) -> None:
    _, server, _ = served
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        result = client.send(build(di01))
    assert result.reference == di01.referentienummer
    assert result.bv03.cross_refnummer == di01.referentienummer
    assert result.bv03.stuurgegevens.zender.organisatie == "0363"


def test_one_transaction_per_received_request_without_a_handler(
    served: tuple[Receiver, HttpsServer, sa.Engine], pki: TestPki
) -> None:
    app, server, engine = served
    begins: list[str] = []  # counted by SQLite itself: the receiver may bypass SQLAlchemy's events

    def _trace(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None)

    sa.event.listen(engine, "checkout", _trace)
    refs = []
    with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
        client.send(build(new_di01(b"<x/>", "WMO401", "0363")))
        begins.clear()
        for _ in range(4):
            di01 = new_di01(b"<x/>", "WMO401", "0363")
            refs.append(di01.referentienummer)
            client.send(build(di01))
        assert len(begins) == 4
        client.send(build(parse(build(di01))))  # a redelivery: acknowledged, one more transaction
        assert len(begins) == 5
    sa.event.remove(engine, "checkout", _trace)
    t, a = ledger_tables().inbox, ledger_tables().audit
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(t.c.referentienummer, t.c.status)).all())
        processed = (
            conn.execute(sa.select(a.c.referentienummer).where(a.c.detail == PROCESSED)).scalars().all()
        )
    assert all(status[r] == "processed" for r in refs)
    assert sorted(r for r in processed if r in refs) == sorted(refs)  # processed exactly once each
    assert app.duplicates_processed() == 0


def test_a_verified_chain_is_remembered_only_while_valid(
    pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import datetime as dt

    from cryptography import x509

    from ieb.transport import wssec

    leaf = x509.load_pem_x509_certificate(pki.party("GGK").cert.read_bytes())
    roots = x509.load_pem_x509_certificates(pki.roots.read_bytes())
    inter = x509.load_pem_x509_certificates(pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes())
    now = dt.datetime.now(dt.UTC)
    wssec._chain_cache.clear()
    chain = wssec._verify_chain(leaf, roots, inter, now)
    assert len(wssec._chain_cache) == 1
    assert wssec._verify_chain(leaf, roots, inter, now) == chain  # remembered
    with pytest.raises(wssec.CertificateError):  # after the leaf expired: checked again, refused
        wssec._verify_chain(leaf, roots, inter, leaf.not_valid_after_utc + dt.timedelta(days=1))
    other = create_test_pki(tmp_path_factory.mktemp("other"), ["0599"], label="ander TEST")
    with pytest.raises(wssec.CertificateError):  # other roots: never the remembered chain
        wssec._verify_chain(leaf, x509.load_pem_x509_certificates(other.roots.read_bytes()), inter, now)


def test_the_bv03_template_gives_the_same_bytes_as_building_it() -> None:
    import datetime as dt

    from ieb.ggk import Systeem, du01_for, fo01_for
    from ieb.transport.server import _BV03_TEMPLATES, _soap_bv03

    di01 = new_di01(b"<x/>", "WMO401", "0363")
    requests = [di01, du01_for(di01, b"<y/>"), fo01_for(di01, "IB102", "geen route")]
    zenders = [Systeem(organisatie="0363", applicatie="ieb"), Systeem(organisatie="CAK", applicatie="a&b<c")]
    for i, request in enumerate(requests * 2):
        bv03 = bv03_for(
            request,
            zender=zenders[i % 2],
            tijdstip=dt.datetime(2026, 12, 6, 17, i, 5, 123000, tzinfo=dt.UTC),
        )
        assert _BV03_TEMPLATES.render(bv03) == _soap_bv03(bv03)
        assert parse(etree.tostring(etree.fromstring(_BV03_TEMPLATES.render(bv03))[1][0])) == bv03
