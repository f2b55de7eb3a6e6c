"""The sending side of StUF-GGk "OntvangAsynchroon": a SOAP client for our WSDL's three operations.

:class:`GgkClient` sends one envelope per call (``ggk_Di01`` from a gemeente to its adapter, or
``ggk_Du01`` / ``Fo01`` when the other side calls a receiver) to a configurable endpoint and returns
the :class:`~ieb.ggk.Bv03` acknowledgement. It uses

* a :class:`requests.Session` whose HTTPS connections use one :class:`ssl.SSLContext` from
  :func:`ieb.transport.tls.client_context` (mutual TLS, TLS 1.2+, NCSC suites, our CA bundle only),
  mounted through :class:`TlsAdapter`, with keep-alive connection pooling;
* a fixed SOAP 1.1 wrapper around the envelope bytes as stored (checked against our StUF-GGk 0210
  schema first, which is what the WSDL's message parts are), and a light but complete reading of
  the answer: one SOAP Body child, a schema-valid ``Bv03Bericht`` whose crossRefnummer is ours, or a
  Fault with a Fo03 (zeep parsing and re-serialising an envelope ``ggk`` already built cost more
  than the rest of a send, issue 22);
* limits on what the server can make us do: ``connect_timeout`` for the TCP+TLS connection,
  a total deadline of ``connect_timeout + operation_timeout`` per send (a server dripping bytes
  cannot stretch it: one watchdog thread per process shuts the connection down when it passes), ``max_answer_bytes`` (1 MiB by
  default) and no decompression (``Accept-Encoding: identity``; a compressed answer is refused);
* optionally the Digikoppeling WUS 2W-be-S profile (:class:`WusSigning`): WS-Addressing headers and
  a WS-Security signature (:mod:`ieb.transport.wssec`) on the request, and the signature of the
  answer verified, including which parts it covers and the SignatureConfirmation.

Errors (:mod:`ieb.transport.errors`): :class:`TransientSendError` (timeouts, connection errors,
HTTP 5xx without a StUF fault, an unreadable answer; safe to retry with the same envelope since
receivers are idempotent on the referentienummer), :class:`PermanentSendError` (certificate does
not chain, hostname mismatch, our certificate refused, HTTP 4xx, answer not in the WSDL, answer too
large or compressed: ``hint`` says what to fix) and :class:`DeliveryRejectedError` (a Fo03 with a
permanent code); a Fo03 whose code the versioned table (:mod:`ieb.transport.faults`) calls transient,
or one answered with HTTP 503, is a :class:`~ieb.transport.errors.TransientFaultError`.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3.exceptions
from lxml import etree
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from ieb.errors import IebError
from ieb.ggk import GGK_NS, SOAP_ACTIONS, STUF_NS, Bv03, Envelope, Fo03
from ieb.ggk._xml import parse_xml
from ieb.ggk.codec import envelope_from_element, envelope_to_element, validate_element
from ieb.ggk.soap import soap_body_child, soap_body_element, unwrap_soap
from ieb.transport.base import Delivered
from ieb.transport.errors import (
    DeliveryRejectedError,
    PermanentSendError,
    TransientSendError,
    TransportError,
)
from ieb.transport.faults import fault_error
from ieb.transport.tls import TlsFiles, client_context

__all__ = [
    "GGK_PEER",
    "DeliveryRejectedError",
    "GgkClient",
    "Peer",
    "PermanentSendError",
    "SendResult",
    "TlsAdapter",
    "TransientSendError",
    "TransportError",
    "WusSigning",
    "make_session",
]

log = logging.getLogger("ieb.transport.client")

_ROOT_ELEMENTS: Mapping[str, str] = {
    "ggk_Di01": f"{{{GGK_NS}}}envelopHeenbericht-ggk_Di01",
    "ggk_Du01": f"{{{GGK_NS}}}envelopRetourbericht-ggk_Du01",
    "Fo01": f"{{{STUF_NS}}}Fo01Bericht",
}
#: root element (Clark name) -> the operation that carries it
_OPERATIONS: Mapping[str, str] = {tag: op for op, tag in _ROOT_ELEMENTS.items()}
#: where each operation's envelope holds its referentienummer
_REF_PATHS: Mapping[str, str] = {
    "ggk_Di01": f"{{{GGK_NS}}}stuurgegevens/{{{STUF_NS}}}referentienummer",
    "ggk_Du01": f"{{{GGK_NS}}}stuurgegevens/{{{STUF_NS}}}referentienummer",
    "Fo01": f"{{{STUF_NS}}}stuurgegevens/{{{STUF_NS}}}referentienummer",
}
_BV03 = f"{{{STUF_NS}}}Bv03Bericht"
_FO03 = f"{{{STUF_NS}}}Fo03Bericht"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
#: the fixed SOAP 1.1 wrapper of a request (document/literal: the envelope is the Body's one child)
_SOAP_OPEN = (
    _DECLARATION + b'\n<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body>"
)
_SOAP_CLOSE = b"</soap-env:Body></soap-env:Envelope>"


def _headers(operation: str) -> dict[str, str]:
    """The HTTP headers of a request for ``operation`` (besides the session's and Content-Length)."""
    return {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{SOAP_ACTIONS[operation]}"',
        "Accept-Encoding": "identity",
    }


@dataclass(frozen=True)
class Peer:
    """Who is at the other end of a :class:`GgkClient`, for its error texts: ``name`` (``GGk``; in
    a sentence ``called``, ``de GGk``), the ``setting`` that holds its endpoint (``ggk.endpoint``),
    what to do to ``start`` it, the question whether it is ``running`` (when it refuses the connection)
    and the setting of the connect timeout. The default is the GGk as a gemeente's sender sees it; the simulator,
    delivering retours to the gemeente, names the gemeente's receiver and its own ``callback``."""

    name: str = "GGk"
    called: str = "de GGk"
    setting: str = "ggk.endpoint"
    start: str = "start de GGk (of `ieb simulate serve`)"
    running: str = "draait de GGk of de simulator?"
    timeout_setting: str = "ggk.connect_timeout"


#: the GGk, seen from a gemeente's sender (the default of :class:`GgkClient`)
GGK_PEER = Peer()

_watch = threading.local()


class _Watchdog:
    """One daemon thread per process that ends the sends whose total deadline passed.

    A send registers its :class:`_Deadline` (a heap push, no thread of its own: a timer thread per
    send cost more than the rest of the client, issue 22); a finished one is marked done and
    dropped lazily when its time comes (or when many finished ones pile up)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: _Deadline) -> None:
        with self._cond:
            heap = self._heap
            if len(heap) > 4096:  # many finished sends within one timeout: drop them now
                self._heap = heap = [e for e in heap if not e[2].done]
                heapq.heapify(heap)
            heapq.heappush(heap, (deadline.at, next(self._seq), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ieb-send-deadline", daemon=True)
                self._thread.start()
            elif heap[0][2] is deadline:  # earlier than what the thread sleeps for
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(heap)[2].fire()


_WATCHDOG = _Watchdog()


class _Deadline:
    """A total deadline for one send: when it passes, the connection in use is shut down, which
    ends any blocked read, however slowly the server drips its bytes (see :class:`_Watchdog`)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + max(0.001, seconds)
        self.fired = False
        self.done = False
        self._conn: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> _Deadline:
        _watch.current = self
        _WATCHDOG.arm(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.done = True
            self._conn = None
        _watch.current = None

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self.fired:
                _kill(conn)

    def fire(self) -> None:
        """The deadline passed: shut down the connection in use (unless the send ended)."""
        with self._lock:
            if self.done:
                return
            self.fired = True
            if self._conn is not None:
                _kill(self._conn)


def _kill(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


class _PeerClosedConnection(HTTPSConnection):
    """urllib3's HTTPS connection, with TLS's EOF while writing the request treated as the broken
    pipe it is (the server closed the connection). urllib3 then reads what the server sent before
    closing, as it does for a plain broken pipe: its answer, or its TLS alert. With TLS 1.3 the
    server judges our certificate only after our side of the handshake has finished, so its
    refusal (``certificate revoked``, ``unknown ca``) may be waiting unread while our write fails;
    it used to end as "verbinding verbroken" (retried) instead of the named, permanent refusal."""

    def send(self, data: Any) -> None:
        try:
            super().send(data)
        except ssl.SSLEOFError as exc:
            raise BrokenPipeError(errno.EPIPE, str(exc)) from exc


class _WatchedPool(HTTPSConnectionPool):
    """urllib3's HTTPS pool, telling the current send's :class:`_Deadline` which connection it uses."""

    ConnectionCls = _PeerClosedConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        current = getattr(_watch, "current", None)
        if current is not None:
            current.attach(conn)
        return conn


class TlsAdapter(HTTPAdapter):
    """A requests transport adapter whose connection pools use one given :class:`ssl.SSLContext`
    (and report their connections to the send's total deadline)."""

    def __init__(self, ssl_context: Any, *, pool_maxsize: int = 8, max_retries: int = 0) -> None:
        self._ssl_context = ssl_context
        super().__init__(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=max_retries)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with our SSL context and the watched HTTPS pool."""
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)
        classes = dict(self.poolmanager.pool_classes_by_scheme)
        classes["https"] = _WatchedPool
        self.poolmanager.pool_classes_by_scheme = classes

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        """A proxy manager with our SSL context (proxies are off by default)."""
        kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(*args, **kwargs)


def make_session(tls: TlsFiles, *, check_hostname: bool = True, pool_maxsize: int = 8) -> requests.Session:
    """A :class:`requests.Session` for mutual TLS with ``tls``: HTTPS only, no proxies from the
    environment, our CA bundle only (never the system or certifi store)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.ca)
    adapter = TlsAdapter(client_context(tls, check_hostname=check_hostname), pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", _RefusePlainHttp())
    return session


class _RefusePlainHttp(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise PermanentSendError(
            f"onversleuteld HTTP wordt geweigerd: {request.url}",
            endpoint=str(request.url),
            hint="gebruik een https://-endpoint",
        )


@dataclass(frozen=True)
class WusSigning:
    """Digikoppeling WUS 2W-be-S: sign requests with ``key_pem``/``cert_pem`` and verify the signed
    answers against ``trusted_roots`` (PEM; ``intermediates`` likewise)."""

    key_pem: bytes
    cert_pem: bytes
    trusted_roots: bytes
    intermediates: bytes = b""
    key_password: bytes | None = None
    verify_answers: bool = True
    #: OINs allowed to sign answers (the receiver's); None: any certificate of the trusted chain.
    peer_oins: frozenset[str] | None = None

    @classmethod
    def from_files(
        cls, key: str | Path, cert: str | Path, roots: str | Path, intermediates: str | Path | None = None
    ) -> WusSigning:
        """Read the PEM files. Without ``intermediates`` the CA certificates that follow our own
        certificate in ``cert`` (a chain file) are used to verify the other side's signatures
        (both sides hold certificates of the same PKIoverheid TSP)."""
        cert_pem = Path(cert).read_bytes()
        if intermediates:
            extra = Path(intermediates).read_bytes()
        else:
            marker = b"-----BEGIN CERTIFICATE-----"
            blocks = cert_pem.split(marker)
            extra = b"".join(marker + b for b in blocks[2:]) if len(blocks) > 2 else b""
        return cls(
            key_pem=Path(key).read_bytes(),
            cert_pem=cert_pem,
            trusted_roots=Path(roots).read_bytes(),
            intermediates=extra,
        )


class SendResult(Delivered):
    """What a successful StUF-GGk call returned: a :class:`~ieb.transport.base.Delivered` (reference
    = the Bv03's crossRefnummer, HTTP status, seconds, ``evidence`` = the signed parts) that also
    carries the :class:`~ieb.ggk.Bv03` itself (``bv03``: given, or read on first use from the
    schema-checked ``Bv03Bericht`` element of the answer)."""

    def __init__(
        self,
        bv03: Bv03 | etree._Element,
        status: int,
        seconds: float,
        signed_parts: tuple[str, ...] = (),
    ) -> None:
        if isinstance(bv03, Bv03):
            reference = bv03.cross_refnummer or ""
        else:
            reference = bv03.findtext(f"{{{STUF_NS}}}stuurgegevens/{{{STUF_NS}}}crossRefnummer") or ""
        super().__init__(reference=reference, status=status, seconds=seconds, evidence=tuple(signed_parts))
        object.__setattr__(self, "_bv03", bv03)

    @property
    def bv03(self) -> Bv03:
        """The acknowledgement as a model (built once, on first use)."""
        value = self.__dict__["_bv03"]
        if not isinstance(value, Bv03):
            value = envelope_from_element(value, validate=False)  # validated when received
            assert isinstance(value, Bv03)
            object.__setattr__(self, "_bv03", value)
        return value

    @property
    def signed_parts(self) -> tuple[str, ...]:
        """Clark names of the answer's parts covered by its verified signature (``evidence``)."""
        return self.evidence


class GgkClient:
    """A StUF-GGk OntvangAsynchroon client for one endpoint.

    Thread-safe: it holds no per-send state and requests' connection pool is thread-safe; use one
    instance from several sender threads. ``endpoint`` is the service URL
    (``https://host:port/ggk0210/OntvangAsynchroon``).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        tls: TlsFiles | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = 5.0,
        operation_timeout: float = 30.0,
        check_hostname: bool = True,
        signing: WusSigning | None = None,
        pool_maxsize: int = 8,
        max_answer_bytes: int = 1024 * 1024,
        peer: Peer = GGK_PEER,
    ) -> None:
        if not endpoint.startswith("https://"):
            raise PermanentSendError(
                f"endpoint moet https:// zijn, niet {endpoint!r}", hint="gebruik een https://-endpoint"
            )
        if session is None:
            if tls is None:
                raise PermanentSendError("geef tls (certificaat, sleutel, CA-bundel) of een session")
            session = make_session(tls, check_hostname=check_hostname, pool_maxsize=pool_maxsize)
        self.endpoint = endpoint
        self.session = session
        self.connect_timeout = connect_timeout
        self.operation_timeout = operation_timeout
        self.signing = signing
        self.max_answer_bytes = max_answer_bytes
        self.peer = peer
        #: operation -> ((the session, endpoint and session headers it was made from), the POST
        #: prepared once without a body)
        self._templates: dict[
            str,
            tuple[
                tuple[requests.Session, str, tuple[tuple[str, str | bytes], ...]], requests.PreparedRequest
            ],
        ] = {}

    @property
    def max_seconds(self) -> float:
        """The longest one :meth:`send` can take: its total deadline (connect + operation timeout)."""
        return self.connect_timeout + self.operation_timeout

    def close(self) -> None:
        """Close the HTTP session and its pooled connections."""
        self.session.close()

    def __enter__(self) -> GgkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def soap_request(self, envelope: Envelope | bytes) -> tuple[str, bytes]:
        """The operation name and the SOAP request bytes for ``envelope`` (a model, or its XML bytes
        as stored in the outbox), signed when :attr:`signing` is set."""
        operation, _, data, _ = self._request(envelope)
        return operation, data

    def _request(self, envelope: Envelope | bytes) -> tuple[str, str, bytes, str | None]:
        """(operation, referentienummer, SOAP request bytes, its ds:SignatureValue or None when
        unsigned) for ``envelope``.

        The envelope goes into the Body of a fixed SOAP 1.1 wrapper as it is (stored bytes are
        posted unchanged when they are UTF-8 with the usual declaration), after a hardened parse and
        a check against our StUF-GGk 0210 schema. Raises
        :class:`~ieb.ggk.errors.EnvelopeInvalidError` (RIN001) for an envelope that is not
        schema-valid, :class:`~ieb.xmlsafe.XmlSecurityError` for hostile XML and
        :class:`PermanentSendError` for a message type that is not sent (Bv03, Fo03)."""
        if isinstance(envelope, bytes | bytearray):
            raw = bytes(envelope)
            root = parse_xml(raw)
        else:
            raw = b""
            root = envelope_to_element(envelope)
        operation = _OPERATIONS.get(root.tag) if isinstance(root.tag, str) else None
        if operation is None:
            if isinstance(root.tag, str) and root.tag in (_BV03, _FO03):
                raise PermanentSendError(f"een {etree.QName(root).localname[:4]} wordt niet verstuurd")
            envelope_from_element(root)  # raises the schema's own error (unknown message type)
            raise PermanentSendError(f"een {root.tag!r} wordt niet verstuurd")  # pragma: no cover
        validate_element(root)
        ref = root.findtext(_REF_PATHS[operation]) or ""
        body = raw[len(_DECLARATION) :].lstrip() if raw.startswith(_DECLARATION) else b""
        if not body.startswith(b"<") or body[1:2] in (b"?", b"!"):
            body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
        data = _SOAP_OPEN + body + _SOAP_CLOSE
        if self.signing is not None:
            from ieb.transport.wssec import _sign_envelope, add_addressing, parse_soap_envelope

            tree = add_addressing(
                parse_soap_envelope(data),
                to=self.endpoint,
                action=SOAP_ACTIONS[operation],
                message_id=f"urn:uuid:{ref}",
            )
            data, signature_value = _sign_envelope(
                tree,
                key_pem=self.signing.key_pem,
                cert_pem=self.signing.cert_pem,
                key_password=self.signing.key_password,
            )
            return operation, ref, data, signature_value
        return operation, ref, data, None

    def send(self, envelope: Envelope | bytes) -> SendResult:
        """Send one envelope (a model, or its XML bytes as stored in the outbox) and return the Bv03.

        The whole call (connect, TLS, request, answer) ends within ``connect_timeout +
        operation_timeout`` seconds however slowly the server answers; the answer is read up to
        ``max_answer_bytes`` and never decompressed. Raises :class:`TransientSendError` (resend
        later), :class:`PermanentSendError` (fix first; ``hint`` says what) or
        :class:`DeliveryRejectedError` (Fo03); an envelope that is not schema-valid raises
        :class:`~ieb.ggk.errors.EnvelopeInvalidError` before anything is sent.
        """
        operation, ref, data, signature_value = self._request(envelope)
        started = time.perf_counter()
        total = self.connect_timeout + self.operation_timeout
        ctx: dict[str, Any] = {"endpoint": self.endpoint, "referentienummer": ref}
        with _Deadline(total) as deadline:
            try:
                session = self.session
                prepared = self._prepare(session, operation, data)  # the session read once (threads)
                settings = (
                    session.merge_environment_settings(self.endpoint, {}, True, None, None)
                    if session.trust_env
                    else {}
                )
                settings["stream"] = True
                response = session.send(
                    prepared,
                    timeout=(self.connect_timeout, self.operation_timeout),
                    allow_redirects=False,
                    **settings,
                )
                try:
                    self._read_body(response, ctx)
                    if deadline.fired:  # ended by our shutdown, not by the server: the answer is cut off
                        raise TransientSendError(
                            f"GGk gaf geen volledig antwoord binnen {total:.0f} s ({self.endpoint})",
                            hint="de GGk is traag of hangt; het bericht blijft open en gaat later opnieuw",
                            unreachable=True,
                            **ctx,
                        )
                except BaseException:
                    response.close()  # a half-read connection is never reused
                    raise
                response.raw.release_conn()  # fully read: back to the pool (keep-alive)
            except TransportError:
                raise
            except requests.ConnectTimeout as exc:
                raise TransientSendError(
                    f"{self.peer.name} niet bereikbaar: geen verbinding met {self.endpoint} binnen "
                    f"{self.connect_timeout:g} s",
                    hint=f"controleer of {self.peer.called} draait en {self.peer.setting} klopt (firewall, "
                    f"proxy); eventueel {self.peer.timeout_setting} verhogen",
                    detail=type(exc).__name__,
                    unreachable=True,
                    **ctx,
                ) from exc
            except requests.Timeout as exc:
                raise TransientSendError(
                    f"GGk gaf geen antwoord binnen {self.operation_timeout:g} s ({self.endpoint})",
                    hint="de GGk is traag of hangt; het bericht blijft open en gaat later opnieuw "
                    "(eventueel ggk.operation_timeout verhogen)",
                    detail=type(exc).__name__,
                    unreachable=True,
                    **ctx,
                ) from exc
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ssl.SSLError) as exc:
                if deadline.fired:
                    raise TransientSendError(
                        f"GGk gaf geen volledig antwoord binnen {total:.0f} s ({self.endpoint})",
                        hint="de GGk is traag of hangt; het bericht blijft open en gaat later opnieuw",
                        unreachable=True,
                        **ctx,
                    ) from exc
                raise _classify(exc, self.endpoint, ref, self.peer) from exc
        seconds = time.perf_counter() - started
        return self._answer(ref, signature_value, response, seconds)

    def _prepare(self, session: requests.Session, operation: str, data: bytes) -> requests.PreparedRequest:
        """The POST of ``data`` as ``session.post`` would prepare it (the session's headers, then
        ours, Content-Length last; method, URL, hooks, auth), without preparing the same URL and
        headers again for every send (that cost about a third of requests' CPU per call, issue
        22): a copy of a request prepared once per operation, with this body.

        The copy is only taken while everything it was prepared from is unchanged (the session,
        :attr:`endpoint` and the session's headers, compared per send) and nothing in the session
        is computed per request: cookies, auth (an auth object may make a new value per request),
        query parameters, hooks, or ``~/.netrc`` for a session that trusts the environment. Such a
        session gets the full preparation for every send, as ``session.post`` did. ``session``: the
        one :meth:`send` read and sends with (read once: a session swapped meanwhile by another
        thread never mixes with it). :attr:`endpoint` is read once as well, and a copy is kept only
        when the session's headers did not change while it was prepared: a template's key always
        describes what it holds (tests/attack/test_client_endpoint_read_once.py)."""
        endpoint = self.endpoint
        if (
            session.cookies
            or session.auth
            or session.params
            or session.trust_env
            or any(session.hooks.values())
        ):
            return session.prepare_request(
                requests.Request("POST", endpoint, data=data, headers=_headers(operation))
            )
        made_from = (session, endpoint, tuple(session.headers.items()))
        template = self._templates.get(operation)
        if template is None or template[0] != made_from:
            first = session.prepare_request(requests.Request("POST", endpoint, headers=_headers(operation)))
            template = (made_from, first)
            if tuple(session.headers.items()) == made_from[2]:  # not changed meanwhile by another thread
                self._templates[operation] = template
        prepared = template[1].copy()
        prepared.body = data
        prepared.headers["Content-Length"] = str(len(data))
        return prepared

    def _read_body(self, response: requests.Response, ctx: dict[str, Any]) -> None:
        """Read the answer into ``response._content``, at most :attr:`max_answer_bytes`, as sent."""
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise PermanentSendError(
                f"antwoord met Content-Encoding {encoding!r}; alleen identity wordt gelezen",
                status=response.status_code,
                hint="de server mag het antwoord niet comprimeren (we vragen Accept-Encoding: identity)",
                **ctx,
            )
        limit = self.max_answer_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise PermanentSendError(
                f"antwoord van {declared} bytes is groter dan de grens van {limit} bytes",
                status=response.status_code,
                hint="verhoog ggk.max_answer_bytes alleen als de server te vertrouwen is",
                **ctx,
            )
        body = bytearray()
        for chunk in response.raw.stream(64 * 1024, decode_content=False):
            body += chunk
            if len(body) > limit:
                raise PermanentSendError(
                    f"antwoord groter dan de grens van {limit} bytes",
                    status=response.status_code,
                    hint="verhoog ggk.max_answer_bytes alleen als de server te vertrouwen is",
                    **ctx,
                )
        response._content = bytes(body)

    def _answer(
        self, ref: str, signature_value: str | None, response: requests.Response, seconds: float
    ) -> SendResult:
        """Read the answer: a schema-valid Bv03 for ``ref`` (returned), a Fo03 (raised as its fault
        error), anything else a :class:`TransientSendError` or :class:`PermanentSendError`.
        ``signature_value``: our request's ds:SignatureValue (None when it was not signed), which a
        verified answer must confirm."""
        status = response.status_code
        content = response.content
        ctx: dict[str, Any] = {"endpoint": self.endpoint, "referentienummer": ref, "status": status}
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        is_xml = media in ("text/xml", "application/soap+xml", "application/xml")
        if not is_xml or not content:
            if status >= 500 or status in (408, 429):
                raise TransientSendError(f"HTTP {status} van {self.endpoint}", **ctx)
            raise PermanentSendError(
                f"onverwacht antwoord HTTP {status} ({media or 'geen inhoud'})",
                hint="controleer het endpoint (pad, poort) in ggk.endpoint",
                **ctx,
            )
        answer: Envelope | None = None
        verify = self.signing is not None and self.signing.verify_answers
        try:
            tree = _signed_tree(content) if verify else None
            # parsed once for reading and verifying; XML the signature check refuses to parse is
            # read as before, so an unreadable answer stays a TransientSendError ("onleesbaar")
            # and one it cannot verify (another encoding, say) a PermanentSendError, as before
            child = soap_body_element(content) if tree is None else soap_body_child(tree)
            if child.tag == _BV03:
                validate_element(child)  # the WSDL's output part: StUF:Bv03Bericht
            else:
                answer = unwrap_soap(content)  # a Fault with a Fo03, or another message
        except IebError as exc:
            raise TransientSendError(
                f"onleesbaar antwoord (HTTP {status}): {exc}", code=exc.code, **ctx
            ) from exc
        if isinstance(answer, Fo03):  # a refusal needs no signature to be believed
            raise fault_error(answer, status=status, endpoint=self.endpoint)
        signed_parts: tuple[str, ...] = ()
        if verify:
            signed_parts = self._verify_answer(ref, signature_value, content if tree is None else tree)
        if answer is not None:
            raise TransientSendError(f"antwoord is een {answer.berichtcode}, geen Bv03", **ctx)
        if status != 200:
            if 400 <= status < 500 and status not in (408, 429):
                raise PermanentSendError(f"Bv03 met HTTP {status}", hint="controleer het endpoint", **ctx)
            raise TransientSendError(f"Bv03 met HTTP {status}", **ctx)
        cross = child.findtext(f"{{{STUF_NS}}}stuurgegevens/{{{STUF_NS}}}crossRefnummer")
        if cross != ref:
            raise TransientSendError(f"Bv03 hoort bij {cross}, niet bij {ref}", **ctx)
        return SendResult(bv03=child, status=status, seconds=seconds, signed_parts=signed_parts)

    def _verify_answer(
        self, ref: str, signature_value: str | None, content: bytes | etree._Element
    ) -> tuple[str, ...]:
        from ieb.transport.wssec import WsSecurityError, verify_envelope

        assert self.signing is not None
        try:
            verified = verify_envelope(
                content,
                trusted_roots=self.signing.trusted_roots,
                intermediates=self.signing.intermediates or (),
                message_kind="response",
                expected_signature_confirmation=signature_value,
                signer_oins=self.signing.peer_oins,
            )
        except WsSecurityError as exc:
            # a signer outside ggk.signer_oins (IB002): turning signing off is the wrong advice
            hint = (
                "het antwoord is ondertekend door een andere partij dan in ggk.signer_oins staat; "
                "verstuur niet opnieuw en meld dit bij de beheerder van de GGk (zet ggk.sign niet uit)"
                if exc.code == "IB002"
                else "de ontvanger ondertekent niet (of met een sleutel buiten onze roots); zet ggk.sign uit "
                "of laat de ontvanger ondertekenen"
            )
            raise PermanentSendError(
                f"handtekening van het antwoord is ongeldig: {exc}",
                endpoint=self.endpoint,
                referentienummer=ref,
                hint=hint,
            ) from exc
        if verified.relates_to != f"urn:uuid:{ref}":
            raise TransientSendError(
                f"wsa:RelatesTo {verified.relates_to!r} hoort niet bij dit verzoek",
                endpoint=self.endpoint,
                referentienummer=ref,
            )
        return verified.signed_parts


def _signed_tree(content: bytes) -> etree._Element | None:
    """``content`` parsed as :func:`ieb.transport.wssec.verify_envelope` parses it (UTF-8 only,
    comments dropped: what is read is what the signature covers), or None when that parse refuses it."""
    from ieb.transport.wssec import WsSecurityError, parse_soap_envelope

    try:
        return parse_soap_envelope(content)
    except WsSecurityError:
        return None


_CHAIN = ("certificate verify failed", "CERTIFICATE_VERIFY_FAILED")
_HOSTNAME = ("Hostname mismatch", "IP address mismatch", "doesn't match")
_REFUSED_BY_PEER = (
    "alert unknown ca",
    "alert bad certificate",
    "certificate required",
    "alert certificate unknown",
    "alert access denied",
    "alert handshake failure",
)


def _classify(exc: BaseException, endpoint: str, ref: str, peer: Peer = GGK_PEER) -> TransportError:
    """Map a requests/ssl/socket error to transient or permanent, with what to fix."""
    text = _chain_text(exc)
    ctx: dict[str, Any] = {"endpoint": endpoint, "referentienummer": ref}
    if any(m in text for m in _HOSTNAME):
        return PermanentSendError(
            f"servercertificaat past niet bij de hostnaam van {endpoint}: {_short(exc)}",
            hint=f"gebruik in {peer.setting} de naam die in het servercertificaat staat",
            **ctx,
        )
    if "certificate revoked" in text and any(m in text for m in _CHAIN):
        return PermanentSendError(
            f"servercertificaat van {endpoint} (of een CA in de keten) is ingetrokken volgens de CRL's in tls.crl",
            hint="verstuur niet naar deze server; vraag de beheerder van de GGk om een geldig certificaat, "
            "of ververs de CRL's als ze niet kloppen",
            detail=_root_text(exc),
            **ctx,
        )
    if "unable to get certificate CRL" in text and any(m in text for m in _CHAIN):
        return PermanentSendError(
            f"geen CRL voor een CA in de keten van het servercertificaat van {endpoint}",
            hint="zet de CRL's van alle CA's in de keten (root, domein-CA, TSP-CA) in tls.crl",
            detail=_root_text(exc),
            **ctx,
        )
    if any(m in text for m in _CHAIN):
        return PermanentSendError(
            f"servercertificaat van {endpoint} sluit niet aan op de vertrouwde roots: {_short(exc)}",
            hint="zet de root (en tussen-CA's) van de server in organisatie.ca",
            **ctx,
        )
    if "alert certificate revoked" in text or "ALERT_CERTIFICATE_REVOKED" in text:
        return PermanentSendError(
            f"{endpoint} weigert ons certificaat: het is ingetrokken (CRL van de ontvanger)",
            hint="vraag een nieuw PKIoverheid-certificaat aan en zet het in organisatie.cert",
            detail=_root_text(exc),
            **ctx,
        )
    if any(m in text for m in _REFUSED_BY_PEER):
        return PermanentSendError(
            f"{endpoint} weigert ons certificaat: {_short(exc)}",
            hint="controleer organisatie.cert (met tussen-CA's) en of de ontvanger onze root vertrouwt",
            **ctx,
        )
    if isinstance(exc, requests.ConnectionError | OSError):
        return _connection_error(exc, text, ctx, peer)
    return TransientSendError(
        f"HTTP-fout bij {endpoint}",
        hint="later opnieuw; blijft het, meld het aan de beheerder van de GGk",
        detail=_root_text(exc),
        **ctx,
    )


def _connection_error(
    exc: BaseException, text: str, ctx: dict[str, Any], peer: Peer = GGK_PEER
) -> TransientSendError:
    """A failed connection in Dutch: the cause, what to do (for ``peer``), and the library's text at
    the end."""
    endpoint = ctx["endpoint"]
    detail = _root_text(exc)
    if "Connection refused" in text or "Errno 111" in text:
        message = f"{peer.name} weigert de verbinding op {endpoint} ({peer.running})"
        hint = f"{peer.start}, of zet de juiste host en poort in {peer.setting}"
    elif "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
        message = f"hostnaam van {endpoint} is onbekend"
        hint = f"controleer de hostnaam in {peer.setting} en de DNS"
    elif "No route to host" in text or "Network is unreachable" in text:
        message = f"geen netwerkroute naar {endpoint}"
        hint = f"controleer het netwerk, de firewall en {peer.setting}"
    elif "timed out" in text:
        message = f"{peer.name} niet bereikbaar: time-out bij {endpoint}"
        hint = f"controleer of {peer.called} draait en {peer.setting} klopt (firewall, proxy)"
    elif "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        # an answer that is no TLS at all: plain HTTP, or another program holds the GGk's port
        message = (
            f"op {endpoint} antwoordt geen TLS-server (gewone HTTP, of een ander programma op die poort?)"
        )
        hint = "controleer host en poort in ggk.endpoint: de GGk (of `ieb simulate serve`) spreekt https"
    else:
        return TransientSendError(
            f"verbinding met {endpoint} verbroken",
            hint="later opnieuw; het bericht blijft open (de ontvanger herkent een herhaling)",
            detail=detail,
            **ctx,
        )
    return TransientSendError(message, hint=hint, detail=detail, unreachable=True, **ctx)


def _root_text(exc: BaseException) -> str:
    """The innermost cause's own text (e.g. ``[Errno 111] Connection refused``), short."""
    seen: set[int] = set()
    e: BaseException | None = exc
    last = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        last = e
        reason = getattr(e, "reason", None)
        e = reason if isinstance(reason, BaseException) else (e.__cause__ or e.__context__)
    text = str(last)
    # urllib3 wraps the errno text: "HTTPSConnection(...): Failed to establish a new connection: [Errno 111] ..."
    if "[Errno" in text:
        text = text[text.index("[Errno") :]
    return _short(text if text else type(last).__name__)


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}")
        todo.extend([e.__cause__, e.__context__])
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return " | ".join(parts)


def _short(exc: BaseException | str) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
