"""Attack: a GGk that drips its answer's HEADERS one byte at a time. The total deadline cuts it off;
the cut-off answer must be a transient failure (resend later), not read as a complete answer
(an empty HTTP 200 would be a permanent failure that needs a clerk)."""

from __future__ import annotations

import ssl
import threading

import pytest

from ieb.ggk import new_di01
from ieb.testing.pki import TestPki
from ieb.transport.client import GgkClient
from ieb.transport.errors import TransientSendError
from tests.transport.test_client_limits import _tls, pki, raw_server

__all__ = ["pki", "raw_server"]  # fixtures


@pytest.mark.parametrize(
    "head", [b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Slow: "]
)
def test_a_server_dripping_its_headers_is_a_transient_failure(
    pki: TestPki, raw_server: object, head: bytes
) -> None:
    hung_up = threading.Event()

    def drip(conn: ssl.SSLSocket, _body: bytes) -> None:
        conn.sendall(head)
        try:
            for _ in range(300):  # one byte every 0.1 s until the client hangs up (at most 30 s)
                conn.sendall(b"a")
                if hung_up.wait(0.1):
                    break
        except OSError:
            pass

    url = raw_server(drip)  # type: ignore[operator]
    client = GgkClient(url, tls=_tls(pki, "0363"), connect_timeout=0.5, operation_timeout=0.5)
    try:
        with pytest.raises(TransientSendError, match="binnen"):
            client.send(new_di01(b"<x/>", "WMO401", "0363"))
    finally:
        hung_up.set()
        client.close()
