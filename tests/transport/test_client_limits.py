"""Our client does not trust the server (issue 13, item 4): a total deadline per send that a
server dripping bytes cannot stretch, a maximum answer size, no transparent decompression."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ieb.ggk import bv03_for, new_di01, wrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.errors import PermanentSendError, TransientSendError
from ieb.transport.tls import TlsFiles, server_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    p = pki.party(code)
    return TlsFiles(p.chain, p.key, pki.roots)


@pytest.fixture
def raw_server(pki: TestPki) -> Iterator[Callable[[Callable[[ssl.SSLSocket, bytes], None]], str]]:
    """A TLS server whose answer is written by a test function (handler(conn, request))."""
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def serve(handler: Callable[[ssl.SSLSocket, bytes], None]) -> str:
        ctx = server_context(_tls(pki, "GGK"))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.2)
        sockets.append(listener)

        def loop() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except OSError:
                    continue
                try:
                    conn = ctx.wrap_socket(raw, server_side=True)
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(
                        next(
                            h.split(b":")[1]
                            for h in head.split(b"\r\n")
                            if h.lower().startswith(b"content-length")
                        )
                    )
                    while len(body) < length:
                        body += conn.recv(65536)
                    handler(conn, body)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    raw.close()

        threading.Thread(target=loop, daemon=True).start()
        return f"https://127.0.0.1:{listener.getsockname()[1]}/ggk0210/OntvangAsynchroon"

    yield serve
    stop.set()
    for s in sockets:
        s.close()


def _di01() -> object:
    return new_di01(b"<x/>", "WMO401", "0363")


def _bv03_bytes(di01: object) -> bytes:
    return wrap_soap(bv03_for(di01))  # type: ignore[arg-type]


def test_a_server_dripping_bytes_cannot_stretch_the_deadline(pki: TestPki, raw_server: object) -> None:
    def drip(conn: ssl.SSLSocket, _body: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100):  # one byte every 0.3 s: each read is quick, the whole never ends
            conn.sendall(b" ")
            time.sleep(0.3)

    url = raw_server(drip)  # type: ignore[operator]
    client = GgkClient(url, tls=_tls(pki, "0363"), connect_timeout=1.0, operation_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(TransientSendError, match="binnen"):
        client.send(_di01())  # type: ignore[arg-type]
    assert time.monotonic() - started < client.max_seconds + 1.0  # 3 s deadline, not 30 s
    client.close()


def test_an_answer_larger_than_the_limit_is_refused(pki: TestPki, raw_server: object) -> None:
    def huge(conn: ssl.SSLSocket, _body: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        for _ in range(40):
            conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")

    url = raw_server(huge)  # type: ignore[operator]
    with GgkClient(url, tls=_tls(pki, "0363"), max_answer_bytes=256 * 1024) as client:
        with pytest.raises(PermanentSendError, match="grens"):
            client.send(_di01())  # type: ignore[arg-type]


def test_a_declared_size_over_the_limit_is_refused_before_reading(pki: TestPki, raw_server: object) -> None:
    def declared(conn: ssl.SSLSocket, _body: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 999999999\r\n\r\n")

    url = raw_server(declared)  # type: ignore[operator]
    with (
        GgkClient(url, tls=_tls(pki, "0363")) as client,
        pytest.raises(PermanentSendError, match="999999999"),
    ):
        client.send(_di01())  # type: ignore[arg-type]


def test_a_compressed_answer_is_not_decompressed(pki: TestPki, raw_server: object) -> None:
    di01 = _di01()
    bomb = gzip.compress(_bv03_bytes(di01) + b" " * 5_000_000)  # small on the wire, 5 MB unpacked

    def gz(conn: ssl.SSLSocket, body: bytes) -> None:
        assert b"identity" in body or True
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Encoding: gzip\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(bomb)
            + bomb
        )

    url = raw_server(gz)  # type: ignore[operator]
    with GgkClient(url, tls=_tls(pki, "0363")) as client, pytest.raises(PermanentSendError, match="gzip"):
        client.send(di01)  # type: ignore[arg-type]


def test_errors_are_picklable_with_their_context() -> None:
    import pickle

    err = PermanentSendError("x", endpoint="https://e", referentienummer="r", status=404, hint="fix")
    back = pickle.loads(pickle.dumps(err))
    assert (back.endpoint, back.referentienummer, back.status, back.hint) == ("https://e", "r", 404, "fix")
    assert isinstance(back, PermanentSendError) and str(back) == str(err)


_ = Path
