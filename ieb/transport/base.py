"""The transport seam: what the outbox's sender needs from any way of delivering a message.

A transport takes the stored bytes of one outgoing message and either returns a
:class:`Delivered` (the other side took it) or raises an error of :mod:`ieb.transport.errors`:

* :class:`~ieb.transport.errors.TransientSendError`: it may or may not have arrived; the sender
  sends the SAME bytes again later (every receiver is idempotent on the message's reference);
* :class:`~ieb.transport.errors.PermanentSendError`: resending cannot help until someone fixes
  something (``hint`` says what); its subclass :class:`~ieb.transport.errors.RejectedError` is a
  refusal by the other side with a code.

Nothing here knows StUF-GGk: the SOAP/StUF-GGk implementation is
:class:`ieb.transport.client.GgkClient` (its :class:`~ieb.transport.client.SendResult` is a
:class:`Delivered` that also carries the Bv03), :class:`ieb.testing.InProcessTransport` calls a WSGI
app in-process for tests, and a Digikoppeling REST transport would be a third implementation of
:class:`Transport` without touching the outbox (:mod:`ieb.transport.outbox`) or the sender pool
(:mod:`ieb.transport.sender`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Delivered", "SendFunction", "Transport"]


@dataclass(frozen=True)
class Delivered:
    """The other side acknowledged one message.

    ``reference``: the message's own reference as the acknowledgement names it (for StUF-GGk the
    referentienummer in the Bv03's crossRefnummer); ``status``: the protocol status of the answer
    (HTTP status code, 200 for an acknowledgement); ``seconds``: wall time of the call;
    ``evidence``: names of the parts of the answer covered by a verified signature (``()`` when the
    answer was not signed or not checked).
    """

    reference: str
    status: int
    seconds: float
    evidence: tuple[str, ...] = ()


@runtime_checkable
class Transport(Protocol):
    """One way of delivering stored messages (see the module docstring).

    ``max_seconds`` is the longest one :meth:`send` can take (its total deadline, in seconds);
    the sender checks that an outbox lease outlasts it, so no second worker takes a message over
    while its send is still running.
    """

    @property
    def max_seconds(self) -> float:
        """The longest one :meth:`send` can take (its total deadline), in seconds."""
        ...

    def send(self, envelope: bytes) -> Delivered:
        """Deliver one stored message (its bytes as enqueued); raises the errors of
        :mod:`ieb.transport.errors`."""
        ...


#: A plain function that sends one stored message: ``send(bytes) -> Delivered``.
SendFunction = Callable[[bytes], Delivered]
