"""An in-process transport: the sender's :class:`~ieb.transport.base.Transport` protocol on a WSGI
app (the simulator's :class:`~ieb.simulator.server.GgkSimulator`, a
:class:`~ieb.transport.server.Receiver`) without sockets or TLS, for fast tests.

It sends exactly what :class:`~ieb.transport.client.GgkClient` would put in the SOAP body (the
envelope wrapped by :func:`ieb.ggk.soap.wrap_soap`, without WS-Security), presents ``peer_cert``
(DER) as the TLS client certificate, and maps the answer the same way: Bv03 -> :class:`SendResult`,
Fo03 -> :func:`ieb.transport.faults.fault_error`, 5xx/408/429 ->
:class:`~ieb.transport.errors.TransientSendError`, anything else ->
:class:`~ieb.transport.errors.PermanentSendError`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from ieb.errors import IebError
from ieb.ggk import SOAP_ACTIONS, Bv03, Fo03, operation_for
from ieb.ggk import parse as parse_envelope
from ieb.ggk.soap import unwrap_soap, wrap_soap
from ieb.transport.client import SendResult
from ieb.transport.errors import PermanentSendError, TransientSendError
from ieb.transport.faults import fault_error

__all__ = ["InProcessTransport"]


class InProcessTransport:
    """``send(envelope bytes) -> SendResult`` by calling ``app`` directly (see the module docstring)."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        peer_cert: bytes | None = None,
        path: str = "/ggk0210/OntvangAsynchroon",
        max_seconds: float = 5.0,
    ) -> None:
        self.app = app
        self.peer_cert = peer_cert
        self.path = path
        self._max_seconds = max_seconds
        self.endpoint = f"inprocess:{path}"

    @property
    def max_seconds(self) -> float:
        """The longest one :meth:`send` is taken to last (for the lease check)."""
        return self._max_seconds

    def send(self, envelope: bytes) -> SendResult:
        """Call the app with the envelope as a SOAP request; the answer mapped as by ``GgkClient``."""
        model = parse_envelope(envelope)
        body = wrap_soap(model)
        started = time.perf_counter()
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(headers)

        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": self.path,
            "CONTENT_TYPE": "text/xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_SOAPACTION": f'"{SOAP_ACTIONS[operation_for(model)]}"',
            "wsgi.input": io.BytesIO(body),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "0",
            "ieb.peer_cert": self.peer_cert,
        }
        ctx: dict[str, Any] = {"endpoint": self.endpoint, "referentienummer": model.referentienummer}
        try:
            answer_bytes = b"".join(self.app(environ, start_response))
        except ConnectionError as exc:  # the simulator's "dropped connection" fault
            raise TransientSendError(f"verbinding verbroken: {exc}", **ctx) from exc
        status = int(captured.get("status", 500))
        ctx["status"] = status
        media = str(captured.get("headers", {}).get("Content-Type", "")).split(";")[0].strip()
        if media not in ("text/xml", "application/soap+xml"):
            if status >= 500 or status in (408, 429):
                raise TransientSendError(f"HTTP {status}", **ctx)
            raise PermanentSendError(f"onverwacht antwoord HTTP {status}", **ctx)
        try:
            answer = unwrap_soap(answer_bytes)
        except IebError as exc:
            raise TransientSendError(f"onleesbaar antwoord: {exc}", **ctx) from exc
        if isinstance(answer, Fo03):
            raise fault_error(answer, status=status, endpoint=self.endpoint)
        if not isinstance(answer, Bv03) or status != 200:
            raise TransientSendError(f"geen Bv03 (HTTP {status})", **ctx)
        return SendResult(bv03=answer, status=status, seconds=time.perf_counter() - started)
