"""Our own revoked certificate over TLS 1.3: the receiver judges the client certificate only after
the client's side of the handshake has finished, so its refusal (the ``certificate revoked`` alert)
can be waiting unread while the client's write of the request fails with a bare EOF or reset. The
client reads that alert and reports the revocation (permanent), not "verbinding verbroken"
(transient: retried until the message is given up)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation
from ieb.transport.client import _AlertReadingConnection, _classify
from ieb.transport.errors import PermanentSendError
from ieb.transport.tls import TlsFiles, client_context, server_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "0599"])


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


class _RefusingServer:
    """One TLS 1.3 connection: the handshake refuses the revoked client (the alert goes out), then,
    once the client has written, the socket is closed with that data unread (the kernel answers
    the client's next write with a reset) - the order in which the alert got lost."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.client_wrote = threading.Event()
        self.closed = threading.Event()
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
        self.client_wrote.wait(10)
        tls.close()  # (wrap_socket took over raw's descriptor)
        self.closed.set()


def test_a_revoked_client_certificate_is_named_when_the_write_fails(pki: TestPki, tmp_path: Path) -> None:
    crl = pki.write_crls(["0599"], directory=tmp_path / "crl")
    server_files = TlsFiles(pki.party("0363").chain, pki.party("0363").key, pki.roots, crl=crl)
    server = _RefusingServer(server_context(server_files))
    client_files = TlsFiles(pki.party("0599").chain, pki.party("0599").key, pki.roots)
    conn = _AlertReadingConnection(
        "127.0.0.1", server.port, ssl_context=client_context(client_files, check_hostname=False)
    )
    conn.connect()
    assert conn.sock is not None and conn.sock.version() == "TLSv1.3"  # type: ignore[union-attr]
    conn.send(b"POST /ggk HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")  # accepted by the kernel
    server.client_wrote.set()
    assert server.closed.wait(10)
    server.thread.join(10)
    assert server.refusal is not None and "revoked" in str(server.refusal)
    with pytest.raises(ssl.SSLError) as err:
        for _ in range(50):  # the reset answers the next write (one is enough on Linux)
            conn.send(b"x" * 65536)
    assert "ALERT_CERTIFICATE_REVOKED" in str(err.value)
    assert isinstance(err.value.__cause__, OSError)  # the write's own error, kept as the cause
    error = _classify(requests.exceptions.SSLError(err.value), "https://ggk.test/x", "ref-1")
    assert isinstance(error, PermanentSendError) and "het is ingetrokken" in str(error)
    conn.close()
    server.listener.close()


def test_a_plain_dropped_connection_stays_a_connection_error(pki: TestPki) -> None:
    """Without an alert (the server just closed), the write's own error is raised unchanged."""
    listener = socket.create_server(("127.0.0.1", 0))
    server_files = TlsFiles(pki.party("0363").chain, pki.party("0363").key, pki.roots)
    context = server_context(server_files)
    wrote, closed = threading.Event(), threading.Event()

    def serve() -> None:
        raw, _ = listener.accept()
        tls = context.wrap_socket(raw, server_side=True)
        wrote.wait(10)
        tls.close()  # unread data: a reset, no alert
        closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_files = TlsFiles(pki.party("0599").chain, pki.party("0599").key, pki.roots)
    conn = _AlertReadingConnection(
        "127.0.0.1", listener.getsockname()[1], ssl_context=client_context(client_files, check_hostname=False)
    )
    conn.connect()
    conn.send(b"POST /ggk HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    wrote.set()
    assert closed.wait(10)
    with pytest.raises(OSError) as err:
        for _ in range(50):
            conn.send(b"x" * 65536)
    assert "ALERT" not in str(err.value).upper()
    conn.close()
    listener.close()
    thread.join(10)
