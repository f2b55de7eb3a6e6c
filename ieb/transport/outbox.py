"""A durable outbox: nothing goes on the wire before it is committed, nothing is sent twice.

Life of a row (table ``outbox`` of the ledger)::

    enqueue()            pending      committed with its envelope before any network I/O
    claim()              sending      leased: locked_by = this worker, locked_until = now + lease
    send -> Bv03         acknowledged
    send -> Fo03         failed       the other side refused the envelope (reason in last_error)
    transient error      pending      next_attempt_at = now + backoff(attempts), same envelope
    attempts exhausted   dead         dead letter, with the last reason

* **Claiming** is atomic: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the claiming
  transaction, so several sender processes share one outbox without ever holding the same row; on
  SQLite one ``UPDATE ... WHERE id IN (SELECT ...) RETURNING`` (SQLite serialises writers).
* **Retries** (tenacity): timeouts, connection errors and HTTP 5xx are retried within the lease
  with exponential backoff; every attempt is counted in the row first and sends the *same* stored
  envelope, so the same referentienummer. When the lease's attempts are used up the row goes back
  to ``pending`` with a later ``next_attempt_at``; after ``max_attempts`` in total it is ``dead``.
* **Crashes**: a process killed at any point leaves its rows ``pending`` or ``sending``. A
  ``sending`` row whose lease expired is claimed again and resent with the same referentienummer;
  the receiver is idempotent on it (a redelivery is acknowledged, not processed twice). A row is
  never sent by two live workers at once because a lease outlasts every attempt (``lease_seconds``
  must exceed the retries' total time; :class:`Outbox` checks that).

The tables are the ledger's (:mod:`ieb.ledger.schema`); :func:`open_ledger` opens and migrates it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ieb.errors import IebError
from ieb.transport.audit import AuditTrail
from ieb.transport.client import DeliveryRejectedError, SendResult, TransientSendError, TransportError

__all__ = [
    "ClaimedMessage",
    "DrainResult",
    "LedgerTables",
    "Outbox",
    "OutboxError",
    "RetryPolicy",
    "Sender",
    "ledger_tables",
    "open_ledger",
]

log = logging.getLogger("ieb.transport.outbox")

STATUSES = ("pending", "sending", "acknowledged", "failed", "dead")


class OutboxError(IebError):
    """The outbox cannot do what was asked (unknown row, inconsistent settings)."""


# ---------------------------------------------------------------------------------------- schema


class LedgerTables(NamedTuple):
    outbox: sa.Table
    inbox: sa.Table
    audit: sa.Table


def ledger_tables() -> LedgerTables:
    """The ``outbox``, ``inbox`` and ``audit`` tables of :mod:`ieb.ledger.schema`."""
    from ieb.ledger import schema

    return LedgerTables(schema.outbox, schema.inbox, schema.audit)


def open_ledger(url: str) -> Engine:
    """An engine on the ledger database at ``url`` (SQLAlchemy URL or SQLite path), migrated to the
    newest schema (:func:`ieb.ledger.open_database`: SQLite in WAL mode, ``BEGIN IMMEDIATE``)."""
    from ieb.ledger import open_database

    return open_database(url)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# ---------------------------------------------------------------------------------------- outbox


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts_per_claim`` network attempts per lease (tenacity, exponential
    backoff from ``backoff_initial`` up to ``backoff_max`` seconds, with jitter), ``max_attempts`` in
    total before the row is dead-lettered; between leases the row waits ``requeue_delay(attempts)``."""

    max_attempts: int = 10
    attempts_per_claim: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    requeue_initial: float = 1.0
    requeue_max: float = 300.0

    def requeue_delay(self, attempts: int) -> float:
        return float(min(self.requeue_max, self.requeue_initial * (2 ** max(0, attempts - 1))))


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox row leased to this worker."""

    id: int
    referentienummer: str
    functie: str
    envelope: bytes
    attempts: int


class Outbox:
    """The outbox of one ledger database. Thread-safe; one instance per process is enough.

    ``worker_id`` names this worker in ``locked_by`` (default: host, pid and a random suffix, so a
    restarted process never mistakes an old lease for its own).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        worker_id: str | None = None,
        lease_seconds: float = 120.0,
        audit: AuditTrail | None = None,
    ) -> None:
        self.engine = engine
        self.tables = ledger_tables()
        self.table = self.tables.outbox
        self.worker_id = (worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[
            :64
        ]
        self.lease_seconds = lease_seconds
        self.audit = audit or AuditTrail(engine)

    # -- writing ------------------------------------------------------------------------------

    def enqueue(
        self,
        envelope: bytes,
        *,
        referentienummer: str,
        afzender: str,
        functie: str,
        payload: bytes = b"",
        bericht_identificatie: str | None = None,
        conn: sa.Connection | None = None,
    ) -> int:
        """Store an envelope to send; returns the row id. Idempotent on ``referentienummer``: the
        same envelope enqueued twice is one row. Pass ``conn`` to enqueue inside your own
        transaction (for example together with the ledger change that made the message)."""
        now = utcnow()
        row = {
            "referentienummer": referentienummer,
            "afzender": afzender,
            "functie": functie,
            "bericht_identificatie": bericht_identificatie,
            "payload": payload,
            "envelope": envelope,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        if conn is not None:
            return self._insert(conn, row)
        try:
            with self.engine.begin() as c:
                return self._insert(c, row)
        except IntegrityError:
            existing = self.find(referentienummer)
            if existing is None:  # pragma: no cover - unique violation on another column
                raise
            return int(existing["id"])

    def _insert(self, conn: sa.Connection, row: dict[str, Any]) -> int:
        result = conn.execute(sa.insert(self.table).values(**row).returning(self.table.c.id))
        new_id = int(result.scalar_one())
        self.audit.record(
            "out",
            "enqueued",
            referentienummer=row["referentienummer"],
            functie=row["functie"],
            outcome="pending",
            conn=conn,
        )
        return new_id

    def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Enqueue several envelopes in one transaction (each dict holds :meth:`enqueue`'s arguments).

        New referentienummers are inserted with one multi-row statement per 500 (issue 9: building one
        INSERT per row was half of an initial delivery's time); ones already stored go through
        :meth:`enqueue` one by one. Should a concurrent writer store one of them first, the batch is
        rolled back and done again row by row."""
        try:
            with self.engine.begin() as conn:
                return self._enqueue_batch(conn, rows)
        except sa.exc.IntegrityError:
            with self.engine.begin() as conn:
                return [self.enqueue(conn=conn, **r) for r in rows]

    def _enqueue_batch(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        t = self.table
        allowed = {"envelope", "referentienummer", "afzender", "functie", "payload", "bericht_identificatie"}
        if any(set(r) - allowed for r in rows):
            return [self.enqueue(conn=conn, **r) for r in rows]  # enqueue() names the bad argument
        refs = [str(r["referentienummer"]) for r in rows]
        ids: dict[str, int] = {}
        for k in range(0, len(refs), 500):
            found = conn.execute(
                sa.select(t.c.referentienummer, t.c.id).where(t.c.referentienummer.in_(refs[k : k + 500]))
            )
            ids.update({str(ref): int(i) for ref, i in found})
        known = set(ids)
        now = utcnow()
        new = [
            {
                "referentienummer": r["referentienummer"],
                "afzender": r["afzender"],
                "functie": r["functie"],
                "bericht_identificatie": r.get("bericht_identificatie"),
                "payload": r.get("payload", b""),
                "envelope": r["envelope"],
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
            if str(r["referentienummer"]) not in known
        ]
        if len({str(r["referentienummer"]) for r in new}) != len(new):  # the same envelope twice in rows
            return [self.enqueue(conn=conn, **r) for r in rows]
        for k in range(0, len(new), 500):
            conn.execute(sa.insert(t), new[k : k + 500])
        for row in new:
            self.audit.record(
                "out",
                "enqueued",
                referentienummer=row["referentienummer"],
                functie=row["functie"],
                outcome="pending",
                conn=conn,
            )
        fresh = [str(r["referentienummer"]) for r in new]
        for k in range(0, len(fresh), 500):
            found = conn.execute(
                sa.select(t.c.referentienummer, t.c.id).where(t.c.referentienummer.in_(fresh[k : k + 500]))
            )
            ids.update({str(ref): int(i) for ref, i in found})
        return [
            ids[ref] if ref not in known else self.enqueue(conn=conn, **r)
            for ref, r in zip(refs, rows, strict=True)
        ]

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, limit: int = 1) -> list[ClaimedMessage]:
        """Lease up to ``limit`` rows that are due: pending with ``next_attempt_at`` passed, or
        sending with an expired lease. Counts the attempt before anything is sent."""
        t = self.table
        now = utcnow()
        due = sa.or_(
            sa.and_(t.c.status == "pending", t.c.next_attempt_at <= now),
            sa.and_(t.c.status == "sending", t.c.locked_until < now),
        )
        values = {
            "status": "sending",
            "locked_by": self.worker_id,
            "locked_until": now + dt.timedelta(seconds=self.lease_seconds),
            "attempts": t.c.attempts + 1,
            "updated_at": now,
        }
        cols = (t.c.id, t.c.referentienummer, t.c.functie, t.c.envelope, t.c.attempts)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                ids = list(
                    conn.execute(
                        sa.select(t.c.id)
                        .where(due)
                        .order_by(t.c.next_attempt_at, t.c.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    ).scalars()
                )
                if not ids:
                    return []
                rows = conn.execute(
                    sa.update(t).where(t.c.id.in_(ids)).values(**values).returning(*cols)
                ).all()
            else:
                sub = sa.select(t.c.id).where(due).order_by(t.c.next_attempt_at, t.c.id).limit(limit)
                rows = conn.execute(
                    sa.update(t)
                    .where(t.c.id.in_(sub.scalar_subquery()), due)
                    .values(**values)
                    .returning(*cols)
                ).all()
        claimed = [
            ClaimedMessage(int(r.id), r.referentienummer, r.functie, bytes(r.envelope), int(r.attempts))
            for r in rows
        ]
        claimed.sort(key=lambda m: m.id)
        return claimed

    def _finish(self, msg: ClaimedMessage, **values: Any) -> bool:
        """Update a row we hold the lease on; False when the lease was lost meanwhile."""
        t = self.table
        values.setdefault("updated_at", utcnow())
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.id == msg.id, t.c.status == "sending", t.c.locked_by == self.worker_id)
                .values(**values)
            )
            ok = result.rowcount == 1
            if ok and values.get("status") in ("acknowledged", "failed", "dead"):
                self.audit.record(
                    "out",
                    "delivery",
                    referentienummer=msg.referentienummer,
                    functie=msg.functie,
                    outcome=values["status"],
                    detail=values.get("last_error"),
                    conn=conn,
                )
        if not ok:
            log.warning("lease op %s verloren voordat de status werd vastgelegd", msg.referentienummer)
        return ok

    def count_attempt(self, msg: ClaimedMessage) -> ClaimedMessage:
        """Record one more attempt (and renew the lease) before a retry within the same claim."""
        t = self.table
        now = utcnow()
        with self.engine.begin() as conn:
            new = conn.execute(
                sa.update(t)
                .where(t.c.id == msg.id, t.c.status == "sending", t.c.locked_by == self.worker_id)
                .values(
                    attempts=t.c.attempts + 1,
                    locked_until=now + dt.timedelta(seconds=self.lease_seconds),
                    updated_at=now,
                )
                .returning(t.c.attempts)
            ).scalar_one_or_none()
        if new is None:
            raise OutboxError(f"lease op {msg.referentienummer} is verloren", code="LEASE")
        return ClaimedMessage(msg.id, msg.referentienummer, msg.functie, msg.envelope, int(new))

    def acknowledge(self, msg: ClaimedMessage) -> bool:
        now = utcnow()
        return self._finish(
            msg,
            status="acknowledged",
            acknowledged_at=now,
            locked_by=None,
            locked_until=None,
            last_error=None,
        )

    def reject(self, msg: ClaimedMessage, reason: str) -> bool:
        return self._finish(msg, status="failed", last_error=reason, locked_by=None, locked_until=None)

    def retry_later(self, msg: ClaimedMessage, reason: str, delay: float) -> bool:
        return self._finish(
            msg,
            status="pending",
            last_error=reason,
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
            locked_by=None,
            locked_until=None,
        )

    def dead_letter(self, msg: ClaimedMessage, reason: str) -> bool:
        return self._finish(msg, status="dead", last_error=reason, locked_by=None, locked_until=None)

    # -- reading ------------------------------------------------------------------------------

    def find(self, referentienummer: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(self.table).where(self.table.c.referentienummer == referentienummer)
            ).first()
        return dict(row._mapping) if row is not None else None

    def counts(self) -> dict[str, int]:
        """Rows per status (every status present, zero when none)."""
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all()
        out = dict.fromkeys(STATUSES, 0)
        out.update({str(s): int(n) for s, n in rows})
        return out

    def open_count(self) -> int:
        """Rows not yet finished (pending or sending)."""
        c = self.counts()
        return c["pending"] + c["sending"]

    def next_due(self) -> dt.datetime | None:
        """When the next pending row becomes due (or a lease expires); None when nothing is open."""
        t = self.table
        with self.engine.connect() as conn:
            a = conn.execute(
                sa.select(sa.func.min(t.c.next_attempt_at)).where(t.c.status == "pending")
            ).scalar()
            b = conn.execute(sa.select(sa.func.min(t.c.locked_until)).where(t.c.status == "sending")).scalar()
        times = [x for x in (_aware(a), _aware(b)) if x is not None]
        return min(times) if times else None


# ---------------------------------------------------------------------------------------- sender


SendFunction = Callable[[bytes], SendResult]


@dataclass
class DrainResult:
    """What :meth:`Sender.drain` did."""

    acknowledged: int = 0
    failed: int = 0
    dead: int = 0
    requeued: int = 0
    attempts: int = 0
    seconds: float = 0.0

    def add(self, other: DrainResult) -> None:
        self.acknowledged += other.acknowledged
        self.failed += other.failed
        self.dead += other.dead
        self.requeued += other.requeued
        self.attempts += other.attempts


class Sender:
    """Sends what the outbox holds: ``send`` is usually :meth:`GgkClient.send`.

    Run :meth:`drain` (until nothing is open, or a deadline) or :meth:`run_forever` (until
    :meth:`stop`), each with ``workers`` threads claiming rows one at a time.
    """

    def __init__(
        self,
        outbox: Outbox,
        send: SendFunction,
        *,
        policy: RetryPolicy | None = None,
        on_result: Callable[[ClaimedMessage, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.policy = policy or RetryPolicy()
        self.on_result = on_result
        self._sleep = sleep
        self._stop = threading.Event()
        worst = self.policy.attempts_per_claim * (self.policy.backoff_max + 60.0)
        if outbox.lease_seconds < min(worst, 30.0):
            log.debug(
                "lease %.1fs is kort voor %d pogingen", outbox.lease_seconds, self.policy.attempts_per_claim
            )

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- one message --------------------------------------------------------------------------

    def process(self, msg: ClaimedMessage) -> str:
        """Send one claimed message with retries; returns the final status for this lease
        (``acknowledged``, ``failed``, ``dead`` or ``pending``)."""
        import tenacity

        policy = self.policy
        state = {"msg": msg}

        def before_retry(retry_state: tenacity.RetryCallState) -> None:
            state["msg"] = self.outbox.count_attempt(state["msg"])
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            log.info("opnieuw versturen %s (poging %d): %s", msg.referentienummer, state["msg"].attempts, exc)

        def stop_condition(retry_state: tenacity.RetryCallState) -> bool:
            return (
                retry_state.attempt_number >= policy.attempts_per_claim
                or state["msg"].attempts >= policy.max_attempts
                or self._stop.is_set()
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientSendError),
            stop=stop_condition,
            wait=tenacity.wait_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max)
            + tenacity.wait_random(0, policy.backoff_initial),
            before_sleep=before_retry,
            sleep=self._sleep,
            reraise=True,
        )
        outcome: str
        try:
            result = retrying(self.send, state["msg"].envelope)
        except DeliveryRejectedError as exc:
            self.outbox.reject(state["msg"], f"Fo03 {exc.code}: {exc.message}")
            outcome = "failed"
        except TransientSendError as exc:
            current = state["msg"]
            reason = f"{exc}"
            if current.attempts >= policy.max_attempts:
                self.outbox.dead_letter(current, f"na {current.attempts} pogingen: {reason}")
                outcome = "dead"
            else:
                self.outbox.retry_later(current, reason, policy.requeue_delay(current.attempts))
                outcome = "pending"
        except (TransportError, IebError) as exc:
            self.outbox.reject(state["msg"], f"{type(exc).__name__}: {exc}")
            outcome = "failed"
        else:
            self.outbox.acknowledge(state["msg"])
            outcome = "acknowledged"
            log.debug("%s bevestigd in %.3fs", msg.referentienummer, result.seconds)
        if self.on_result is not None:
            self.on_result(state["msg"], outcome)
        return outcome

    # -- loops --------------------------------------------------------------------------------

    def _worker(self, result: DrainResult, lock: threading.Lock, until_empty: bool, deadline: float) -> None:
        idle = 0.02
        while not self._stop.is_set() and time.monotonic() < deadline:
            claimed = self.outbox.claim(1)
            if not claimed:
                if until_empty and self.outbox.open_count() == 0:
                    return
                due = self.outbox.next_due()
                wait = idle
                if due is not None:
                    wait = max(0.01, min(1.0, (due - utcnow()).total_seconds()))
                self._stop.wait(min(wait, max(0.0, deadline - time.monotonic())))
                continue
            for msg in claimed:
                try:
                    outcome = self.process(msg)
                except Exception as exc:  # loop boundary: a bug must not kill the worker
                    # Nothing is lost: the message goes back to pending with the reason, and the
                    # worker keeps serving the rest of the outbox.
                    log.exception("onverwachte fout bij %s; later opnieuw", msg.referentienummer)
                    self.outbox.retry_later(
                        msg,
                        f"onverwachte fout: {type(exc).__name__}: {exc}",
                        self.policy.requeue_delay(msg.attempts),
                    )
                    outcome = "pending"
                with lock:
                    result.attempts += 1
                    if outcome == "acknowledged":
                        result.acknowledged += 1
                    elif outcome == "failed":
                        result.failed += 1
                    elif outcome == "dead":
                        result.dead += 1
                    else:
                        result.requeued += 1

    def _run(self, workers: int, until_empty: bool, timeout: float | None) -> DrainResult:
        started = time.monotonic()
        deadline = started + timeout if timeout is not None else float("inf")
        result = DrainResult()
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=self._worker,
                args=(result, lock, until_empty, deadline),
                name=f"ieb-sender-{i}",
                daemon=True,
            )
            for i in range(max(1, workers))
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        result.seconds = time.monotonic() - started
        return result

    def drain(self, *, workers: int = 4, timeout: float | None = None) -> DrainResult:
        """Send until no row is pending or sending (or ``timeout`` seconds passed)."""
        return self._run(workers, True, timeout)

    def run_forever(self, *, workers: int = 4) -> DrainResult:
        """Send whatever arrives until :meth:`stop` is called."""
        return self._run(workers, False, None)


def iter_open(outbox: Outbox) -> Iterator[dict[str, Any]]:  # pragma: no cover - convenience
    t = outbox.table
    with outbox.engine.connect() as conn:
        for row in conn.execute(sa.select(t).where(t.c.status.in_(("pending", "sending")))):
            yield dict(row._mapping)
