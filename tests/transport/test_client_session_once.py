"""Attack note: ``GgkClient.send()`` read ``self.session`` twice (once to send, once in ``_prepare``
to build the request). A session swapped by another thread in between sent a request prepared from
the OTHER session (its headers, its template). ``send`` now reads the session once and prepares
and sends with that one."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ieb.transport.client import GgkClient, TransportError
from tests.transport.test_client_prepared import _envelopes


class _Wire(requests.Session):
    """A session whose network end records what it was asked to send and then fails to connect
    (the true external boundary; nothing leaves the process)."""

    def __init__(self, name: str, sent: list[tuple[str, requests.PreparedRequest]]) -> None:
        super().__init__()
        self.trust_env = False
        self.name = name
        self.headers["X-Sessie"] = name
        self.sent = sent

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((self.name, request))
        raise requests.ConnectionError("geen netwerk in deze test")


class _Swapping(GgkClient):
    """``session`` is swapped after every read, as by another thread between two reads."""

    def __init__(self, sessions: list[requests.Session]) -> None:
        self.reads = 0
        self._sessions = sessions
        super().__init__("https://ggk.test/ggk0210/OntvangAsynchroon", session=sessions[0])

    @property  # type: ignore[override]
    def session(self) -> requests.Session:
        s = self._sessions[self.reads % len(self._sessions)]
        self.reads += 1
        return s

    @session.setter
    def session(self, value: requests.Session) -> None:
        pass  # the constructor's assignment: the list above decides


def test_send_prepares_and_sends_with_one_read_of_the_session() -> None:
    sent: list[tuple[str, requests.PreparedRequest]] = []
    client = _Swapping([_Wire("A", sent), _Wire("B", sent)])
    envelope = _envelopes()[0]
    for _ in range(3):  # also with a template prepared by an earlier send
        client.reads = 0
        with pytest.raises(TransportError):
            client.send(envelope)
        assert client.reads == 1
        name, request = sent[-1]
        assert request.headers["X-Sessie"] == name  # prepared from the session that sends it
