"""Attack on ``GgkClient._prepare`` (session 6: "the session read once"): the endpoint was still
read twice, once for the key of the cached request template and once for the URL it holds. An
endpoint changed by another thread between the two reads (a reconfiguration while the sender
runs) left a template keyed on the OLD endpoint that posts to the NEW one; once the endpoint was
set back, every later message went to the wrong GGk for as long as the client lived. The session's
headers likewise: a template was cached under headers read before preparing. Now the endpoint is
read once, and a template is kept only when the headers did not change while it was prepared."""

from __future__ import annotations

import pytest
import requests

from ieb.transport.client import GgkClient, TransportError
from tests.transport.test_client_prepared import _envelopes
from tests.transport.test_client_session_once import _Wire

A = "https://ggk-a.test/ggk0210/OntvangAsynchroon"
B = "https://ggk-b.test/ggk0210/OntvangAsynchroon"


class _Moving(GgkClient):
    """``endpoint`` reads B at its ``blip``-th read and A otherwise: changed by another thread and
    changed back."""

    def __init__(self, session: requests.Session, blip: int) -> None:
        self.reads = 0
        self.blip = blip
        self.settled = False  # True: the other thread is done, the endpoint is A for good
        super().__init__(A, session=session)

    @property  # type: ignore[override]
    def endpoint(self) -> str:
        self.reads += 1
        return B if self.reads == self.blip and not self.settled else A

    @endpoint.setter
    def endpoint(self, value: str) -> None:
        pass  # the constructor's assignment: A, with the one blip above


@pytest.mark.parametrize("blip", range(1, 5))  # each read of the endpoint in one send
def test_a_message_goes_to_the_endpoint_the_client_has_now(blip: int) -> None:
    sent: list[tuple[str, requests.PreparedRequest]] = []
    client = _Moving(_Wire("A", sent), blip)
    envelope = _envelopes()[0]
    with pytest.raises(TransportError):
        client.send(envelope)  # the endpoint is B for one read somewhere in this send
    client.settled = True
    for _ in range(2):  # from now on the endpoint is A, and stays A
        with pytest.raises(TransportError):
            client.send(envelope)
    assert [r.url for _, r in sent[1:]] == [A, A]


class _HeadersChangedWhilePrepared(_Wire):
    """A session whose headers are changed by 'another thread' while a request is prepared."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.headers.get("X-Versie") == "1":
            self.headers["X-Versie"] = "2"
        return super().prepare_request(request)


def test_a_template_is_never_kept_under_headers_it_does_not_hold() -> None:
    sent: list[tuple[str, requests.PreparedRequest]] = []
    session = _HeadersChangedWhilePrepared("A", sent)
    session.headers["X-Versie"] = "1"
    client = GgkClient(A, session=session)
    envelope = _envelopes()[0]
    with pytest.raises(TransportError):
        client.send(envelope)  # prepared while the header became 2
    session.headers["X-Versie"] = "1"  # back to what the first template was keyed on ...
    session.prepare_request = requests.Session.prepare_request.__get__(session)  # type: ignore[method-assign]
    with pytest.raises(TransportError):
        client.send(envelope)
    assert sent[-1][1].headers["X-Versie"] == "1"  # ... and what goes out is 1, not the 2 it held
