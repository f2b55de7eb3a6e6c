"""Our own revoked certificate over TLS 1.3: the receiver judges the client certificate only after
the client's side of the handshake has finished, so its refusal (the ``certificate revoked`` alert)
can be waiting unread while the client's write of the request fails with TLS's EOF. That write
error is a broken pipe to urllib3, which then reads what the server sent - the alert - and the
client reports the revocation (permanent), not "verbinding verbroken" (transient: retried until
the message is given up)."""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ieb.ggk import du01_for, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation
from ieb.transport.client import GgkClient, _classify, _PeerClosedConnection
from ieb.transport.errors import PermanentSendError, TransportError
from ieb.transport.outbox import open_ledger
from ieb.transport.server import HttpsServer, Receiver
from ieb.transport.tls import TlsFiles, client_context, server_context
from tests.migrated import migrated_sqlite_url


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "0599"])


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


_BODY = b"x" * (32 << 20)  # more than loopback's socket buffers hold: the write is still going on


class _ClosingServer:
    """One TLS connection: the handshake (refusing a revoked client sends its alert), then, as soon
    as the client's request starts to arrive, a close with that data unread - the kernel answers
    the client's next write with a reset. The order in which the alert used to get lost."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.refusal: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        raw, _ = self.listener.accept()
        tls = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except ssl.SSLError as exc:
            self.refusal = exc
        select.select([tls], [], [], 10)  # the request is arriving
        tls.close()
        self.listener.close()


def _post(port: int, files: TlsFiles) -> _PeerClosedConnection:
    """A request the way urllib3 sends one: a broken pipe or reset while writing is swallowed, so
    that the answer (or the alert) the server sent before closing can be read."""
    conn = _PeerClosedConnection("127.0.0.1", port, ssl_context=client_context(files, check_hostname=False))
    conn.connect()
    assert conn.sock is not None and conn.sock.version() == "TLSv1.3"  # type: ignore[union-attr]
    with pytest.raises((BrokenPipeError, ConnectionResetError)):  # what urllib3 swallows
        conn.request("POST", "/ggk0210/OntvangAsynchroon", body=_BODY)
    return conn


def test_a_revoked_client_certificate_is_named_when_the_write_fails(pki: TestPki, tmp_path: Path) -> None:
    crl = pki.write_crls(["0599"], directory=tmp_path / "crl")
    server = _ClosingServer(
        server_context(TlsFiles(pki.party("0363").chain, pki.party("0363").key, pki.roots, crl=crl))
    )
    conn = _post(server.port, TlsFiles(pki.party("0599").chain, pki.party("0599").key, pki.roots))
    with pytest.raises(ssl.SSLError) as alert:
        conn.getresponse()  # what urllib3 does next: the server's refusal is read
    conn.close()
    server.thread.join(10)
    assert server.refusal is not None and "revoked" in str(server.refusal)
    assert "ALERT_CERTIFICATE_REVOKED" in str(alert.value)
    error = _classify(requests.exceptions.SSLError(alert.value), "https://ggk.test/x", "ref-1")
    assert isinstance(error, PermanentSendError) and "het is ingetrokken" in str(error)


def test_a_plain_dropped_connection_stays_a_dropped_connection(pki: TestPki) -> None:
    """Without an alert (accepted, then closed), reading the answer fails as a dropped connection."""
    server = _ClosingServer(
        server_context(TlsFiles(pki.party("0363").chain, pki.party("0363").key, pki.roots))
    )
    conn = _post(server.port, TlsFiles(pki.party("0599").chain, pki.party("0599").key, pki.roots))
    with pytest.raises(OSError) as err:  # RemoteDisconnected, a reset or TLS's EOF: never an alert
        conn.getresponse()
    conn.close()
    server.thread.join(10)
    assert server.refusal is None and "ALERT" not in str(err.value).upper()


def test_every_send_with_a_revoked_certificate_names_the_revocation(pki: TestPki, tmp_path: Path) -> None:
    """Through the whole client (requests, urllib3, the receiver's server): every send is refused
    as a revoked certificate, never as a dropped connection (before the fix, 13 of 20 such sends
    here ended as "verbinding verbroken")."""
    crl = pki.write_crls(["0599"], directory=tmp_path / "crl")
    engine = open_ledger(migrated_sqlite_url(tmp_path / "r.sqlite"))
    receiver = Receiver(engine, organisatie="0363", allowed_oins={pki.party("0599").oin})
    server_files = TlsFiles(pki.party("0363").chain, pki.party("0363").key, pki.roots, crl=crl)
    client_files = TlsFiles(pki.party("0599").chain, pki.party("0599").key, pki.roots)
    try:
        with HttpsServer(receiver, server_files, threads=2) as server:
            for _ in range(10):
                with GgkClient(server.url, tls=client_files) as client, pytest.raises(TransportError) as err:
                    client.send(du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>"))
                assert isinstance(err.value, PermanentSendError) and "het is ingetrokken" in str(err.value)
    finally:
        engine.dispose()
