"""The HTTPS front of the receiver and the simulator: cheroot, hardened against hostile peers.

cheroot (CherryPy's WSGI server) runs the application in a pool of worker threads. Out of the box it
does the TLS handshake in its accept loop (one silent TCP connection stalls every new one for the
socket timeout) and hands a connection to a worker as soon as it is accepted (a peer that sends its
request head slowly keeps a worker busy). :class:`HttpsServer` keeps cheroot's request handling
and worker pool but replaces the part before it (see ``docs/security.md``):

* accepting costs nothing: the TLS handshake runs non-blocking in cheroot's selector loop, with a
  deadline (:attr:`ServerLimits.handshake_timeout`); a failed handshake is logged (WARNING for a
  refused certificate, INFO otherwise), never silenced;
* right after the handshake, before a byte of HTTP is read, ``admit(der_certificate)`` decides
  whether this peer may talk at all (the receiver's OIN allow-list); a refused peer gets the
  refusal (a Fo03 ``IB002``) and the connection is closed;
* the request line and headers are collected in the same selector loop, within
  :attr:`ServerLimits.header_timeout`, at most :attr:`ServerLimits.max_header_bytes` bytes and
  :attr:`ServerLimits.max_header_count` lines (431 at once otherwise); a ``Content-Length`` above
  :attr:`ServerLimits.max_body` is answered 413 at once. Only a complete request head reaches a
  worker thread, so slow or idle peers hold no worker;
* a worker reads the body within ``body_grace + length / min_body_rate`` seconds and every single
  read or write within ``io_timeout``;
* at most :attr:`ServerLimits.max_connections` connections are open at once and at most
  :attr:`ServerLimits.max_connections_per_address` from one address. When the total is reached, a
  new connection takes the place of the oldest one that has not passed admission (still in its TLS
  handshake, or being refused), so that idle unauthenticated sockets cannot lock out the GGk; an
  admitted connection is never evicted for a new one. Only when every open connection is admitted is
  the new one closed at once (WARNING).

The application sees the WSGI environ cheroot builds, plus ``ieb.peer_cert`` (the peer's
certificate, DER) and ``ieb.socket`` (the connection's socket, for fault injection).
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cheroot import connections, wsgi
from cheroot.makefile import StreamReader, StreamWriter
from cheroot.ssl.builtin import BuiltinSSLAdapter

from ieb.errors import ConfigurationError
from ieb.transport.audit import BsnMaskingFilter
from ieb.transport.tls import TlsFiles, server_context
from ieb.types import mask_bsns

__all__ = ["DEFAULT_MAX_BODY", "Admit", "HttpsServer", "ServerLimits"]

log = logging.getLogger("ieb.transport.server")
log.addFilter(BsnMaskingFilter())  # one masking step for every line of the receiver and the server

#: Headroom over the 25 MB envelope limit for the SOAP wrapper and WS-Security headers.
DEFAULT_MAX_BODY = 48 * 1024 * 1024

#: ``admit(der) -> None`` lets the peer in; ``(status, content_type, body)`` refuses it with that answer.
Admit = Callable[[bytes], "tuple[int, str, bytes] | None"]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Limits of :class:`HttpsServer` (seconds, bytes). The defaults are in ``docs/security.md``."""

    max_connections: int = 256
    max_connections_per_address: int = 64
    handshake_timeout: float = 10.0
    header_timeout: float = 10.0
    keepalive_timeout: float = 15.0
    max_header_bytes: int = 16 * 1024
    max_header_count: int = 64
    max_body: int = DEFAULT_MAX_BODY
    io_timeout: float = 30.0
    body_grace: float = 30.0
    min_body_rate: int = 100_000
    refusal_linger: float = 2.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"ServerLimits.{name} moet positief zijn")


class _RateLimitedLog:
    """At most ``burst`` refusal lines per ``window`` seconds at their level; the rest at DEBUG, with
    one line saying how many were lowered (a flood of bad handshakes cannot flood the log)."""

    def __init__(self, burst: int = 20, window: float = 10.0) -> None:
        self.burst = burst
        self.window = window
        self._start = 0.0
        self._count = 0
        self._lowered = 0
        self._lock = threading.Lock()

    def log(self, level: int, msg: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._start > self.window:
                lowered, self._lowered = self._lowered, 0
                self._start, self._count = now, 0
                if lowered:
                    log.warning(
                        "%s weigeringen in de vorige %s s alleen op DEBUG gelogd", lowered, self.window
                    )
            self._count += 1
            lowered = self._count > self.burst
            if lowered:
                self._lowered += 1
                level = logging.DEBUG
        log.log(level, msg, *args, extra={"ieb_rate_limited": lowered})


_refusals = _RateLimitedLog()

_REASONS = {
    400: "Bad Request",
    411: "Length Required",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
}


def _mb(size: int) -> str:
    """A size in MB (MiB, one decimal, Dutch comma): never a digit run that BSN masking would eat."""
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


# ------------------------------------------------------------------------------------ socket proxy


class _Sock:
    """The TLS socket as cheroot's worker sees it: first the request head the selector loop already
    read (``prefix``), then the socket itself, every read within ``io_timeout`` and before ``deadline``."""

    def __init__(self, inner: ssl.SSLSocket, server: _Server, address: str) -> None:
        self._inner = inner
        self._server = server
        self._address = address
        self.prefix = b""
        self.deadline: float | None = None
        self.timed_out = False
        self._closed = False

    def _arm(self) -> None:
        timeout = self._server.limits.io_timeout
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                raise TimeoutError("timed out")
            timeout = min(timeout, remaining)
        self._inner.settimeout(timeout)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        if self.prefix:
            n = min(nbytes or len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        self._arm()
        try:
            return self._inner.recv_into(buffer, nbytes or None, flags)
        except TimeoutError:
            self.timed_out = True
            raise

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self.prefix:
            data, self.prefix = self.prefix[:bufsize], self.prefix[bufsize:]
            return data
        self._arm()
        return self._inner.recv(bufsize, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self._inner.settimeout(self._server.limits.io_timeout)
        return self._inner.send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._inner.settimeout(self._server.limits.io_timeout)
        self._inner.sendall(data, flags)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._server.release(self._address)
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ------------------------------------------------------------------------- before a worker: _Pending


def _peer(addr: Any) -> str:
    try:
        return f"{addr[0]}:{addr[1]}"
    except (TypeError, IndexError):
        return str(addr)


class _Pending:
    """A connection the selector loop still owns: handshake, admission, request head, or a refusal
    being delivered. ``last_used`` is set so that cheroot's expiry closes it at its deadline."""

    def __init__(
        self,
        server: _Server,
        sock: _Sock,
        addr: Any,
        *,
        conn: Any = None,
    ) -> None:
        self.server = server
        self.sock = sock
        self.tls: ssl.SSLSocket = sock._inner
        self.addr = addr
        self.conn = conn
        self.buf = bytearray()
        self.state = "head" if conn is not None else "handshake"
        if conn is None:
            server.track_unadmitted(self)
        limits = server.limits
        self._set_deadline(limits.keepalive_timeout if conn is not None else limits.handshake_timeout)
        self.tls.setblocking(False)

    def _set_deadline(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        # cheroot closes registered connections with last_used < now - server.timeout
        self.last_used = time.time() + seconds - self.server.timeout

    @property
    def socket(self) -> _Sock:
        return self.sock

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def close(self) -> None:
        """Called by cheroot's expiry (deadline passed) and at shutdown."""
        if self.state in ("handshake", "head") and time.monotonic() >= self.deadline - 0.001:
            if self.state == "handshake":
                _refusals.log(
                    logging.INFO,
                    "TLS-handshake van %s niet binnen %s s voltooid; verbinding gesloten",
                    _peer(self.addr),
                    self.server.limits.handshake_timeout,
                )
            elif self.buf:
                _refusals.log(
                    logging.INFO,
                    "verzoekkop van %s niet binnen %s s compleet; verbinding gesloten",
                    _peer(self.addr),
                    self.server.limits.header_timeout,
                )
        self.state = "closed"
        self.server.untrack(self)
        try:
            self.sock.close()
        except OSError:
            pass

    def _register(self, events: int = selectors.EVENT_READ) -> None:
        self.server.register(self, events)

    # -- one step, in the selector loop (or right after a worker handed the connection back)

    def step(self) -> None:
        try:
            if self.state == "handshake":
                self._handshake()
            elif self.state == "head":
                self._head()
            elif self.state == "drain":
                self._drain()
        except (OSError, ValueError) as exc:
            log.debug("verbinding van %s verbroken: %s", _peer(self.addr), exc)
            self.close()

    def _handshake(self) -> None:
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            return self._register(selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            return self._register(selectors.EVENT_WRITE)
        except ssl.SSLCertVerificationError as exc:
            _refusals.log(
                logging.WARNING,
                "TLS-handshake van %s geweigerd: certificaat ongeldig (%s)",
                _peer(self.addr),
                mask_bsns(str(exc.verify_message or exc.reason)),
            )
            return self.close()
        except ssl.SSLError as exc:
            reason = str(exc.reason or exc)
            level = logging.WARNING if "CERTIFICATE" in reason else logging.INFO
            _refusals.log(level, "TLS-handshake van %s mislukt: %s", _peer(self.addr), mask_bsns(reason))
            return self.close()
        der = self.tls.getpeercert(binary_form=True) or b""
        refusal = self.server.admit(der) if self.server.admit is not None else None
        if refusal is not None:
            _refusals.log(
                logging.WARNING,
                "verbinding van %s geweigerd na de TLS-handshake (HTTP %s)",
                _peer(self.addr),
                refusal[0],
            )
            return self._refuse(*refusal)
        self.state = "head"
        self.server.untrack(self)  # admitted: never evicted for a newcomer
        self._set_deadline(self.server.limits.header_timeout)
        self._head()

    def _read_available(self, limit: int) -> bool:
        """Read what the peer sent so far into ``buf`` (at most ``limit`` bytes); False at EOF."""
        while len(self.buf) <= limit:
            try:
                data = self.tls.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True
            if not data:
                return False
            self.buf += data
        return True

    def _head(self) -> None:
        limits = self.server.limits
        was_empty = not self.buf
        if not self._read_available(limits.max_header_bytes + 4):
            return self.close()
        if was_empty and self.buf and self.conn is not None:
            self._set_deadline(limits.header_timeout)  # an idle keep-alive connection starts a request
        while self.buf.startswith(b"\r\n"):
            del self.buf[:2]
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > limits.max_header_bytes:
                return self._reject(431, f"de verzoekkop is groter dan {limits.max_header_bytes} bytes")
            return self._register()
        if end + 4 > limits.max_header_bytes:
            return self._reject(431, f"de verzoekkop is groter dan {limits.max_header_bytes} bytes")
        lines = bytes(self.buf[:end]).split(b"\r\n")
        if len(lines) - 1 > limits.max_header_count:
            return self._reject(431, f"meer dan {limits.max_header_count} headerregels")
        length = 0
        lengths: set[bytes] = set()
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                lengths.add(value.strip())
                if value.strip().isdigit():
                    length = max(length, int(value.strip()))
            elif key == b"transfer-encoding":
                chunked = True
        # issue 21: a body framed two ways (request smuggling) or by differing lengths is refused
        if chunked and lengths:
            return self._reject(400, "Transfer-Encoding en Content-Length samen worden niet aangenomen")
        if chunked:
            return self._reject(411, "Transfer-Encoding wordt niet aangenomen; stuur Content-Length")
        if len(lengths) > 1 or any(not v.isdigit() for v in lengths):
            return self._reject(
                400, "Content-Length is ongeldig of staat er meer dan eens in met verschillende waarden"
            )
        if length > limits.max_body:
            return self._reject(413, f"een bericht van {_mb(length)} is groter dan {_mb(limits.max_body)}")
        self._dispatch(length)

    def _dispatch(self, length: int) -> None:
        limits = self.server.limits
        self.sock.prefix = bytes(self.buf)
        self.buf = bytearray()
        self.sock.deadline = time.monotonic() + limits.body_grace + length / limits.min_body_rate
        self.tls.settimeout(limits.io_timeout)
        conn = self.conn
        if conn is None:
            conn = self.server.ConnectionClass(self.server, self.sock, self.server.ssl_adapter.makefile)
            conn.remote_addr, conn.remote_port = self.addr[0], self.addr[1]
            conn.ssl_env = self.server.ssl_adapter.get_environ(self.tls)
        self.state = "worker"
        self.server.hand_to_worker(conn)

    def _reject(self, status: int, why: str) -> None:
        _refusals.log(
            logging.WARNING, "verzoek van %s geweigerd met HTTP %s: %s", _peer(self.addr), status, why
        )
        self._refuse(status, "text/plain; charset=utf-8", (why + "\n").encode())

    def _refuse(self, status: int, content_type: str, body: bytes) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Refused')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        data = memoryview(head + body)
        try:
            while data:
                sent = self.tls.send(data[:16384])
                data = data[sent:]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, OSError):
            return self.close()
        # Keep reading (and discarding) for a moment, so that the peer reads the answer instead of a reset.
        self.state = "drain"
        self.server.track_unadmitted(self)  # a refused peer may make room for a newcomer
        self.buf = bytearray()
        self._set_deadline(self.server.limits.refusal_linger)
        self._register()

    def _drain(self) -> None:
        if not self._read_available(1 << 20) or len(self.buf) > 1 << 20:
            return self.close()
        self.buf = bytearray()
        self._register()


# ------------------------------------------------------------------------------------ cheroot glue


class _ContextSSLAdapter(BuiltinSSLAdapter):
    """cheroot's builtin adapter with a ready-made SSLContext; it only builds the TLS part of the
    environ (the handshake itself runs in :class:`_Pending`)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.certificate = None
        self.private_key = None
        self.certificate_chain = None
        self.ciphers = None
        self.private_key_password = None
        self._server_env: dict[str, str] = {}
        self.context = context

    def get_environ(self, sock: Any) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ(sock)  # type: ignore[no-untyped-call]
        env["ieb.peer_cert"] = sock.getpeercert(binary_form=True)
        return env

    def makefile(self, sock: Any, mode: str = "r", bufsize: int = 8192) -> Any:
        return StreamReader(sock, mode, bufsize) if "r" in mode else StreamWriter(sock, mode, bufsize)


class _Gateway(wsgi.Gateway_10):
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        env["ieb.socket"] = self.req.conn.socket
        return env

    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        write = super().start_response(status, headers, exc_info)
        sock = self.req.conn.socket
        if getattr(sock, "timed_out", False) or str(status).startswith(("408", "413", "431")):
            self.req.close_connection = True  # do not try to read the rest of the body
        return write


class _Manager(connections.ConnectionManager):
    """cheroot's selector loop, but accepting without a handshake and waiting for request heads."""

    server: _Server

    def _from_server_socket(self, server_socket: socket.socket) -> _Pending | None:
        try:
            raw, addr = server_socket.accept()
        except OSError:
            return None
        server = self.server
        address = str(addr[0]) if isinstance(addr, tuple) else str(addr)
        full = server.reserve(address)
        if full and server.evict_unadmitted():
            full = server.reserve(address)
        if full:
            _refusals.log(logging.WARNING, "verbinding van %s geweigerd: %s", _peer(addr), full)
            raw.close()
            return None
        try:
            raw.setblocking(False)
            if raw.family in (socket.AF_INET, socket.AF_INET6):
                # answers go out in several TLS records (head, body): without TCP_NODELAY the
                # second waits for the client's delayed ACK, up to 40 ms per request (issue 22)
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = server.ssl_context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            server.release(address)
            raw.close()
            log.debug("verbinding van %s verbroken: %s", _peer(addr), exc)
            return None
        return _Pending(server, _Sock(tls, server, address), addr)

    def put(self, conn: Any) -> None:
        """A worker is done with a request on a kept-alive connection: wait for the next head here."""
        if conn.rfile.has_data():
            self.server.hand_to_worker(conn)
            return
        sock = conn.socket
        if not isinstance(sock, _Sock):  # pragma: no cover - every connection is made by _Pending
            super().put(conn)
            return
        sock.deadline = None
        pending = _Pending(self.server, sock, (conn.remote_addr, conn.remote_port), conn=conn)
        if pending.tls.pending():
            pending.step()
        else:
            pending._register()


class _Server(wsgi.Server):
    def __init__(
        self, *args: Any, limits: ServerLimits, ssl_context: ssl.SSLContext, admit: Admit | None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.limits = limits
        self.ssl_context = ssl_context
        self.admit = admit
        self.gateway = _Gateway
        self.ssl_adapter = _ContextSSLAdapter(ssl_context)
        self.max_request_header_size = limits.max_header_bytes
        self.max_request_body_size = limits.max_body
        self.keep_alive_conn_limit = limits.max_connections
        self._open = 0
        self._per_address: dict[str, int] = {}
        self._open_lock = threading.Lock()
        # connections that have not passed admission, oldest first (dicts keep insertion order)
        self._unadmitted: dict[int, _Pending] = {}
        self._unadmitted_lock = threading.Lock()
        self.evicted = 0

    def prepare(self) -> None:
        super().prepare()
        old: Any = self.__dict__["_connections"]
        self.__dict__["_connections"] = _Manager(self)
        old._selector.close()

    def reserve(self, address: str) -> str | None:
        """Count a new connection from ``address``; the reason when a limit is reached (then nothing is counted)."""
        with self._open_lock:
            if self._open >= self.limits.max_connections:
                return f"al {self._open} verbindingen open"
            mine = self._per_address.get(address, 0)
            if mine >= self.limits.max_connections_per_address:
                return f"al {mine} verbindingen van dit adres open"
            self._open += 1
            self._per_address[address] = mine + 1
            return None

    def track_unadmitted(self, pending: _Pending) -> None:
        with self._unadmitted_lock:
            self._unadmitted[id(pending)] = pending

    def untrack(self, pending: _Pending) -> None:
        with self._unadmitted_lock:
            self._unadmitted.pop(id(pending), None)

    def evict_unadmitted(self) -> bool:
        """Close the oldest connection that has not passed admission (selector thread); False if none."""
        with self._unadmitted_lock:
            if self._open < self.limits.max_connections or not self._unadmitted:
                return False
            key = next(iter(self._unadmitted))
            victim = self._unadmitted.pop(key)
        try:
            manager: Any = self.__dict__["_connections"]
            manager._selector.unregister(victim.fileno())
        except (KeyError, ValueError, OSError):
            pass
        self.evicted += 1
        _refusals.log(
            logging.WARNING,
            "verbinding van %s gesloten voor een nieuwe: %s verbindingen open, deze zonder toelating",
            _peer(victim.addr),
            self._open,
        )
        victim.state = "closed"
        try:
            victim.sock.close()
        except OSError:
            pass
        return True

    def release(self, address: str) -> None:
        with self._open_lock:
            self._open -= 1
            left = self._per_address.get(address, 1) - 1
            if left > 0:
                self._per_address[address] = left
            else:
                self._per_address.pop(address, None)

    @property
    def open_connections(self) -> int:
        return self._open

    def register(self, pending: _Pending, events: int) -> None:
        if not self.ready:
            pending.close()
            return
        try:
            manager: Any = self.__dict__["_connections"]
            manager._selector.register(pending.fileno(), events, data=pending)
        except (KeyError, ValueError, OSError):
            pending.close()

    def process_conn(self, conn: Any) -> None:
        if isinstance(conn, _Pending):
            conn.step()
        else:
            super().process_conn(conn)

    def hand_to_worker(self, conn: Any) -> None:
        super().process_conn(conn)

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        """cheroot's own messages, into logging: routine ones at DEBUG; errors as one line without a
        traceback (rate-limited; the traceback only at DEBUG). A peer that went away while we wrote
        (reset, broken pipe, TLS EOF, an injected drop) is routine: INFO."""
        import sys

        exc = sys.exc_info()[1] if traceback else None
        text = mask_bsns(str(msg)).strip().splitlines()[0] if str(msg).strip() else "fout"
        if exc is not None:
            text = f"{text}: {type(exc).__name__}: {mask_bsns(str(exc))[:200]}"
            log.debug("cheroot: %s", mask_bsns(str(msg)), exc_info=True)
        if level < logging.WARNING:
            log.debug("cheroot: %s", text)
            return
        if isinstance(exc, ConnectionError | ssl.SSLEOFError | ssl.SSLZeroReturnError | TimeoutError):
            level = logging.INFO
            text = f"verbinding verbroken tijdens het antwoorden ({text})"
        _refusals.log(level, "cheroot: %s", text)


class HttpsServer:
    """Any WSGI app over mutual TLS on a hardened cheroot (see the module docstring).

    ``port=0`` picks a free port (see :attr:`port`). ``threads``: worker threads running the app.
    ``admit``: the admission check right after the handshake (default: the app's ``admit`` method
    when it has one, e.g. :meth:`ieb.transport.server.SoapEndpoint.admit`). ``timeout`` is the limit
    of one read or write (``limits.io_timeout``) when ``limits`` is not given.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        tls: TlsFiles,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 8,
        max_threads: int = 32,
        request_queue_size: int = 64,
        timeout: float | None = None,
        path: str = "/ggk0210/OntvangAsynchroon",
        limits: ServerLimits | None = None,
        admit: Admit | None = None,
    ) -> None:
        if limits is None:
            limits = ServerLimits(io_timeout=timeout) if timeout is not None else ServerLimits()
        self.app = app
        self.path = path
        self.limits = limits
        if admit is None:
            admit = getattr(app, "admit", None)
        self.server = _Server(
            (host, port),
            app,
            numthreads=threads,
            max=max(max_threads, threads),
            request_queue_size=request_queue_size,
            timeout=limits.io_timeout,
            server_name="ieb",
            accepted_queue_timeout=5,
            limits=limits,
            ssl_context=server_context(tls),
            admit=admit,
        )
        self._thread: threading.Thread | None = None
        self.host = host

    @property
    def port(self) -> int:
        """The TCP port listened on (the chosen one when ``port=0`` was given, after :meth:`start`)."""
        addr = self.server.bind_addr
        return int(addr[1])

    @property
    def url(self) -> str:
        """``https://host:port/path`` of the service."""
        return f"https://{self.host}:{self.port}{self.path}"

    @property
    def open_connections(self) -> int:
        """Connections open right now (handshaking, waiting for a head, or in a worker)."""
        return int(self.server.open_connections)

    def start(self) -> HttpsServer:
        """Bind and serve in a background thread; returns when the server accepts connections."""
        self.server.prepare()
        self._thread = threading.Thread(target=self.server.serve, name=f"ieb-https-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.server.prepare()
        self.server.serve()

    def stop(self) -> None:
        """Stop accepting, close every connection and wait (at most 10 s) for the serving thread."""
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> HttpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
