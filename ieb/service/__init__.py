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

import datetime as dt
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ieb.errors import ConfigurationError, IebError
from ieb.exchange import Exchange
from ieb.service.metrics import CONTENT_TYPE, Metrics
from ieb.transport.monitoring import TransportCollector
from ieb.transport.pki import load_certificates, oin_from_certificate
from ieb.transport.sender import Sender, Wakeup
from ieb.transport.server import HttpsServer, receiver_server

if TYPE_CHECKING:  # pragma: no cover
    from ieb.transport.outbox import ClaimedMessage, Outbox
    from ieb.transport.server import Receiver

__all__ = ["MonitorMiddleware", "SenderGaveUpError", "Service"]

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
            if exc.errno in (98, 48, 10048):  # address in use: Linux, macOS, Windows
                text = (
                    f"poort {port} op {host} is al in gebruik door een ander programma (draait `ieb serve` "
                    f"al?); oplossing: stop dat programma, of kies een andere poort: {setting} in ieb.toml"
                    + (" (en callback in simulator.toml)" if setting == "receiver.port" else "")
                )
            else:  # the system's own words (English) only after the Dutch, marked as technical
                text = (
                    f"poort {port} op {host} is niet te gebruiken ({setting}); oplossing: kies een andere "
                    f"{setting} of een ander adres (technische melding: {exc.strerror})"
                )
            raise ConfigurationError(text, code="CONFIG") from None
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
        self._stop_requested = threading.Event()
        self._probe_lock = threading.Lock()
        self._probe: threading.Thread | None = None
        #: why the sender gave up (the database stayed unavailable), or None
        self.gave_up: str | None = None
        self.wake = Wakeup()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Service:
        """Start receiver, monitor and sender threads; returns when the receiver listens."""
        ex = self.exchange
        if self.config.clock is not None:  # issue 26: a rehearsal clock is said loudly
            log.warning(
                "OEFENKLOK: ieb serve beoordeelt retouren met vandaag = %s (echte datum %s)",
                self.config.clock.isoformat(),
                dt.date.today().isoformat(),
            )
        ex.on_retour = self.metrics.on_retour
        receiver = self.receiver = ex.receiver()
        done = sum(1 for _ref, status, _why in ex.retours.replay(("received",)) if status == "processed")
        if done:
            log.info("%d opgeslagen retour(en) van een vorige run verwerkt", done)
        r = self.config.receiver
        # issue 21: the same post-handshake OIN admission, limits and slots as `ieb receive`
        tls = ex.tls_files()
        self.server = receiver_server(
            MonitorMiddleware(receiver, self),
            receiver,
            tls,
            monitor_oins=_own_oins(tls.cert),
            host=r.host,
            port=r.port,
            threads=r.threads,
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
            self.outbox,
            client,
            policy=ex.retry_policy,
            on_result=self._on_result,
            stop_on_permanent=False,
            on_give_up=self._give_up,  # issue 21: the database stayed away; exit non-zero
        )
        self.metrics.registry.register(_SenderCollector(self))
        # issue 21: per gemeente, waiting, oldest without retour, retries by code
        self.transport_metrics = TransportCollector(ex.engine)
        self.metrics.registry.register(self.transport_metrics)
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
        self._audit_lifecycle("gestart", f"pid {os.getpid()}")  # issue 26: restarts in ieb report
        return self

    def _audit_lifecycle(self, outcome: str, detail: str | None) -> None:
        """One ``service`` row in the audit table (``gestart``/``gestopt``): ``ieb report`` shows
        restarts from them. Never stops the service when the database is the problem."""
        from ieb.transport.audit import AuditTrail

        try:
            AuditTrail(self.exchange.engine).record("out", "service", outcome=outcome, detail=detail)
        except Exception as exc:  # noqa: BLE001 - the database may be why we stop
            log.warning("dienst %s niet in het auditlog (%s)", outcome, type(exc).__name__)

    def _on_result(self, msg: ClaimedMessage, outcome: str, reason: str | None) -> None:
        self.metrics.on_send(outcome, reason)
        if getattr(self, "transport_metrics", None) is not None:
            self.transport_metrics.on_result(outcome, reason)
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

    def _give_up(self, cause: str) -> None:
        """The sender could not use the database for ``retry.give_up_seconds``: stop the service
        so that :meth:`run` raises :class:`SenderGaveUpError` (``ieb serve`` exits non-zero and a
        supervisor such as systemd's ``Restart=on-failure`` starts it again)."""
        self.gave_up = cause
        self._stop_requested.set()

    def stop(self) -> None:
        """Graceful stop: no new claims, running sends finish, leases released, server stopped."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.server is not None:
            self._audit_lifecycle("gestopt", self.gave_up)
        if self.sender is not None:
            self.sender.stop()
            self.wake.set()
        if self._sender_thread is not None:
            self._sender_thread.join(timeout=self.exchange.lease_seconds)
        if self.outbox is not None:
            try:
                released = self.outbox.release()
            except Exception as exc:  # noqa: BLE001 - the database may be the reason we stop
                log.warning("leases niet vrijgegeven (%s); ze verlopen vanzelf", type(exc).__name__)
                released = 0
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
        stop = self._stop_requested
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
        if self.gave_up is not None:
            raise SenderGaveUpError(
                f"verzender gestopt: {self.gave_up}; oplossing: herstel de database, daarna start de "
                "supervisor ieb serve opnieuw",
                code="SENDER_GAVE_UP",
            )

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"|"degraded"|"failing", "database": bool, "sender": bool, "sender_state":
        "ok"|"degraded"|"stopped", "cause": str|None, "outbox": {...}}``: ``degraded`` while the
        sender lives but cannot use its database (``cause`` says why); HTTP 503 unless ``ok``."""
        started = time.perf_counter()
        # issue 21: the database probe never holds /health longer than 2 s (a locked SQLite waits 30 s)
        database, outbox = self._probe_database(2.0)
        sender = self._sender_thread is not None and self._sender_thread.is_alive()
        # issue 21: "degraded" (with the cause) while the sender lives but its database does not
        state = self.sender.health() if self.sender is not None else {"state": "stopped", "cause": None}
        if not sender or self._stopped.is_set():
            status = "failing"
        elif not database or state["state"] == "degraded":
            status = "degraded"
        else:
            status = "ok"
        cause = state.get("cause") or (None if database else "database niet bereikbaar of vergrendeld")
        clock = self.config.clock  # issue 26: the rehearsal clock, shown loudly
        return {
            "status": status,
            "database": database,
            "sender": sender,
            "sender_state": state["state"],
            "cause": cause,
            "outbox": outbox,
            "seconds": round(time.perf_counter() - started, 4),
            "vandaag": (clock or dt.date.today()).isoformat(),
            "oefenklok": clock is not None,
        }

    def _probe_database(self, seconds: float) -> tuple[bool, dict[str, int]]:
        """(database answered, outbox counts) within ``seconds``, from a daemon thread; one probe at
        a time (while one still waits for a locked database the next ones answer False at once)."""
        if self.outbox is None:
            return True, {}
        outbox = self.outbox
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["counts"] = outbox.counts()
            except Exception as exc:  # noqa: BLE001 - reported as "database False"
                box["error"] = exc

        with self._probe_lock:
            if self._probe is not None and self._probe.is_alive():
                return False, {}
            probe = self._probe = threading.Thread(target=run, name="ieb-health", daemon=True)
            probe.start()
        probe.join(seconds)
        if "counts" in box:
            return True, dict(box["counts"])
        return False, {}

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _own_oins(cert: Any) -> tuple[str, ...]:
    """The OIN of our own certificate (it may read /health and /metrics), or () without one."""
    try:
        oin = oin_from_certificate(load_certificates(cert)[0])
    except (ValueError, IndexError, OSError):
        return ()
    return (oin,) if oin else ()


class SenderGaveUpError(IebError):
    """``ieb serve`` stopped because its sender could not use the database for
    ``retry.give_up_seconds`` (the process must exit non-zero so a supervisor restarts it)."""


class _SenderCollector(Collector):
    """``ieb_sender_alive`` (worker threads running), ``ieb_sender_degraded`` (1 while backing
    off from the database) and ``ieb_sender_database_errors`` of this process."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Any]:
        sender = self.service.sender
        health: dict[str, Any] = (
            sender.health()
            if sender is not None
            else {"workers_alive": 0, "state": "stopped", "db_errors": 0}
        )
        yield GaugeMetricFamily(
            "ieb_sender_alive", "Sender worker threads running", value=health["workers_alive"]
        )
        yield GaugeMetricFamily(
            "ieb_sender_degraded",
            "1 while the sender backs off from its database",
            value=int(health["state"] == "degraded"),
        )
        yield GaugeMetricFamily(
            "ieb_sender_database_errors", "Failed database calls of the sender", value=health["db_errors"]
        )


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
