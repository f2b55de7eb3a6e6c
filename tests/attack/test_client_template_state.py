"""Attack on B3 round 7: ``GgkClient.send`` posts a copy of a request prepared once per operation.
That copy froze everything ``session.post`` read afresh for every message: the endpoint
(``client.endpoint`` changed -> the message went to the OLD GGk), the session's headers changed in
place (``client.session.headers[...] = ...``: the old value went out), its auth (computed per
request by an auth object: one value for every message), its query parameters, its hooks, and
``~/.netrc`` for a session that trusts the environment. Each case here is compared with what
``session.post`` (the previous code, the oracle) puts on the wire to the same server."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ieb.ggk import build, new_di01
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "transport"))  # the recorder's own folder
from test_client_prepared import _old_send, _Recorder, _tls  # recording TLS server, the session.post oracle


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


@pytest.fixture
def recorder(pki: TestPki) -> Iterator[_Recorder]:
    server = _Recorder(pki)
    yield server
    server.close()


ENVELOPE = build(new_di01(b"<x/>", "WMO401", "0363"))


def _same_as_session_post(client: GgkClient, recorder: _Recorder) -> bytes:
    client.send(ENVELOPE)
    _old_send(client, ENVELOPE)
    (new_head, new_body), (old_head, old_body) = recorder.requests[-2:]
    assert new_head == old_head
    assert new_body == old_body
    return new_head


def test_session_headers_changed_between_sends(pki: TestPki, recorder: _Recorder) -> None:
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(ENVELOPE)
        client.session.headers["X-Correlatie"] = "run-2"
        client.session.headers["User-Agent"] = "ieb-attack"
        head = _same_as_session_post(client, recorder)
        assert b"\r\nX-Correlatie: run-2" in head
        del client.session.headers["X-Correlatie"]
        client.session.headers["User-Agent"] = "ieb-attack-2"
        head = _same_as_session_post(client, recorder)
        assert b"X-Correlatie" not in head and b"ieb-attack-2" in head


def test_endpoint_changed_between_sends(pki: TestPki, recorder: _Recorder) -> None:
    other = _Recorder(pki)
    try:
        with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
            client.send(ENVELOPE)
            client.endpoint = other.url.replace("OntvangAsynchroon", "Ontvang2")
            client.send(ENVELOPE)
        assert len(recorder.requests) == 1  # not to the old GGk
        assert other.requests[0][0].startswith(b"POST /ggk0210/Ontvang2 HTTP/1.1\r\n")
    finally:
        other.close()


class _CountingAuth(requests.auth.AuthBase):
    """An auth object computing a new value per request (a token, a nonce)."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Token {next(self.counter)}"
        return r


def test_auth_is_computed_per_message(pki: TestPki, recorder: _Recorder) -> None:
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(ENVELOPE)
        client.session.auth = _CountingAuth()
        client.send(ENVELOPE)
        client.send(ENVELOPE)
    tokens = [
        next(h for h in head.split(b"\r\n") if h.startswith(b"Authorization"))
        for head, _ in recorder.requests[1:]
    ]
    assert tokens == [b"Authorization: Token 1", b"Authorization: Token 2"]


def test_params_and_hooks_set_between_sends(pki: TestPki, recorder: _Recorder) -> None:
    seen: list[int] = []
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.send(ENVELOPE)
        client.session.params = {"route": "b"}
        client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.status_code))
        head = _same_as_session_post(client, recorder)
    assert head.startswith(b"POST /ggk0210/OntvangAsynchroon?route=b HTTP/1.1\r\n")
    assert seen == [200, 200]  # ours and the oracle's


def test_netrc_is_read_per_message_for_a_session_trusting_the_environment(
    pki: TestPki, recorder: _Recorder, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    with GgkClient(recorder.url, tls=_tls(pki, "GGK")) as client:
        client.session.trust_env = True
        client.send(ENVELOPE)
        assert b"Authorization" not in recorder.requests[-1][0]
        netrc.write_text("machine 127.0.0.1 login ggk password geheim\n")
        netrc.chmod(0o600)
        head = _same_as_session_post(client, recorder)
    assert b"\r\nAuthorization: Basic " in head
