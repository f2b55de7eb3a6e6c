"""``ieb simulate serve``: the GGk and the CAK as an HTTPS SOAP server with mutual TLS.

:class:`GgkSimulator` is the WSGI app (an :class:`ieb.transport.server.SoapEndpoint`) that plays
the gemeente's Digikoppeling adapter, the GGk and the CAK at once:

1. a ``ggk_Di01`` arrives over mutual TLS (client OIN checked against the allow-list);
2. the envelope is checked (:class:`ieb.ggk.EnvelopeChecks`): a problem the GGk reports
   asynchronously (``IB007``, ``IB009``, ``IB210``, ``IB213``, ``IB234``, ``IB240``, ``StUF055``) is
   acknowledged with Bv03 and answered later with a ``Fo01`` callback; an envelope that cannot be
   read at all gets a synchronous Fo03 (``RIN001``);
3. a good Di01 is stored in the simulator's own inbox (idempotent on the referentienummer: a
   redelivery is acknowledged and not processed again) and acknowledged with Bv03;
4. a background worker queue runs the CAK side (:class:`ieb.simulator.cak.CakSimulator`) on the
   payload and puts a ``ggk_Du01`` holding the retour in the simulator's outbox;
5. callback senders (:class:`ieb.transport.sender.Sender`, with retries) deliver the Du01/Fo01 to
   the gemeente's receiver.

Fault injection (:mod:`ieb.simulator.faults`) adds latency, HTTP 503, lost acknowledgements,
dropped connections, duplicate callback deliveries and Fo01s, seeded and at configurable rates.

:class:`SimulatorService` wires all of it (database, HTTPS server, CAK workers, callback senders)
and is what ``ieb simulate serve`` and ``ieb demo`` start.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ieb.ggk import (
    Bv03,
    CheckResult,
    Di01,
    Envelope,
    EnvelopeChecks,
    Fo01,
    Foutbericht,
    Stuurgegevens,
    Systeem,
    build,
    bv03_for,
    du01_for,
    fo01_for,
    format_tijdstip,
    new_referentienummer,
)
from ieb.ggk.codes import FoutCode
from ieb.ggk.soap import unwrap_soap
from ieb.releases import default_registry
from ieb.simulator.cak import CakConfig, CakResult, CakSimulator
from ieb.simulator.faults import FaultConfig, FaultInjector
from ieb.transport.audit import AuditTrail
from ieb.transport.client import GgkClient, Peer, SendResult, WusSigning
from ieb.transport.outbox import ClaimedMessage, Outbox, ledger_tables, open_ledger, utcnow
from ieb.transport.sender import RetryPolicy, Sender, Wakeup
from ieb.transport.server import HttpsServer, PeerInfo, SoapEndpoint, SoapReply
from ieb.transport.tls import TlsFiles
from ieb.types import mask_bsns

__all__ = ["CALLBACK_RETRY", "GEMEENTE_PEER", "GgkSimulator", "SimulatorService", "SimulatorStats"]

#: the other end of the simulator's retour deliveries: the gemeente's receiver at the callback URL
GEMEENTE_PEER = Peer(
    name="ontvanger van de gemeente",
    called="de ontvanger van de gemeente",
    setting="callback in simulator.toml (of --callback)",
    start="start de ontvanger van de gemeente (`ieb serve`)",
    running="draait die?",
    timeout_setting="de time-out van de simulator",
)

log = logging.getLogger("ieb.simulator")

_T = rb"<(?:[A-Za-z0-9_.-]+:)?%s\b[^>]*>"
_REF = re.compile(_T % b"referentienummer" + rb"([^<]{1,40})</")
_ORG = re.compile(_T % b"zender" + rb"\s*" + _T % b"organisatie" + rb"([^<]{1,40})</")
_APP = re.compile(_T % b"zender" + rb".*?" + _T % b"applicatie" + rb"([^<]{3,50})</", re.S)
_FUNCTIE = re.compile(_T % b"functie" + rb"([^<]{1,30})</")


def _payload_level1(payload: bytes) -> list[str]:
    """StUF055: the iStandaard file must be XSD-valid (level 1 of :func:`ieb.validation.validate_bytes`)."""
    from ieb.validation import validate_bytes

    report = validate_bytes(payload)
    if report.release is not None and default_registry.get(report.release).level1_fo01:
        return []  # this release's CAK checks the payload itself and answers Fo01 (iEb 4.0: IB001)
    return [f"{i.code}: {i.message}" for i in report.issues if i.level == 1]


def _transient_fo01(error: str) -> bool:
    """True when an inbox row's ``error`` records an injected Fo01 whose code a sender treats as
    transient (:func:`ieb.transport.faults.classify`: IB103, IB023, ...): its resend is processed."""
    from ieb.transport.faults import FaultKind, classify

    parts = error.split()
    return len(parts) >= 2 and parts[0] == "Fo01" and classify(parts[1]).kind == FaultKind.TRANSIENT


def _cause(result: CakResult) -> str:
    """Why the CAK answered as it did, for a clerk or a vendor's CI (BSNs masked): the Fo01 code
    when there is no retour, then each finding as ``code (retourcode): message`` (at most 5)."""
    parts = [
        f"{i.code}"
        + (f" ({i.retourcode})" if i.retourcode and i.retourcode != i.code else "")
        + f": {i.message}"
        for i in result.issues[:5]
    ]
    if len(result.issues) > 5:
        parts.append(f"en nog {len(result.issues) - 5}")
    head = ""
    if result.retour is None:
        head = f"Fo01 {result.fo01_code or 'StUF055'}: {result.reason or 'geen retour mogelijk'}"
    elif result.reason:
        head = result.reason
    return mask_bsns("; ".join(p for p in (head, *parts) if p))


@dataclass
class SimulatorStats:
    """What the simulator saw and did (for the demo and tests)."""

    received: int = 0
    redeliveries: int = 0
    fo01: int = 0
    cak_calls: collections.Counter[str] = field(default_factory=collections.Counter)
    verdicts: collections.Counter[str] = field(default_factory=collections.Counter)
    callbacks_sent: int = 0
    callbacks_duplicated: int = 0
    #: referentienummers sent again (same envelope) after the simulator answered them with a Fo01:
    #: acknowledged as a redelivery and not processed; after a Fo01 a NEW Di01 is needed
    resent_after_fo01: collections.Counter[str] = field(default_factory=collections.Counter)
    #: why each Di01 got the answer it got (referentienummer -> Dutch text, BSNs masked): the Fo01
    #: code and its cause (the XSD or envelope finding), or the CAK's findings behind a retour's codes
    causes: dict[str, str] = field(default_factory=dict)

    @property
    def cak_duplicates(self) -> int:
        """Heenberichten the CAK side processed more than once (must be 0)."""
        return sum(n - 1 for n in self.cak_calls.values() if n > 1) + self.verdicts.get("repeat", 0)


class GgkSimulator(SoapEndpoint):
    """The GGk's OntvangAsynchroon endpoint, with the CAK behind it (see the module docstring)."""

    accepted = (Di01,)

    def __init__(
        self,
        engine: Engine,
        *,
        faults: FaultConfig | None = None,
        cak_config: CakConfig | None = None,
        today: dt.date | None = None,
        checks: EnvelopeChecks | None = None,
        known_zenders: Collection[str] | None = None,
        cak_workers: int = 1,
        clock: Callable[[], dt.datetime] = utcnow,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("organisatie", "CAK")
        kwargs.setdefault("applicatie", "GGk")
        kwargs.setdefault("audit", AuditTrail(engine))
        checks = checks or EnvelopeChecks(
            known_zenders=known_zenders,
            payload_validator=self._payload_check,
            functie_berichtcode=default_registry.functie_berichtcodes(),
        )
        super().__init__(checks=checks, **kwargs)
        self.engine = engine
        self.faults = FaultInjector(faults)
        self.cak = CakSimulator(engine, cak_config, today=today)
        self.outbox = Outbox(engine, audit=self.audit, lease_seconds=60.0, clock=clock)
        self.inbox = ledger_tables().inbox
        self.stats = SimulatorStats()
        self._lock = threading.Lock()
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._cak_worker, name=f"ieb-cak-{i}", daemon=True)
            for i in range(max(1, cak_workers))
        ]
        self._started = False
        #: set whenever a callback is queued: wakes the idle callback senders (no polling)
        self.wake = Wakeup()

    def _payload_check(self, payload: bytes) -> list[str]:
        """The GGk's StUF055 check of the payload, active only with ``level1="none"`` (IV032: a
        level-1 failure gets no retour, so the GGk refuses the payload with Fo01 StUF055). With
        ``level1="retour"`` (IV028, the default) the payload goes to the CAK, which answers it with
        a header-only retour with 0001; a release whose CAK answers Fo01 itself (iEb 4.0: IB001) is
        always left to the CAK."""
        if self.cak.config.level1 != "none":
            return []
        return _payload_level1(payload)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the CAK workers and requeue what a previous run stored but did not process."""
        if self._started:
            return
        self._started = True
        for th in self._workers:
            th.start()
        t = self.inbox
        with self.engine.connect() as conn:
            ids = conn.execute(
                sa.select(t.c.id).where(t.c.status == "received", t.c.berichtcode == "Di01").order_by(t.c.id)
            ).scalars()
            for row_id in ids:
                self._queue.put(int(row_id))

    def stop(self) -> None:
        """Stop the CAK workers (waits up to 10 s each); rows still ``received`` are picked up by the next :meth:`start`."""
        for _ in self._workers:
            self._queue.put(None)
        for th in self._workers:
            th.join(timeout=10)

    def idle(self) -> bool:
        """True when no heenbericht waits for the CAK side."""
        return self._queue.unfinished_tasks == 0

    # -- the rehearsal clock and /health -------------------------------------------------------

    @property
    def vandaag(self) -> dt.date | None:
        """The rehearsal day the CAK judges dates by (DagtekeningRetour, 8848), or None: the real date."""
        return self.cak.today

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "vandaag": "JJJJ-MM-DD", "oefenklok": bool, "ontvangen": n, "fo01": n}``:
        the day the CAK judges dates by; ``oefenklok`` true when that is a rehearsal day (``--vandaag``
        / ``clock``), not the real date."""
        day = self.cak.today
        return {
            "status": "ok",
            "vandaag": (day or dt.date.today()).isoformat(),
            "oefenklok": day is not None,
            "ontvangen": self.stats.received,
            "fo01": self.stats.fo01,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """``GET /health`` (JSON, :meth:`health`); everything else is the SOAP endpoint."""
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "") == "/health":
            body = json.dumps(self.health()).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return super().__call__(environ, start_response)

    # -- incoming -----------------------------------------------------------------------------

    def receive(self, body: bytes, environ: dict[str, Any], peer: PeerInfo) -> SoapReply:
        """Serve one incoming SOAP request with the configured faults applied (latency, HTTP 503, dropped connection before or after storing, lost Bv03); otherwise as :meth:`ieb.transport.server.Receiver.receive`."""
        delay = self.faults.latency()
        if delay:
            time.sleep(delay)
        fault = self.faults.request_fault()
        if fault == "http503":
            return SoapReply(503, b"tijdelijk niet beschikbaar (gesimuleerd)\n", "text/plain; charset=utf-8")
        if fault == "drop_before":
            return SoapReply(0, b"", drop=True)
        reply = super().receive(body, environ, peer)
        if reply.status == 200 and fault == "lost_ack":
            return SoapReply(503, b"bevestiging verloren (gesimuleerd)\n", "text/plain; charset=utf-8")
        if reply.status == 200 and fault == "drop_after":
            return SoapReply(0, b"", drop=True)
        return reply

    def on_findings(self, result: CheckResult, body: bytes, peer: PeerInfo) -> SoapReply | None:
        """Acknowledge a readable envelope with problems and answer it with an asynchronous Fo01."""
        first = result.first
        assert first is not None
        envelope = result.envelope if isinstance(result.envelope, Di01) else None
        if envelope is not None:
            fo01 = fo01_for(envelope, first.code.value, str(first.omschrijving)[:200], zender=self.systeem)
            ref, cross, org = envelope.referentienummer, None, envelope.stuurgegevens.zender.organisatie
            functie: str | None = envelope.functie
        else:
            ref_m, org_m = _REF.search(body[:65536]), _ORG.search(body[:65536])
            if ref_m is None or org_m is None:
                return None  # unreadable: synchronous Fo03
            ref = ref_m.group(1).decode("utf-8", "replace").strip()
            org = org_m.group(1).decode("utf-8", "replace").strip()
            app_m = _APP.search(body[:65536])
            fun_m = _FUNCTIE.search(body[:65536])
            functie = fun_m.group(1).decode("utf-8", "replace").strip() if fun_m else None
            cross = None
            fo01 = Fo01(
                stuurgegevens=Stuurgegevens(
                    berichtcode="Fo01",
                    zender=self.systeem,
                    ontvanger=Systeem(
                        organisatie=org,
                        applicatie=app_m.group(1).decode("utf-8", "replace") if app_m else "onbekend",
                    ),
                    referentienummer=new_referentienummer(),
                    tijdstip_bericht=format_tijdstip(dt.datetime.now(dt.UTC)),
                    cross_refnummer=ref,
                ),
                body=Foutbericht(
                    code=first.code.value, plek="client", omschrijving=str(first.omschrijving)[:200]
                ),
            )
        if not self._store(ref, cross, "Di01", functie, org, peer, body, status="failed", error=str(first)):
            return SoapReply(200, self._answer(self._bv03(ref, org or "onbekend"), None))
        self._enqueue_callback(fo01, functie)
        with self._lock:
            self.stats.fo01 += 1
            self.stats.causes[ref] = mask_bsns(f"Fo01 {first.code.value}: {first.omschrijving}")
        return SoapReply(200, self._answer(self._bv03(ref, org or "onbekend"), None))

    def _bv03(self, ref: str, org: str) -> Bv03:
        return Bv03(
            stuurgegevens=Stuurgegevens(
                berichtcode="Bv03",
                zender=self.systeem,
                ontvanger=Systeem(organisatie=org, applicatie="onbekend"),
                referentienummer=new_referentienummer(),
                tijdstip_bericht=format_tijdstip(dt.datetime.now(dt.UTC)),
                cross_refnummer=ref,
            )
        )

    def _store(
        self,
        ref: str,
        cross: str | None,
        code: str,
        functie: str | None,
        zender: str | None,
        peer: PeerInfo,
        raw: bytes,
        *,
        status: str = "received",
        error: str | None = None,
    ) -> int | None:
        """Insert in the simulator's inbox and commit; None when the referentienummer is known."""
        t = self.inbox
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    sa.insert(t)
                    .values(
                        referentienummer=ref,
                        cross_ref_nummer=cross,
                        berichtcode=code,
                        functie=functie,
                        zender=(zender or "")[:32],
                        peer_oin=peer.oin,
                        envelope=raw,
                        status=status,
                        error=error,
                        received_at=utcnow(),
                    )
                    .returning(t.c.id)
                ).scalar_one()
                self.audit.record(
                    "in", code, referentienummer=ref, functie=functie, outcome=status, detail=error, conn=conn
                )
        except IntegrityError:
            with self.engine.connect() as conn:
                earlier = conn.execute(
                    sa.select(t.c.id, t.c.status, t.c.error).where(t.c.referentienummer == ref).limit(1)
                ).first()
            error = str(earlier.error or "") if earlier is not None else ""
            after_fo01 = earlier is not None and (earlier.status == "failed" or error.startswith("Fo01"))
            with self._lock:
                if after_fo01:
                    self.stats.resent_after_fo01[ref] += 1
            if status == "received" and earlier is not None and _transient_fo01(error):
                # the same envelope again after a TRANSIENT Fo01 (the CAK never got it): a new delivery
                self._retire(int(earlier.id), ref, error)
                return self._store(ref, cross, code, functie, zender, peer, raw)
            self.audit.record("in", code, referentienummer=ref, functie=functie, outcome="redelivery")
            with self._lock:
                self.stats.redeliveries += 1
            return None
        with self._lock:
            self.stats.received += 1
        return int(new_id)

    def _retire(self, row_id: int, ref: str, error: str) -> None:
        """Free referentienummer ``ref`` of inbox row ``row_id`` (answered with a transient Fo01) for
        its resend: the old row keeps a fresh placeholder number and status ``duplicate``."""
        t = self.inbox
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id == row_id)
                .values(
                    referentienummer=new_referentienummer(),
                    status="duplicate",  # superseded by the resend (the inbox statuses are fixed)
                    error=f"{error}; opnieuw ontvangen als {ref}"[:2000],
                )
            )

    def handle(
        self, envelope: Envelope, raw: bytes, peer: PeerInfo, environ: dict[str, Any]
    ) -> Bv03 | SoapReply:
        """Store an accepted Di01 in the inbox (once per referentienummer; a redelivery is not processed again), queue it for the CAK workers and answer with a Bv03 at once (StUF-GGk asynchronous exchange)."""
        assert isinstance(envelope, Di01)
        new_id = self._store(
            envelope.referentienummer,
            None,
            "Di01",
            envelope.functie,
            envelope.stuurgegevens.zender.organisatie,
            peer,
            raw,
        )
        if new_id is not None:
            self._queue.put(new_id)
        return bv03_for(envelope, zender=self.systeem)

    # -- the CAK side -------------------------------------------------------------------------

    def _cak_worker(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._process(item)
            except Exception:
                log.exception("CAK-verwerking van inbox-rij %s mislukt", item)
            finally:
                self._queue.task_done()

    def _process(self, inbox_id: int) -> None:
        t = self.inbox
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == inbox_id)).first()
        if row is None or row.status != "received":
            return
        di01 = unwrap_soap(bytes(row.envelope))
        assert isinstance(di01, Di01)
        callback: Envelope
        if self.faults.fo01():
            code = self.faults.config.fo01_code
            callback = fo01_for(di01, code, zender=self.systeem)
            with self._lock:
                self.stats.fo01 += 1
                self.stats.causes[di01.referentienummer] = (
                    f"Fo01 {code}: {FoutCode(code).omschrijving} (gesimuleerde storing; het bestand zelf is "
                    "niet beoordeeld)"
                )
            outcome = "fo01"
        else:
            with self._lock:
                self.stats.cak_calls[di01.referentienummer] += 1
            result = self.cak.process(di01.payload, source=di01.referentienummer, functie=di01.functie)
            with self._lock:
                self.stats.verdicts[result.verdict] += 1
                self.stats.causes[di01.referentienummer] = _cause(result)
            if result.retour is None:
                callback = fo01_for(
                    di01,
                    result.fo01_code or "StUF055",
                    (result.reason or "geen retour mogelijk")[:200],
                    zender=self.systeem,
                )
                outcome = "no_retour"
            else:
                callback = du01_for(di01, result.retour)
                outcome = result.verdict
        with self.engine.begin() as conn:
            won = conn.execute(
                sa.update(t)
                .where(t.c.id == inbox_id, t.c.status == "received")
                .values(
                    status="processed",
                    processed_at=utcnow(),
                    error=None if outcome != "fo01" else f"Fo01 {self.faults.config.fo01_code}",
                )
            ).rowcount
            if won == 1:
                self._enqueue_callback(callback, di01.functie, conn=conn)
        self.wake.set()  # again after the commit, so a woken sender finds the row

    def _enqueue_callback(
        self, envelope: Envelope, functie: str | None, *, conn: sa.Connection | None = None
    ) -> None:
        self.outbox.enqueue(
            build(envelope),
            referentienummer=envelope.referentienummer,
            afzender=self.organisatie[:4],
            functie=(getattr(envelope, "functie", None) or envelope.berichtcode)[:16],
            payload=getattr(envelope, "payload", b""),
            conn=conn,
        )
        self.wake.set()


#: How the GGk side delivers retouren and Fo01s to a gemeente's receiver: like the real GGk it
#: keeps trying for HOURS (issue 21; it used to give up after 85-100 s of receiver downtime). A
#: message waits 1 s, 2 s, ... up to 10 minutes between claims; 400 attempts of 2 per claim last
#: well over a day before a retour is dead-lettered.
CALLBACK_RETRY = RetryPolicy(
    max_attempts=400,
    attempts_per_claim=2,
    backoff_initial=0.1,
    backoff_max=2.0,
    requeue_initial=1.0,
    requeue_max=600.0,
)


def _log_callback(msg: ClaimedMessage, outcome: str, reason: str | None) -> None:
    """A retour that did not reach the gemeente: WARNING while the GGk keeps trying, ERROR when it
    gives up; the advice is about the RECEIVING side (the gemeente's receiver). A ``reason`` that
    already says what to do (``oplossing: ...``) and when the next attempt comes (``volgende
    poging``), as the sender's does, is not followed by a second advice or retry note."""
    if outcome == "acknowledged":
        return
    level = logging.ERROR if outcome in ("dead", "failed", "permanent") else logging.WARNING
    text = reason or "-"
    advice = (
        ""
        if "oplossing:" in text
        else "; oplossing: start de ontvanger van de gemeente (ieb serve of ieb receive) en controleer "
        "receiver.port en de firewall"
    )
    again = (
        "" if level == logging.ERROR or "volgende poging" in text else "; de GGk probeert het later opnieuw"
    )
    log.log(
        level,
        "retour %s niet afgeleverd bij de gemeente (%s, poging %d): %s%s%s",
        msg.referentienummer,
        outcome,
        msg.attempts,
        text,
        advice,
        again,
    )


class SimulatorService:
    """Everything ``ieb simulate serve`` runs: the simulator app on an HTTPS server, its CAK workers
    and the callback senders to ``callback_url`` (the gemeente's receiver)."""

    def __init__(
        self,
        *,
        db: str,
        tls: TlsFiles,
        callback_url: str,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_oins: Collection[str] | None = None,
        faults: FaultConfig | None = None,
        today: dt.date | None = None,
        signing: WusSigning | None = None,
        callback_workers: int = 4,
        server_threads: int = 8,
        retry: RetryPolicy | None = None,
        cak_config: CakConfig | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = open_ledger(db)
        self.app = GgkSimulator(
            self.engine,
            clock=clock,
            allowed_oins=allowed_oins,
            faults=faults,
            today=today,
            signing=signing,
            cak_config=cak_config,
        )
        self.server = HttpsServer(self.app, tls, host=host, port=port, threads=server_threads)
        self.client = GgkClient(
            callback_url,
            tls=tls,
            connect_timeout=5.0,
            operation_timeout=30.0,
            pool_maxsize=callback_workers,
            peer=GEMEENTE_PEER,
        )
        self.sender = Sender(
            self.app.outbox,
            self._deliver,
            policy=retry or CALLBACK_RETRY,
            on_result=_log_callback,
        )
        self.callback_workers = callback_workers
        self._sender_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The HTTPS URL the simulator listens on (``https://127.0.0.1:<port>/``)."""
        return self.server.url

    def _deliver(self, envelope: bytes) -> SendResult:
        result = self.client.send(envelope)
        with self.app._lock:
            self.app.stats.callbacks_sent += 1
        if self.app.faults.duplicate():
            try:
                self.client.send(envelope)
                with self.app._lock:
                    self.app.stats.callbacks_duplicated += 1
            except Exception as exc:  # noqa: BLE001 - the duplicate is best effort by design
                log.debug("dubbele aflevering mislukt: %s", exc)
        return result

    def start(self) -> SimulatorService:
        """Start the HTTPS server, the CAK workers and the callback sender thread; returns ``self``.
        With a rehearsal day (``today``) a WARNING says so at start (and ``/health`` shows it)."""
        if self.app.vandaag is not None and self.app.vandaag != dt.date.today():
            log.warning(
                "OEFENKLOK: het gesimuleerde CAK rekent met vandaag = %s (echte datum %s); "
                "DagtekeningRetour en 8848 volgen de oefendag",
                self.app.vandaag.isoformat(),
                dt.date.today().isoformat(),
            )
        self.server.start()
        self.app.start()
        self._sender_thread = threading.Thread(
            target=self.sender.run_forever,
            kwargs={"workers": self.callback_workers, "wake": self.app.wake},
            name="ieb-sim-callbacks",
            daemon=True,
        )
        self._sender_thread.start()
        return self

    def stop(self) -> None:
        """Stop the callback sender, the server and the CAK workers, close the client and dispose of the database engine."""
        self.sender.stop()
        self.app.wake.set()
        self.server.stop()
        self.app.stop()
        if self._sender_thread is not None:
            self._sender_thread.join(timeout=15)
        self.client.close()
        self.engine.dispose()

    def __enter__(self) -> SimulatorService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
