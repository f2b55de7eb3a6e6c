"""Sender (zeep + requests, mutual TLS) against the receiver (cheroot WSGI) on 127.0.0.1."""

from __future__ import annotations

import io
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.ggk import Du01, Fo03, build, du01_for, fo01_for, new_di01, unwrap_soap, wrap_soap
from ieb.testing.hostile import mutate
from ieb.testing.pki import TestPki, create_test_pki, load_certificates
from ieb.transport.audit import BsnMaskingFilter, mask_bsns
from ieb.transport.client import (
    DeliveryRejectedError,
    GgkClient,
    TlsAdapter,
    TransientSendError,
    TransportError,
    WusSigning,
)
from ieb.transport.errors import PermanentSendError
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.server import HttpsServer, InboxEntry, Receiver, wait_until
from ieb.transport.tls import TlsFiles, client_context
from tests.migrated import migrated_sqlite_url
from tests.reference import GGK_REFERENCE, MISSING


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A second, unrelated chain with the same organisation codes and OINs."""
    return create_test_pki(tmp_path_factory.mktemp("foreign"), ["0363", "GGK"], label="vreemd TEST")


def tls(pki: TestPki, code: str, roots: TestPki | None = None) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, (roots or pki).roots)


class Handled:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, envelope: object, entry: InboxEntry) -> str:
        self.calls.append(entry.referentienummer)
        return "ok"


@pytest.fixture
def receiver(pki: TestPki, tmp_path: Path) -> Iterator[tuple[Receiver, HttpsServer, Handled]]:
    engine = open_ledger(migrated_sqlite_url(tmp_path / "gemeente.sqlite"))
    handled = Handled()
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, handler=handled)
    server = HttpsServer(app, tls(pki, "0363"), threads=4).start()
    try:
        yield app, server, handled
    finally:
        server.stop()
        engine.dispose()


def _du01() -> Du01:
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    return du01_for(di01, b"<y/>")


def _inbox(app: Receiver) -> list[sa.Row]:
    t = ledger_tables().inbox
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(t)).all())


def test_du01_is_stored_before_bv03_and_redelivery_is_not_processed_twice(
    pki: TestPki, receiver: tuple
) -> None:
    app, server, handled = receiver
    du01 = _du01()
    with GgkClient(server.url, tls=tls(pki, "GGK")) as client:
        first = client.send(du01)
        again = client.send(build(du01))  # the stored bytes, as the outbox resends them
    assert first.bv03.cross_refnummer == du01.referentienummer
    assert again.bv03.cross_refnummer == du01.referentienummer
    rows = _inbox(app)
    assert len(rows) == 1
    assert rows[0].status == "processed"
    assert rows[0].peer_oin == pki.party("GGK").oin
    assert handled.calls == [du01.referentienummer]
    t = ledger_tables().audit
    with app.engine.connect() as conn:
        outcomes = [r.outcome for r in conn.execute(sa.select(t).order_by(t.c.id))]
    assert outcomes[:1] == ["received"] and "redelivery" in outcomes


def test_second_retour_for_the_same_message_is_stored_as_duplicate(pki: TestPki, receiver: tuple) -> None:
    app, server, handled = receiver
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    with GgkClient(server.url, tls=tls(pki, "GGK")) as client:
        client.send(du01_for(di01, b"<y/>"))
        client.send(du01_for(di01, b"<y/>"))  # another referentienummer, same crossRefnummer
    assert sorted(r.status for r in _inbox(app)) == ["duplicate", "processed"]
    assert len(handled.calls) == 1


def test_fo01_is_received(pki: TestPki, receiver: tuple) -> None:
    app, server, _ = receiver
    fo01 = fo01_for(new_di01(b"<x/>", "WMO401", "0363"), "IB102")
    with GgkClient(server.url, tls=tls(pki, "GGK")) as client:
        client.send(fo01)
    [row] = _inbox(app)
    assert (row.berichtcode, row.cross_ref_nummer) == ("Fo01", fo01.cross_refnummer)


def test_bad_envelope_gets_a_fo03_naming_the_problem(pki: TestPki, receiver: tuple) -> None:
    _, server, _ = receiver
    from ieb.transport.client import make_session

    session = make_session(tls(pki, "GGK"))
    body = (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        b'<GGK:envelopRetourbericht-ggk_Du01 xmlns:GGK="http://www.stufstandaarden.nl/koppelvlak/ggk0210"/>'
        b"</soapenv:Body></soapenv:Envelope>"
    )
    response = session.post(server.url, data=body, headers={"Content-Type": "text/xml"}, timeout=5)
    assert response.status_code == 500
    answer = unwrap_soap(response.content)
    assert isinstance(answer, Fo03)
    assert answer.body.code == "RIN001"
    assert "Missing child" in answer.body.omschrijving
    assert "stuurgegevens" in (answer.body.details or "")
    session.close()


def test_oin_outside_the_allow_list_gets_ib002(pki: TestPki, receiver: tuple) -> None:
    _, server, handled = receiver
    with GgkClient(server.url, tls=tls(pki, "0363")) as client, pytest.raises(DeliveryRejectedError) as err:
        client.send(_du01())
    assert err.value.code == "IB002"
    assert handled.calls == []


def test_client_certificate_outside_the_chain_is_refused(
    pki: TestPki, foreign: TestPki, receiver: tuple
) -> None:
    _, server, handled = receiver
    # a client with a foreign certificate (same OIN!) that trusts our server
    with (
        GgkClient(server.url, tls=tls(foreign, "GGK", roots=pki)) as client,
        pytest.raises(TransportError),
    ):
        client.send(_du01())
    assert handled.calls == []


def test_server_certificate_outside_the_chain_is_refused(
    pki: TestPki, foreign: TestPki, receiver: tuple
) -> None:
    _, server, handled = receiver
    # our client, trusting only the foreign root: the receiver's certificate must fail verification
    with (
        GgkClient(server.url, tls=tls(pki, "GGK", roots=foreign)) as client,
        pytest.raises(TransportError) as err,
    ):
        client.send(_du01())
    assert "certificate verify failed" in str(err.value.__cause__) or "CERTIFICATE" in str(
        err.value.__cause__
    )
    assert handled.calls == []


def test_plain_http_is_refused(pki: TestPki) -> None:
    from ieb.transport.client import TransportError

    with pytest.raises(TransportError):
        GgkClient("http://127.0.0.1:1/x", tls=tls(pki, "GGK"))


def test_tls13_preferred_tls12_minimum_and_only_ncsc_suites(pki: TestPki, receiver: tuple) -> None:
    _, server, _ = receiver
    ctx = client_context(tls(pki, "GGK"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == "TLSv1.3"
    # TLS 1.2 with an NCSC suite works
    ctx12 = client_context(tls(pki, "GGK"))
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with ctx12.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == "TLSv1.2"
            assert s.cipher()[0].startswith("ECDHE-")
    # TLS 1.2 without ECDHE/AEAD (static RSA, CBC) is refused
    weak = client_context(tls(pki, "GGK"))
    weak.maximum_version = ssl.TLSVersion.TLSv1_2
    weak.set_ciphers("AES128-SHA:AES256-SHA")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            weak.wrap_socket(raw, server_hostname="127.0.0.1").close()


def test_timeout_is_a_transient_error(pki: TestPki) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts TCP, never answers TLS
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/x"
        with GgkClient(url, tls=tls(pki, "GGK"), connect_timeout=0.5, operation_timeout=0.5) as client:
            with pytest.raises(TransientSendError):
                client.send(_du01())
    finally:
        listener.close()


def test_signed_request_and_verified_signed_answer(pki: TestPki, tmp_path: Path) -> None:
    """WUS 2W-be-S both ways: the receiver verifies our signature, we verify its signed Bv03."""
    engine = open_ledger(migrated_sqlite_url(tmp_path / "signed.sqlite"))
    roots = pki.roots.read_bytes()
    inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
    g, k = pki.party("0363"), pki.party("GGK")
    app = Receiver(
        engine,
        organisatie="0363",
        signing=WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter),
        require_signature=True,
    )
    with HttpsServer(app, tls(pki, "0363"), threads=2) as server:
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
        with GgkClient(server.url, tls=tls(pki, "GGK"), signing=signing) as client:
            result = client.send(_du01())
        assert any(p.endswith("}Body") for p in result.signed_parts)
        assert any(p.endswith("}SignatureConfirmation") for p in result.signed_parts)
        # an unsigned request is refused when signatures are required
        with GgkClient(server.url, tls=tls(pki, "GGK")) as plain, pytest.raises(DeliveryRejectedError):
            plain.send(_du01())
        # a request signed by another party of the same PKI than the TLS peer: IB002, not processed
        foreign_signer = WusSigning(
            g.key.read_bytes(), g.cert.read_bytes(), roots, inter, verify_answers=False
        )
        with (
            GgkClient(server.url, tls=tls(pki, "GGK"), signing=foreign_signer) as forged,
            pytest.raises(DeliveryRejectedError) as err,
        ):
            forged.send(_du01())
        assert err.value.code == "IB002" and "ondertekenaar" in str(err.value)
        # and our client refuses an answer signed by anyone but the receiver it expects
        picky = WusSigning(
            k.key.read_bytes(), k.cert.read_bytes(), roots, inter, peer_oins=frozenset({k.oin})
        )
        with GgkClient(server.url, tls=tls(pki, "GGK"), signing=picky) as client:
            # a wrongly signed answer is a configuration fault on one side: permanent, not retried
            with pytest.raises(PermanentSendError, match="ondertekenaar"):
                client.send(_du01())
        assert len(_inbox(app)) == 2  # the first and the picky one; never the forged one
    engine.dispose()


def test_garbage_signature_gets_a_fo03_not_an_internal_error(pki: TestPki, tmp_path: Path) -> None:
    """Hostile WS-Security headers (broken base64 certificate, bogus C14N prefixes) are IB002."""
    import requests

    engine = open_ledger(migrated_sqlite_url(tmp_path / "garbage.sqlite"))
    roots = pki.roots.read_bytes()
    g, k = pki.party("0363"), pki.party("GGK")
    app = Receiver(
        engine,
        organisatie="0363",
        signing=WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots),
        require_signature=True,
    )
    with HttpsServer(app, tls(pki, "0363"), threads=2) as server:
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots)
        with GgkClient(server.url, tls=tls(pki, "GGK"), signing=signing) as client:
            _, signed = client.soap_request(_du01())
        session = requests.Session()
        session.mount("https://", TlsAdapter(client_context(tls(pki, "GGK"))))
        for bad in (
            signed.replace(b"<wsse:BinarySecurityToken", b"<wsse:BinarySecurityToken x='1'", 1).replace(
                b'ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3">',
                b'ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3">MIIB',
                1,
            ),
            signed.replace(
                b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
                b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">'
                b'<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="a b"/>'
                b"</ds:CanonicalizationMethod>",
                1,
            ),
        ):
            answer = session.post(server.url, data=bad, headers={"Content-Type": "text/xml"}, timeout=10)
            fo03 = unwrap_soap(answer.content)
            assert isinstance(fo03, Fo03) and fo03.body.code == "IB002", answer.content[:500]
        session.close()
    assert _inbox(app) == []
    engine.dispose()


def test_request_is_valid_for_the_published_wsdl(pki: TestPki) -> None:
    """Our zeep-built request body reads back under the published StUF-GGk 0210 WSDL."""
    import zeep
    from lxml import etree

    wsdl = GGK_REFERENCE / "ggk0210" / "ggkberichten" / "ggk0210_OntvangAsynchroon_ggkberichten.wsdl"
    if not wsdl.is_file():
        pytest.skip(MISSING)
    client = GgkClient("https://127.0.0.1:1/x", tls=tls(pki, "GGK"))
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    operation, data = client.soap_request(di01)
    assert operation == "ggk_Di01"
    published = zeep.Client(str(wsdl), settings=zeep.Settings(strict=True, forbid_dtd=True))
    body = etree.fromstring(data).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    element = published.get_element(body.tag)
    value = element.parse(body, published.wsdl.types)
    assert value.stuurgegevens.referentienummer == di01.referentienummer
    assert value.parameters.bericht.xmlBestand == b"<x/>"
    client.close()


def test_bsn_masking_filter_masks_every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    assert mask_bsns("bsn 999900006 ref 2a984b6a-2d9b-43bb-851d-123456789012") == (
        "bsn ******006 ref 2a984b6a-2d9b-43bb-851d-123456789012"
    )
    assert mask_bsns("20260101120000 00000099000000363000") == "20260101120000 00000099000000363000"
    logger = logging.getLogger("ieb.test.masking")
    handler = logging.Handler()
    records: list[logging.LogRecord] = []
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(BsnMaskingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("client %s heeft geen retour", "999900018")
        try:
            raise ValueError("Bsn 999900031 onbekend")
        except ValueError:
            logger.exception("fout")
    finally:
        logger.removeHandler(handler)
    text = " ".join(r.getMessage() + (r.exc_text or "") for r in records)
    assert "999900018" not in text and "999900031" not in text
    assert "******018" in text


def test_requests_session_does_not_trust_the_system_store(pki: TestPki) -> None:
    from ieb.transport.client import make_session

    session = make_session(tls(pki, "GGK"))
    assert session.verify == str(pki.roots)
    assert session.trust_env is False
    from ieb.transport.client import TransportError

    with pytest.raises(TransportError, match="onversleuteld"):
        session.get("http://127.0.0.1:1/")
    session.close()


# ------------------------------------------------------------------------- hostile peers (issue 13)


def _tls_socket(pki: TestPki, server: HttpsServer, code: str = "GGK") -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return client_context(tls(pki, code)).wrap_socket(raw, server_hostname="127.0.0.1")


def _answer(s: ssl.SSLSocket) -> bytes:
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except (TimeoutError, ssl.SSLError, ConnectionError):
        pass
    return data


def _send_time(pki: TestPki, server: HttpsServer) -> float:
    started = time.monotonic()
    with GgkClient(server.url, tls=tls(pki, "GGK"), connect_timeout=10, operation_timeout=20) as client:
        client.send(_du01())
    return time.monotonic() - started


def test_idle_and_slow_header_connections_do_not_delay_a_legitimate_request(
    pki: TestPki, receiver: tuple
) -> None:
    """Ten idle TCP connections (no TLS) and ten slow-header connections with a trusted certificate
    (more than the 4 worker threads) cost the next sender less than a second."""
    _, server, handled = receiver
    baseline = _send_time(pki, server)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(10)]
    slow = [_tls_socket(pki, server) for _ in range(10)]
    try:
        for s in slow:
            s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n")
        time.sleep(0.2)
        for s in slow:
            s.sendall(b"X-Slow: 1\r\n")  # still no end of the head
        delayed = _send_time(pki, server)
    finally:
        for s in idle + slow:
            s.close()
    assert delayed - baseline < 1.0, (baseline, delayed)
    assert len(handled.calls) == 2


def test_oin_outside_the_allow_list_is_refused_before_any_http_is_read(pki: TestPki, receiver: tuple) -> None:
    _, server, handled = receiver
    with _tls_socket(pki, server, "0363") as s:  # trusted chain, OIN not allowed; sends nothing
        s.settimeout(5)
        answer = _answer(s)
    assert answer.startswith(b"HTTP/1.1 500 ")
    fo03 = unwrap_soap(answer.split(b"\r\n\r\n", 1)[1])
    assert isinstance(fo03, Fo03) and fo03.body.code == "IB002"
    assert handled.calls == []


def test_huge_header_gets_431_at_once(pki: TestPki, receiver: tuple) -> None:
    _, server, _ = receiver
    with _tls_socket(pki, server) as s:
        s.settimeout(5)
        s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000)
        assert _answer(s).startswith(b"HTTP/1.1 431 ")
    with _tls_socket(pki, server) as s:
        s.settimeout(5)
        many = b"".join(b"X-H%d: 1\r\n" % i for i in range(100))
        s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        assert _answer(s).startswith(b"HTTP/1.1 431 ")


def test_declared_content_length_above_the_limit_gets_413_at_once(pki: TestPki, receiver: tuple) -> None:
    _, server, _ = receiver
    with _tls_socket(pki, server) as s:
        s.settimeout(5)
        s.sendall(
            b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000000\r\n\r\n<soap"
        )
        started = time.monotonic()
        answer = _answer(s)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert time.monotonic() - started < 5


def test_limits_close_slow_handshakes_heads_and_bodies(pki: TestPki, tmp_path: Path) -> None:
    from ieb.transport.server import ServerLimits

    engine = open_ledger(migrated_sqlite_url(tmp_path / "limits.sqlite"))
    app = Receiver(engine, organisatie="0363")
    limits = ServerLimits(handshake_timeout=0.5, header_timeout=0.5, body_grace=0.5, max_connections=3)
    with HttpsServer(app, tls(pki, "0363"), threads=2, limits=limits) as server:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        assert idle.recv(1) == b""  # closed at the handshake deadline
        idle.close()
        with _tls_socket(pki, server) as s:
            s.sendall(b"POST / HTTP/1.1\r\n")
            s.settimeout(5)
            assert _answer(s) == b""  # closed at the head deadline
        with _tls_socket(pki, server) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<a")
            s.settimeout(5)
            assert b"408" in _answer(s).split(b"\r\n", 1)[0]  # the body did not come in time
        # the connection cap: three unauthenticated ones are held open; a fourth takes the place of
        # the oldest of them (none has passed admission)
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        assert held[0].recv(1) == b""
        for s in [*held, extra]:
            s.close()
        assert wait_until(lambda: server.open_connections == 0, 5)
    engine.dispose()


def test_failed_handshakes_are_logged_without_secrets(
    pki: TestPki, foreign: TestPki, receiver: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    _, server, _ = receiver
    caplog.set_level(logging.INFO, logger="ieb.transport.server")
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    ctx = client_context(tls(foreign, "GGK", roots=pki))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            s.recv(1)
    assert wait_until(lambda: any("TLS-handshake" in r.getMessage() for r in caplog.records), 5)
    record = next(r for r in caplog.records if "TLS-handshake" in r.getMessage())
    assert record.levelno == logging.WARNING


def test_receiver_keeps_no_per_message_state_in_memory(pki: TestPki, receiver: tuple) -> None:
    app, server, _ = receiver
    with GgkClient(server.url, tls=tls(pki, "GGK")) as client:
        for _ in range(3):
            client.send(_du01())
    assert not any(isinstance(v, dict | list | set) and v for v in vars(app).values())
    assert len(app.outcomes) == 3 and set(app.outcomes.values()) == {"ok"}
    assert app.duplicates_processed() == 0


BSN_RUN = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")


@pytest.fixture(scope="module")
def wsgi_receiver(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, bytes]]:
    from cryptography.hazmat.primitives import serialization

    engine = open_ledger(migrated_sqlite_url(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"))
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, handler=Handled())
    der = load_certificates(pki.party("GGK").cert)[0].public_bytes(serialization.Encoding.DER)
    yield app, der
    engine.dispose()


def _post(app: Receiver, der: bytes, data: bytes) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "ieb.peer_cert": der,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "1",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], body


def _hostile_samples() -> list[bytes]:
    di01 = new_di01(b"<x>999900006</x>", "WMO401", "0363")
    return [
        wrap_soap(du01_for(di01, b"<y>999900006</y>")),
        wrap_soap(di01),
        wrap_soap(fo01_for(di01, "IB009")),
    ]


HOSTILE_SAMPLES = _hostile_samples()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, len(HOSTILE_SAMPLES) - 1), seed=st.integers(0, 2**32 - 1))
def test_receiver_answers_every_hostile_body_without_internal_errors_or_bsns(
    wsgi_receiver: tuple[Receiver, bytes], caplog: pytest.LogCaptureFixture, which: int, seed: int
) -> None:
    """Mutants of Du01/Di01/Fo01 requests: the receiver answers a Bv03 or a Fo03 naming the problem
    (never StUF058 "interne fout"), and neither the Fo03 texts nor the log lines quote a BSN."""
    app, der = wsgi_receiver
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="ieb")
    status, body = _post(app, der, mutate(HOSTILE_SAMPLES[which], random.Random(seed)))
    answer = unwrap_soap(body)
    if isinstance(answer, Fo03):
        assert answer.body.code != "StUF058", answer.body.omschrijving
        text = f"{answer.body.omschrijving} {answer.body.details or ''}"
        assert not BSN_RUN.search(text), text
    else:
        assert status.startswith("200")
    for record in caplog.records:
        assert not BSN_RUN.search(record.getMessage()), record.getMessage()


def test_one_address_cannot_take_every_connection(pki: TestPki, tmp_path: Path) -> None:
    from ieb.transport.server import ServerLimits

    engine = open_ledger(migrated_sqlite_url(tmp_path / "per-address.sqlite"))
    limits = ServerLimits(max_connections_per_address=2)
    with HttpsServer(Receiver(engine, organisatie="0363"), tls(pki, "0363"), limits=limits) as server:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
        assert wait_until(lambda: server.open_connections == 2, 5)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        assert extra.recv(1) == b""  # closed at once
        for s in [*held, extra]:
            s.close()
        assert wait_until(lambda: server.open_connections == 0, 15)
    engine.dispose()


def test_idle_connections_from_many_addresses_cannot_lock_out_the_ggk(pki: TestPki, tmp_path: Path) -> None:
    """Unauthenticated idle TCP connections from several addresses fill the total cap: a legitimate
    mutual-TLS request still gets in at once (the oldest unadmitted connection makes room), and
    admitted connections are never evicted for unauthenticated ones."""
    from ieb.transport.server import ServerLimits

    engine = open_ledger(migrated_sqlite_url(tmp_path / "evict.sqlite"))
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, handler=Handled())
    limits = ServerLimits(max_connections=8, max_connections_per_address=8)
    with HttpsServer(app, tls(pki, "0363"), threads=2, limits=limits) as server:
        idle: list[socket.socket] = []
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
            for _ in range(2):
                s = socket.create_connection(
                    ("127.0.0.1", server.port), timeout=5, source_address=(source, 0)
                )
                idle.append(s)
        assert wait_until(lambda: server.open_connections == 8, 5)
        started = time.monotonic()
        with GgkClient(server.url, tls=tls(pki, "GGK"), connect_timeout=5, operation_timeout=5) as client:
            client.send(_du01())
        assert time.monotonic() - started < 1.0
        # admitted connections stay: hold eight mutual-TLS connections, then more idle ones come
        admitted = [_tls_socket(pki, server) for _ in range(8)]
        assert wait_until(lambda: server.open_connections == 8, 5)
        late = socket.create_connection(
            ("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.6", 0)
        )
        assert late.recv(1) == b""  # refused: nothing left to evict
        for s in admitted:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            s.settimeout(5)
            assert s.recv(12).startswith(b"HTTP/1.1")  # still served
        for s in [*idle, *admitted, late]:
            s.close()
        assert wait_until(lambda: server.open_connections == 0, 15)
    engine.dispose()


def test_connection_refused_and_timeouts_are_dutch_with_an_oplossing(pki: TestPki) -> None:
    """No urllib3 text up front: the cause in Dutch, an oplossing, the library's errno at the end."""
    from ieb.transport.errors import describe

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with GgkClient(f"https://127.0.0.1:{port}/x", tls=tls(pki, "0363"), connect_timeout=2) as client:
        with pytest.raises(TransientSendError) as refused:
            client.send(_du01())
    text = describe(refused.value)
    assert text.startswith("GGk weigert de verbinding op https://127.0.0.1:"), text
    assert "oplossing:" in text and text.endswith("([Errno 111] Connection refused)"), text
    assert "_WatchedPool" not in text and "Max retries" not in text
    assert refused.value.unreachable
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # accepts TCP, never answers
    try:
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/x"
        with GgkClient(url, tls=tls(pki, "0363"), connect_timeout=1, operation_timeout=1) as client:
            with pytest.raises(TransientSendError) as timed_out:
                client.send(_du01())
    finally:
        silent.close()
    text = describe(timed_out.value)
    assert "GGk" in text and "oplossing:" in text and not text.startswith("time-out"), text
    assert timed_out.value.unreachable


def test_a_plain_http_program_on_the_ggk_port_is_named_and_not_retried_as_a_dropped_connection(
    pki: TestPki,
) -> None:
    """Another program (plain HTTP) on the endpoint's port answers the ClientHello with text: the
    sender says no TLS server answers there (unreachable: the run stops after one round, the
    messages stay pending) instead of "verbinding verbroken" retried into a dead letter."""
    import threading

    from ieb.transport.errors import describe

    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(4)

    def answer() -> None:
        conn, _ = plain.accept()
        with conn:
            conn.recv(4096)  # the ClientHello
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{plain.getsockname()[1]}/x"
        with GgkClient(url, tls=tls(pki, "0363"), connect_timeout=5, operation_timeout=5) as client:
            with pytest.raises(TransientSendError) as wrong:
                client.send(_du01())
    finally:
        thread.join(10)
        plain.close()
    text = describe(wrong.value)
    assert text.startswith(f"op {url} antwoordt geen TLS-server"), text
    assert "oplossing: controleer host en poort in ggk.endpoint" in text, text
    assert wrong.value.unreachable


def test_a_peer_that_goes_away_while_we_write_is_one_log_line_without_a_traceback(
    receiver: tuple, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cheroot reports a client that disconnected mid-answer (SSLEOFError, an injected drop) with
    a traceback at ERROR; ours is one INFO line, the traceback only at DEBUG."""
    from ieb.transport import httpd

    monkeypatch.setattr(httpd, "_refusals", httpd._RateLimitedLog())  # earlier tests used the burst
    _, server, _ = receiver
    caplog.set_level(logging.INFO, logger="ieb.transport.server")
    for exc in (
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        ConnectionAbortedError("foutinjectie"),
    ):
        try:
            raise exc
        except OSError:
            server.server.error_log(
                "Unhandled error while processing an incoming connection", logging.ERROR, True
            )
    records = [r for r in caplog.records if r.name == "ieb.transport.server"]
    assert len(records) == 2
    for record in records:
        assert record.levelno == logging.INFO and record.exc_info is None
        assert "\n" not in record.getMessage() and "Traceback" not in caplog.text


def test_413_names_the_sizes_in_mb_and_chunked_gets_411(
    pki: TestPki, receiver: tuple, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal line must survive BSN masking (an 8-digit byte count was masked to ********), and
    a chunked request is answered 411 as docs/security.md says."""
    from ieb.transport import httpd

    monkeypatch.setattr(httpd, "_refusals", httpd._RateLimitedLog())  # earlier tests used the burst
    _, server, _ = receiver
    caplog.set_level(logging.WARNING, logger="ieb.transport.server")
    with _tls_socket(pki, server) as s:
        s.settimeout(5)
        s.sendall(
            b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000000\r\n\r\n"
        )
        answer = _answer(s)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"57220,5 MB is groter dan 48,0 MB" in answer, answer
    line = next(r.getMessage() for r in caplog.records if "413" in r.getMessage())
    assert "48,0 MB" in line and "*" not in line, line
    with _tls_socket(pki, server) as s:
        s.settimeout(5)
        s.sendall(
            b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        assert _answer(s).startswith(b"HTTP/1.1 411 ")


def test_ieb_serve_logging_keeps_the_handshake_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ieb serve`` shows TLS handshake failures as WARNING, but not those the receiver's rate
    limit lowered to DEBUG (4 x 64 idle connections gave 705 WARNING lines in 25 s)."""
    from ieb.service.logs import TlsHandshakeFilter
    from ieb.transport import httpd

    limiter = httpd._RateLimitedLog(burst=2, window=60)
    monkeypatch.setattr(httpd, "_refusals", limiter)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if TlsHandshakeFilter().filter(record):
                seen.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("ieb.transport.server")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        for i in range(10):
            limiter.log(logging.INFO, "TLS-handshake van 127.0.0.2:%s niet binnen 10 s voltooid", i)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert len(seen) == 2, [r.getMessage() for r in seen]


def test_the_simulator_delivering_to_the_gemeente_names_the_gemeentes_receiver(pki: TestPki) -> None:
    """The simulator's retour deliveries (a GgkClient towards the gemeente's receiver) name that
    receiver and the simulator's callback setting, not the GGk and ggk.endpoint (trial finding)."""
    from ieb.simulator.server import GEMEENTE_PEER
    from ieb.transport.errors import describe

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    url = f"https://127.0.0.1:{port}/ggk0210/OntvangAsynchroon"
    with GgkClient(url, tls=tls(pki, "GGK"), connect_timeout=2, peer=GEMEENTE_PEER) as client:
        with pytest.raises(TransientSendError) as refused:
            client.send(_du01())
    text = describe(refused.value)
    assert text.startswith("ontvanger van de gemeente weigert de verbinding op https://127.0.0.1:"), text
    assert "`ieb serve`" in text and "callback in simulator.toml" in text, text
    assert "GGk" not in text and "ggk.endpoint" not in text, text
    assert refused.value.unreachable
