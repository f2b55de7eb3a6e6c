"""Issue 22 (B3, round 7): ``GgkClient.send`` posts a copy of a request prepared once per operation
(``session.send``) instead of ``session.post`` preparing the same URL and headers for every send.
What goes over the wire must not change: the request line, every header in its order and the
body are compared byte for byte with what ``session.post`` (the previous code, kept here as the
oracle) sends to the same server, for each operation, and with a cookie the server set."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ieb.ggk import SOAP_ACTIONS, build, bv03_for, fo01_for, new_di01, parse, wrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.tls import TlsFiles, server_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


class _Recorder:
    """A TLS server on loopback that records each request's raw head and body and answers with a
    Bv03 for it (keep-alive; ``set_cookie`` adds a Set-Cookie header to the answers)."""

    def __init__(self, pki: TestPki) -> None:
        self.requests: list[tuple[bytes, bytes]] = []
        self.set_cookie: bytes | None = None
        self._ctx = server_context(_tls(pki, "GGK"))
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}/ggk0210/OntvangAsynchroon"

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
            conn.settimeout(5)
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    int(h.split(b":", 1)[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length:")
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                body, data = rest[:length], rest[length:]
                self.requests.append((head, body))
                envelope = parse(body.split(b"<soap-env:Body>", 1)[1].split(b"</soap-env:Body>", 1)[0])
                answer = wrap_soap(bv03_for(envelope))
                extra = b"Set-Cookie: " + self.set_cookie + b"\r\n" if self.set_cookie else b""
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
                    + extra
                    + b"Content-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
        except (OSError, ssl.SSLError, StopIteration):
            pass
        finally:
            raw.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def recorder(pki: TestPki) -> Iterator[_Recorder]:
    server = _Recorder(pki)
    yield server
    server.close()


def _old_send(client: GgkClient, envelope: bytes) -> Any:
    """The previous ``send``'s HTTP call (the oracle): ``session.post`` with these headers."""
    operation, data = client.soap_request(envelope)
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{SOAP_ACTIONS[operation]}"',
        "Accept-Encoding": "identity",
    }
    response = client.session.post(
        client.endpoint,
        data=data,
        headers=headers,
        timeout=(client.connect_timeout, client.operation_timeout),
        allow_redirects=False,
        stream=True,
    )
    response.content  # noqa: B018 - read it, so the connection goes back to the pool
    return response


def _envelopes() -> list[bytes]:
    di01 = new_di01(b"<x>a &amp; b</x>", "WMO401", "0363")
    fo01 = fo01_for(di01, "IB009")
    return [build(di01), build(new_di01(b"<y/>", "WMO402", "0363")), build(fo01)]


def test_send_puts_the_same_bytes_on_the_wire_as_session_post(pki: TestPki, recorder: _Recorder) -> None:
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        for envelope in _envelopes():
            for _ in range(2):  # the second send uses the request prepared at the first
                result = client.send(envelope)
                assert result.reference == parse(envelope).referentienummer
                _old_send(client, envelope)
                (new_head, new_body), (old_head, old_body) = recorder.requests[-2:]
                assert new_head == old_head
                assert new_body == old_body
                assert b"Content-Length: %d" % len(new_body) in new_head
    assert len(recorder.requests) == 12


def test_cookies_the_server_set_go_along_as_with_session_post(pki: TestPki, recorder: _Recorder) -> None:
    recorder.set_cookie = b"route=ggk-2; Path=/"
    envelope = _envelopes()[0]
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(envelope)  # the answer sets the cookie
        client.send(envelope)
        _old_send(client, envelope)
        (new_head, new_body), (old_head, old_body) = recorder.requests[-2:]
        assert b"\r\nCookie: route=ggk-2" in new_head
        assert (new_head, new_body) == (old_head, old_body)


def test_a_replaced_session_is_used_from_then_on(pki: TestPki, recorder: _Recorder) -> None:
    envelope = _envelopes()[0]
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(envelope)
        client.session.close()
        from ieb.transport.client import make_session

        client.session = make_session(_tls(pki, "GGK"))
        client.session.headers["User-Agent"] = "ieb-test"
        client.send(envelope)
        assert b"\r\nUser-Agent: ieb-test\r\n" in recorder.requests[-1][0]


def test_a_header_or_auth_set_on_the_session_after_a_send_goes_along(
    pki: TestPki, recorder: _Recorder
) -> None:
    """The request prepared at the first send is made again when the caller changes the session's
    headers or auth afterwards, as ``session.post`` would pick them up."""
    envelope = _envelopes()[0]
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(envelope)
        client.session.headers["X-Ggk-Route"] = "twee"
        client.send(envelope)
        assert b"\r\nX-Ggk-Route: twee\r\n" in recorder.requests[-1][0]
        client.session.auth = ("gebruiker", "geheim")
        client.send(envelope)
        _old_send(client, envelope)
        (new_head, new_body), (old_head, old_body) = recorder.requests[-2:]
        assert b"\r\nAuthorization: Basic " in new_head
        assert (new_head, new_body) == (old_head, old_body)
        del client.session.headers["X-Ggk-Route"]
        client.send(envelope)
        assert b"X-Ggk-Route" not in recorder.requests[-1][0]


def test_the_environment_counts_only_for_a_session_that_trusts_it(
    pki: TestPki, recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with ``session.post``: our session (``trust_env=False``) ignores HTTPS_PROXY; a session
    that trusts the environment goes through the proxy (here: nothing listens there)."""
    from ieb.transport.errors import TransientSendError

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    envelope = _envelopes()[0]
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(envelope)
        assert len(recorder.requests) == 1
        client.session.trust_env = True
        with pytest.raises(TransientSendError):
            client.send(envelope)
        with pytest.raises(requests.exceptions.ProxyError):
            _old_send(client, envelope)
    assert len(recorder.requests) == 1
