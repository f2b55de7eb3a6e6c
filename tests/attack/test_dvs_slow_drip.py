"""Attack: a DVS that drips its answer one byte at a time (each byte well within the read timeout)
must not hold ``ieb validate --dvs`` past its total ``timeout``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ieb.conformance.dvs import DvsClient, DvsError

_CAP = 30.0  # the server gives up dripping after this (bounds a run against an unfixed client)


def _serve(sock: socket.socket, phase: str, stop: threading.Event) -> None:
    conn, _ = sock.accept()
    with conn:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        if phase == "body":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n"
            )
            drip = b" "
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            drip = b"a"
        ends = time.monotonic() + _CAP
        try:
            while not stop.is_set() and time.monotonic() < ends:
                conn.sendall(drip)
                stop.wait(0.02)
        except OSError:  # the client hung up: what we want
            pass


@pytest.fixture(params=["headers", "body"])
def dripping_dvs(request: pytest.FixtureRequest) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, request.param, stop), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        sock.close()
        thread.join(10)


def test_a_dripping_dvs_ends_at_the_total_timeout(dripping_dvs: str) -> None:
    client = DvsClient(dripping_dvs, connect_timeout=5, timeout=0.5)
    try:
        with pytest.raises(DvsError, match=r"niet binnen 0\.5 seconden"):
            client.validate(b"<x/>")
    finally:
        client.close()


def test_a_password_in_the_dvs_address_is_not_in_the_error() -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = DvsClient(f"http://gebruiker:geheim@127.0.0.1:{port}", connect_timeout=5, timeout=5)
    try:
        with pytest.raises(DvsError, match="niet bereikbaar") as raised:
            client.validate(b"<x/>")
    finally:
        client.close()
    assert "geheim" not in str(raised.value) and f"http://127.0.0.1:{port}/validatie" in str(raised.value)
