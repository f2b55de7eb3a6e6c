"""``ieb serve``: sender and receiver as one long-running service.

:class:`Service` runs, in one process,

* the receiver (:class:`ieb.transport.server.Receiver` on :class:`ieb.transport.server.HttpsServer`,
  mutual TLS, OIN allow-list) that stores retouren and Fo01 and applies them to the ledger;
* the sender (:class:`ieb.transport.sender.Sender`, ``retry.workers`` threads) that drains the
  outbox as rows arrive (idle: one cheap query per second);
* ``GET /health`` and ``GET /metrics`` (Prometheus) as WSGI middleware in front of the receiver
  (:class:`MonitorMiddleware`; any certificate of the trusted chain may read them), and on a
  plain-HTTP port when ``receiver.monitor_port`` is set (keep that on 127.0.0.1).

SIGTERM and SIGINT stop it gracefully: no new claims, sends in flight finish, leases are released,
the server stops. Several ``ieb serve`` processes on one PostgreSQL database share the outbox
(``SELECT ... FOR UPDATE SKIP LOCKED``; leases renewed while a send is in flight): nothing is
sent twice by two live workers, and the receiver is idempotent on the referentienummer.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ieb.service.metrics import CONTENT_TYPE, Metrics
from ieb.transport.sender import Wakeup

if TYPE_CHECKING:  # pragma: no cover
    from ieb.exchange import Exchange
    from ieb.transport.outbox import ClaimedMessage, Outbox
    from ieb.transport.sender import Sender
    from ieb.transport.server import HttpsServer, Receiver

__all__ = ["MonitorMiddleware", "Service"]

log = logging.getLogger("ieb.service")


class MonitorMiddleware:
    """WSGI middleware: ``GET /health`` (JSON, 200 or 503) and ``GET /metrics`` (Prometheus text);
    everything else goes to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], service: Service) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and path in ("/health", "/metrics"):
            if path == "/health":
                health = self.service.health()
                body = json.dumps(health).encode()
                status = "200 OK" if health["status"] == "ok" else "503 Service Unavailable"
                content_type = "application/json"
            else:
                body = self.service.metrics.exposition()
                status, content_type = "200 OK", CONTENT_TYPE
            start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


def preflight(exchange: Exchange, *, receive: bool = True) -> None:
    """Check what ``ieb send`` / ``ieb serve`` need before anything is opened or printed: the GGk
    endpoint, the certificate files (naming the ``organisatie.*`` setting), and for ``receive`` the
    allow-list and that ``receiver.host:receiver.port`` can be bound. Touches no database.
    Raises :class:`~ieb.errors.ConfigurationError` (Dutch, with ``oplossing:``)."""
    import socket

    from ieb.errors import ConfigurationError

    config = exchange.config
    if not config.ggk.endpoint:
        raise ConfigurationError("ggk.endpoint ontbreekt in ieb.toml", code="CONFIG")
    exchange.tls_files()
    if not receive:
        return
    if not config.receiver.allowed_oins:
        raise ConfigurationError(
            "receiver.allowed_oins is leeg: wie mag retouren afleveren? oplossing: zet de OIN van de GGk "
            "in receiver.allowed_oins",
            code="CONFIG",
        )
    r = config.receiver
    for port, setting in ((r.port, "receiver.port"), (r.monitor_port, "receiver.monitor_port")):
        if not port:
            continue
        host = r.host if setting == "receiver.port" else r.monitor_host
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            cause = "al in gebruik" if exc.errno in (98, 48, 10048) else "niet te gebruiken"
            raise ConfigurationError(
                f"poort {port} op {host} is {cause} ({setting}); oplossing: stop het andere proces "
                f"(draait `ieb serve` al?) of kies een andere {setting} ({exc.strerror})",
                code="CONFIG",
            ) from None
        finally:
            probe.close()


class Service:
    """Sender + receiver of one :class:`~ieb.exchange.Exchange` (see the module docstring)."""

    def __init__(self, exchange: Exchange, *, poll_seconds: float = 1.0) -> None:
        self.exchange = exchange
        self.config = exchange.config
        self.poll_seconds = poll_seconds
        self.metrics = Metrics(exchange.engine)
        self.server: HttpsServer | None = None
        self.receiver: Receiver | None = None
        self.monitor: Any = None
        self.sender: Sender | None = None
        self.outbox: Outbox | None = None
        self._sender_thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.wake = Wakeup()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Service:
        """Start receiver, monitor and sender threads; returns when the receiver listens."""
        from ieb.transport.sender import Sender
        from ieb.transport.server import HttpsServer

        ex = self.exchange
        ex.on_retour = self.metrics.on_retour
        receiver = self.receiver = ex.receiver()
        done = len(ex.retours.replay(("received",)))
        if done:
            log.info("%d opgeslagen retour(en) van een vorige run verwerkt", done)
        r = self.config.receiver
        self.server = HttpsServer(
            MonitorMiddleware(receiver, self), ex.tls_files(), host=r.host, port=r.port, threads=r.threads
        ).start()
        if r.monitor_port:
            from cheroot import wsgi

            monitor_app = MonitorMiddleware(_not_found, self)
            self.monitor = wsgi.Server((r.monitor_host, r.monitor_port), monitor_app, numthreads=2)
            self.monitor.prepare()
            threading.Thread(target=self.monitor.serve, name="ieb-monitor", daemon=True).start()
        client = ex.client()
        self._client = client
        self.outbox = ex.outbox()
        self.sender = Sender(
            self.outbox, client, policy=ex.retry_policy, on_result=self._on_result, stop_on_permanent=False
        )
        self._sender_thread = threading.Thread(
            target=self.sender.run_forever,
            kwargs={
                "workers": self.config.retry.workers,
                "wake": self.wake,
                "idle_seconds": self.poll_seconds,
            },
            name="ieb-serve-sender",
            daemon=True,
        )
        self._sender_thread.start()
        log.info("ieb serve: ontvanger op %s, verzender naar %s", self.server.url, self.config.ggk.endpoint)
        return self

    def _on_result(self, msg: ClaimedMessage, outcome: str, reason: str | None) -> None:
        self.metrics.on_send(outcome, reason)
        if outcome != "acknowledged":
            level = (
                logging.ERROR if outcome in ("permanent", "dead", "failed", "lease_lost") else logging.WARNING
            )
            log.log(
                level,
                "%s %s: %s",
                msg.referentienummer,
                outcome,
                reason or "-",
                extra={"referentienummer": msg.referentienummer, "outcome": outcome},
            )

    def stop(self) -> None:
        """Graceful stop: no new claims, running sends finish, leases released, server stopped."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.sender is not None:
            self.sender.stop()
            self.wake.set()
        if self._sender_thread is not None:
            self._sender_thread.join(timeout=self.exchange.lease_seconds)
        if self.outbox is not None:
            released = self.outbox.release()
            if released:
                log.info("%d lease(s) vrijgegeven", released)
        if self.server is not None:
            self.server.stop()
        if self.monitor is not None:
            self.monitor.stop()
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    def run(self, *, install_signals: bool = True) -> None:
        """Start, wait for SIGTERM/SIGINT (or :meth:`stop`), stop gracefully."""
        stop = threading.Event()
        if install_signals:

            def handler(signum: int, _frame: Any) -> None:
                log.info("signaal %d: netjes stoppen", signum)
                stop.set()

            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
        self.start()
        try:
            while not stop.wait(0.5) and not self._stopped.is_set():
                pass
        finally:
            self.stop()

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"|"failing", "database": bool, "sender": bool, "outbox": {...}}``."""
        started = time.perf_counter()
        database = True
        outbox: dict[str, int] = {}
        try:
            if self.outbox is not None:
                outbox = self.outbox.counts()
        except Exception:  # noqa: BLE001 - health reports, never raises
            database = False
        sender = self._sender_thread is not None and self._sender_thread.is_alive()
        ok = database and sender and not self._stopped.is_set()
        return {
            "status": "ok" if ok else "failing",
            "database": database,
            "sender": sender,
            "outbox": outbox,
            "seconds": round(time.perf_counter() - started, 4),
        }

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
