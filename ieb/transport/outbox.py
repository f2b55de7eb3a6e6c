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

The tables are the ledger's (:mod:`ieb.store.schema`); :func:`open_ledger` opens and migrates it.
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
from typing import Any, NamedTuple, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import IebError
from ieb.transport.audit import AuditTrail
from ieb.transport.client import SendResult
from ieb.transport.errors import (
    DeliveryRejectedError,
    PermanentSendError,
    TransientSendError,
    TransportError,
    describe,
)
from ieb.types import mask_bsns

__all__ = [
    "ClaimedMessage",
    "DrainResult",
    "LedgerTables",
    "Outbox",
    "OutboxConflictError",
    "OutboxError",
    "RetryPolicy",
    "Sender",
    "Transport",
    "Wakeup",
    "ledger_tables",
    "open_ledger",
]

log = logging.getLogger("ieb.transport.outbox")

STATUSES = ("pending", "sending", "acknowledged", "failed", "dead")


class OutboxError(IebError):
    """The outbox cannot do what was asked (unknown row, inconsistent settings)."""

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None) -> None:
        super().__init__(message, code=code, location=location)
        self.issues: tuple[str, ...] = (message,)


class OutboxConflictError(OutboxError):
    """A referentienummer is already in the outbox with a different envelope."""


# ---------------------------------------------------------------------------------------- schema


class LedgerTables(NamedTuple):
    outbox: sa.Table
    inbox: sa.Table
    audit: sa.Table


def ledger_tables() -> LedgerTables:
    """The ``outbox``, ``inbox`` and ``audit`` tables of :mod:`ieb.store.schema`."""
    from ieb.store import schema

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
        """Seconds before a row is due again after ``attempts`` attempts (exponential, capped)."""
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
        """Store an envelope to send; returns the row id.

        Idempotent on ``referentienummer``: the same envelope enqueued twice is one row; a
        different envelope under a referentienummer already stored raises
        :class:`OutboxConflictError`. Pass ``conn`` to enqueue inside your own transaction (for
        example together with the ledger change that made the message): a duplicate never aborts
        that transaction with a database error (``INSERT ... ON CONFLICT DO NOTHING``).
        """
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
        with self.engine.begin() as c:
            return self._insert(c, row)

    def _insert(self, conn: sa.Connection, row: dict[str, Any]) -> int:
        t = self.table
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(t).values(**row).on_conflict_do_nothing(index_elements=["referentienummer"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(t).values(**row).on_conflict_do_nothing(index_elements=["referentienummer"])
        new_id = conn.execute(stmt.returning(t.c.id)).scalar_one_or_none()
        if new_id is None:
            existing = conn.execute(
                sa.select(t.c.id, t.c.envelope).where(t.c.referentienummer == row["referentienummer"])
            ).one()
            if bytes(existing.envelope or b"") != bytes(row["envelope"]):
                raise OutboxConflictError(
                    f"referentienummer {row['referentienummer']} staat al in de outbox met een ander envelop",
                    code="OUTBOX_CONFLICT",
                    location=row["referentienummer"],
                )
            return int(existing.id)
        self.audit.record(
            "out",
            "enqueued",
            referentienummer=row["referentienummer"],
            functie=row["functie"],
            outcome="pending",
            conn=conn,
        )
        return int(new_id)

    def enqueue_many(self, rows: Sequence[dict[str, Any]], *, conn: sa.Connection | None = None) -> list[int]:
        """Enqueue several envelopes in one transaction (each dict holds :meth:`enqueue`'s arguments);
        pass ``conn`` to do it inside your own transaction (a savepoint).

        New referentienummers are inserted with one multi-row statement per 500 (issue 9: building one
        INSERT per row was half of an initial delivery's time); ones already stored go through
        :meth:`enqueue` one by one. Should a concurrent writer store one of them first, the batch is
        rolled back and done again row by row."""
        if conn is not None:
            try:
                with conn.begin_nested():
                    return self._enqueue_batch(conn, rows)
            except sa.exc.IntegrityError:
                return [self.enqueue(conn=conn, **r) for r in rows]
        try:
            with self.engine.begin() as c:
                return self._enqueue_batch(c, rows)
        except sa.exc.IntegrityError:
            with self.engine.begin() as c:
                return [self.enqueue(conn=c, **r) for r in rows]

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
        """Mark a claimed row ``acknowledged`` (Bv03); False when the lease was lost."""
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
        """Mark a claimed row ``failed`` (the other side refused it) with the reason; False when the lease was lost."""
        return self._finish(msg, status="failed", last_error=reason, locked_by=None, locked_until=None)

    def retry_later(self, msg: ClaimedMessage, reason: str, delay: float) -> bool:
        """Put a claimed row back to ``pending`` after ``delay`` seconds with the reason; False when the lease was lost."""
        return self._finish(
            msg,
            status="pending",
            last_error=reason,
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
            locked_by=None,
            locked_until=None,
        )

    def dead_letter(self, msg: ClaimedMessage, reason: str) -> bool:
        """Mark a claimed row ``dead`` with the reason; False when the lease was lost."""
        return self._finish(msg, status="dead", last_error=reason, locked_by=None, locked_until=None)

    def renew(self, msg: ClaimedMessage) -> bool:
        """Extend the lease on ``msg`` (heartbeat while a send is in flight); False when lost."""
        t = self.table
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.id == msg.id, t.c.status == "sending", t.c.locked_by == self.worker_id)
                .values(locked_until=now + dt.timedelta(seconds=self.lease_seconds))
            )
        return result.rowcount == 1

    def release(self) -> int:
        """Give back every lease this worker holds (rows back to ``pending``, due now), e.g. on
        Ctrl-C, so a rerun does not wait for the leases to expire. Returns how many."""
        t = self.table
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.status == "sending", t.c.locked_by == self.worker_id)
                .values(
                    status="pending", locked_by=None, locked_until=None, next_attempt_at=now, updated_at=now
                )
            )
        return int(result.rowcount)

    def requeue(
        self,
        referentienummers: Sequence[str] = (),
        *,
        dead: bool = False,
        failed: bool = False,
        conn: sa.Connection | None = None,
    ) -> list[str]:
        """Put finished rows back to ``pending`` with a fresh attempt count: the named
        ``referentienummers`` (dead or failed ones), and/or every ``dead`` / ``failed`` row.
        Returns the referentienummers requeued. Raises :class:`OutboxError` for a named
        referentienummer that is unknown or not dead/failed."""
        t = self.table
        statuses = [s for s, on in (("dead", dead), ("failed", failed)) if on]
        now = utcnow()

        def run(c: sa.Connection) -> list[str]:
            refs: set[str] = set()
            if referentienummers:
                found = {
                    r.referentienummer: r.status
                    for r in c.execute(
                        sa.select(t.c.referentienummer, t.c.status).where(
                            t.c.referentienummer.in_(list(referentienummers))
                        )
                    )
                }
                for ref in referentienummers:
                    if ref not in found:
                        raise OutboxError(f"referentienummer {ref} staat niet in de outbox", location=ref)
                    if found[ref] not in ("dead", "failed"):
                        raise OutboxError(
                            f"referentienummer {ref} is {found[ref]}, niet dead of failed", location=ref
                        )
                refs |= set(referentienummers)
            if statuses:
                refs |= set(
                    c.execute(sa.select(t.c.referentienummer).where(t.c.status.in_(statuses))).scalars()
                )
            if not refs:
                return []
            c.execute(
                sa.update(t)
                .where(t.c.referentienummer.in_(sorted(refs)), t.c.status.in_(("dead", "failed")))
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    locked_by=None,
                    locked_until=None,
                    updated_at=now,
                )
            )
            for ref in sorted(refs):
                self.audit.record("out", "requeued", referentienummer=ref, outcome="pending", conn=c)
            return sorted(refs)

        if conn is not None:
            return run(conn)
        with self.engine.begin() as c:
            return run(c)

    # -- reading ------------------------------------------------------------------------------

    def find(self, referentienummer: str) -> dict[str, Any] | None:
        """The row of ``referentienummer`` as a dict, or None."""
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


@runtime_checkable
class Transport(Protocol):
    """What the sender needs: ``send(envelope bytes) -> SendResult`` raising the errors of
    :mod:`ieb.transport.errors`, and ``max_seconds``: the longest one call can take (its total
    deadline), used to check the lease. :class:`ieb.transport.client.GgkClient` is one;
    :class:`ieb.testing.InProcessTransport` calls a WSGI app in-process for fast tests."""

    @property
    def max_seconds(self) -> float:
        """The longest one :meth:`send` can take (its total deadline), in seconds."""
        ...

    def send(self, envelope: bytes) -> SendResult:
        """Send one envelope (XML bytes); the Bv03 as :class:`SendResult`, or an error of ``ieb.transport.errors``."""
        ...


@dataclass
class DrainResult:
    """What :meth:`Sender.drain` did. ``permanent`` holds the fault that stopped the run (when
    ``stop_on_permanent``); ``lease_lost`` counts sends whose outcome could not be recorded
    because another worker held the row by then (reported, never acknowledged twice)."""

    acknowledged: int = 0
    failed: int = 0
    dead: int = 0
    requeued: int = 0
    attempts: int = 0
    seconds: float = 0.0
    lease_lost: int = 0
    permanent: TransportError | None = None
    interrupted: bool = False
    #: set when the run stopped because the endpoint could not be reached for any open message
    unreachable: TransportError | None = None

    def add(self, other: DrainResult) -> None:
        """Add another run's counts to these."""
        self.acknowledged += other.acknowledged
        self.failed += other.failed
        self.dead += other.dead
        self.requeued += other.requeued
        self.attempts += other.attempts
        self.lease_lost += other.lease_lost


#: ``on_result(message, outcome, reason)``: called after every message (outcome ``acknowledged``,
#: ``failed``, ``dead``, ``pending``, ``permanent`` or ``lease_lost``; reason None when acknowledged)
ResultCallback = Callable[[ClaimedMessage, str, "str | None"], None]

#: ``on_retry(message, text)``: a transient failure within one claim; ``text`` ends with
#: "volgende poging over N s"
RetryCallback = Callable[[ClaimedMessage, str], None]


class Wakeup:
    """Wakes every idle sender worker at once (``set()`` after enqueueing). A worker takes a
    :meth:`token` before it looks for work and sleeps only while nothing was set since then, so
    a wake-up between "found nothing" and "sleep" is never lost."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def set(self) -> None:
        """Wake every waiting worker."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def token(self) -> int:
        """The current generation; pass it to :meth:`wait`."""
        with self._cond:
            return self._generation

    def wait(self, token: int, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds unless :meth:`set` was called since ``token``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != token, timeout=max(0.0, timeout))


class _Heartbeat:
    """Renews a lease every third of its length while a send is in flight."""

    def __init__(self, outbox: Outbox, msg: ClaimedMessage) -> None:
        self.outbox = outbox
        self.msg = msg
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ieb-lease", daemon=True)

    def _run(self) -> None:
        interval = max(0.05, self.outbox.lease_seconds / 3.0)
        while not self._stop.wait(interval):
            try:
                if not self.outbox.renew(self.msg):
                    self.lost = True
                    return
            except Exception as exc:
                # the next interval tries again; if the lease runs out meanwhile, the send reports
                # lease_lost instead of acknowledging (an operator must see that the database failed)
                log.warning(
                    "lease-verlenging van %s mislukt (%s); volgende poging over %.1f s",
                    self.msg.referentienummer,
                    mask_bsns(type(exc).__name__ + ": " + str(exc))[:300],
                    interval,
                )
                log.debug("lease-verlenging: details", exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Sender:
    """Sends what the outbox holds through ``transport`` (a :class:`Transport`, or a plain
    ``send(envelope) -> SendResult`` function).

    Run :meth:`drain` (until nothing is open, or a deadline) or :meth:`run_forever` (until
    :meth:`stop`), each with ``workers`` threads claiming rows one at a time. A lease is renewed
    while its send is in flight (so a slow but live send is never taken over), and the outbox's
    ``lease_seconds`` must outlast one full attempt (``attempt_seconds``, default the transport's
    ``max_seconds``): shorter settings raise :class:`OutboxError`. With ``stop_on_permanent`` the
    first :class:`~ieb.transport.errors.PermanentSendError` that is not a Fo03 (certificate,
    hostname, HTTP 4xx, WSDL) stops the run and is in :attr:`DrainResult.permanent`; its row goes
    back to ``pending`` unchanged (fix the cause, send again).
    """

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport | SendFunction,
        *,
        policy: RetryPolicy | None = None,
        on_result: ResultCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempt_seconds: float | None = None,
        stop_on_permanent: bool = False,
        stop_when_unreachable: bool = False,
        on_retry: RetryCallback | None = None,
    ) -> None:
        self.outbox = outbox
        self.stop_when_unreachable = stop_when_unreachable
        self.on_retry = on_retry
        self._unreachable: set[str] = set()
        self._unreachable_error: TransportError | None = None
        self._any_acknowledged = False
        if isinstance(transport, Transport):
            self.send: SendFunction = transport.send
            attempt_seconds = attempt_seconds or float(transport.max_seconds)
        else:
            self.send = transport
            owner = getattr(transport, "__self__", None)
            if attempt_seconds is None and owner is not None and hasattr(owner, "max_seconds"):
                attempt_seconds = float(owner.max_seconds)
        self.policy = policy or RetryPolicy()
        self.on_result = on_result
        self.stop_on_permanent = stop_on_permanent
        self._sleep = sleep
        self._stop = threading.Event()
        self._permanent: TransportError | None = None
        #: longest idle sleep of :meth:`run_forever` (one cheap query per wake-up)
        self.idle_seconds = 5.0
        #: renew leases during a send unless a known deadline ends it well within the lease
        self._heartbeat = attempt_seconds is None or outbox.lease_seconds < 1.5 * attempt_seconds
        if attempt_seconds is not None and outbox.lease_seconds < attempt_seconds:
            raise OutboxError(
                f"lease van {outbox.lease_seconds:g} s is korter dan een volledige poging "
                f"({attempt_seconds:g} s: connect_timeout + operation_timeout); een tweede verzender zou "
                "het bericht opnieuw kunnen versturen. Verhoog retry.lease_seconds of verlaag de time-outs.",
                code="LEASE",
            )

    def stop(self) -> None:
        """Ask the workers to stop after their current message."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (or a permanent fault stopped the run)."""
        return self._stop.is_set()

    # -- one message --------------------------------------------------------------------------

    def _attempt(self, state: dict[str, ClaimedMessage]) -> SendResult:
        msg = state["msg"]
        if not self._heartbeat:  # the transport's deadline ends every attempt well within the lease
            return self.send(msg.envelope)
        with _Heartbeat(self.outbox, msg) as beat:
            result = self.send(msg.envelope)
        if beat.lost:
            raise _LeaseLost(msg.referentienummer)
        return result

    def process(self, msg: ClaimedMessage) -> str:
        """Send one claimed message with retries; returns the final status for this lease
        (``acknowledged``, ``failed``, ``dead``, ``pending``, ``permanent`` or ``lease_lost``)."""
        import tenacity

        policy = self.policy
        state = {"msg": msg}

        def before_retry(retry_state: tenacity.RetryCallState) -> None:
            state["msg"] = self.outbox.count_attempt(state["msg"])
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            log.log(
                logging.DEBUG if self.on_retry is not None else logging.INFO,
                "opnieuw versturen %s (poging %d): %s",
                msg.referentienummer,
                state["msg"].attempts,
                exc,
            )
            if self.on_retry is not None and isinstance(exc, TransportError):
                wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
                self.on_retry(state["msg"], f"{describe(exc)}; volgende poging over {wait:.1f} s")

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
        reason: str | None = None
        recorded = True
        try:
            result = retrying(self._attempt, state)
        except _LeaseLost:
            outcome, reason, recorded = "lease_lost", "lease verloren tijdens het versturen", False
        except OutboxError as exc:
            if exc.code != "LEASE":
                raise
            outcome, reason, recorded = "lease_lost", str(exc), False
        except DeliveryRejectedError as exc:
            reason = f"Fo03 {exc.code}: {exc.message}"
            recorded = self.outbox.reject(state["msg"], reason)
            outcome = "failed"
            if self.stop_on_permanent:
                self._stop_for(exc)
        except PermanentSendError as exc:
            reason = f"{exc.message}" + (f" (oplossing: {exc.hint})" if exc.hint else "")
            if self.stop_on_permanent:
                self._stop_for(exc)
                recorded = self.outbox.retry_later(state["msg"], reason, 0.0)
                outcome = "permanent"
            else:
                recorded = self.outbox.retry_later(state["msg"], reason, policy.requeue_max)
                outcome = "permanent"
        except TransientSendError as exc:
            current = state["msg"]
            reason = describe(exc)
            if current.attempts >= policy.max_attempts:
                recorded = self.outbox.dead_letter(current, f"na {current.attempts} pogingen: {reason}")
                outcome = "dead"
            else:
                delay = policy.requeue_delay(current.attempts)
                recorded = self.outbox.retry_later(current, reason, delay)
                outcome = "pending"
                self._note_unreachable(msg.referentienummer, exc)
                if not self._stop.is_set():
                    reason = f"{reason}; volgende poging over {delay:.0f} s"
        except (TransportError, IebError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            recorded = self.outbox.reject(state["msg"], reason)
            outcome = "failed"
        else:
            recorded = self.outbox.acknowledge(state["msg"])
            outcome = "acknowledged"
            self._any_acknowledged = True
            log.debug("%s bevestigd in %.3fs", msg.referentienummer, result.seconds)
        if not recorded:
            outcome = "lease_lost"
            reason = reason or "lease verloren voordat de bevestiging werd vastgelegd"
            log.warning("%s: %s; niet als verstuurd vastgelegd", msg.referentienummer, reason)
        if self.on_result is not None:
            self.on_result(state["msg"], outcome, reason)
        return outcome

    def _note_unreachable(self, ref: str, exc: TransientSendError) -> None:
        """With ``stop_when_unreachable``: stop once every open message failed because the endpoint
        could not be reached and nothing was acknowledged (the rows stay pending)."""
        if not self.stop_when_unreachable or not exc.unreachable:
            return
        with self._lock_permanent:
            self._unreachable.add(ref)
            self._unreachable_error = exc
            if self._any_acknowledged or len(self._unreachable) < self.outbox.open_count():
                return
        self._stop.set()

    def _stop_for(self, exc: TransportError) -> None:
        with self._lock_permanent:
            if self._permanent is None:
                self._permanent = exc
        self._stop.set()

    _lock_permanent = threading.Lock()

    # -- loops --------------------------------------------------------------------------------

    def _worker(
        self,
        result: DrainResult,
        lock: threading.Lock,
        until_empty: bool,
        deadline: float,
        wake: Wakeup | None,
    ) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            token = wake.token() if wake is not None else 0
            claimed = self.outbox.claim(1)
            if not claimed:
                if until_empty and self.outbox.open_count() == 0:
                    return
                due = self.outbox.next_due()
                wait = 1.0 if until_empty else self.idle_seconds
                if due is not None:
                    wait = max(0.01, min(wait, (due - utcnow()).total_seconds()))
                wait = min(wait, max(0.0, deadline - time.monotonic()))
                if wake is not None:
                    wake.wait(token, wait)
                else:
                    self._stop.wait(wait)
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
                    elif outcome == "lease_lost":
                        result.lease_lost += 1
                    else:
                        result.requeued += 1

    def _run(
        self, workers: int, until_empty: bool, timeout: float | None, wake: Wakeup | None = None
    ) -> DrainResult:
        started = time.monotonic()
        deadline = started + timeout if timeout is not None else float("inf")
        result = DrainResult()
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=self._worker,
                args=(result, lock, until_empty, deadline, wake),
                name=f"ieb-sender-{i}",
                daemon=True,
            )
            for i in range(max(1, workers))
        ]
        for th in threads:
            th.start()
        try:
            for th in threads:
                while th.is_alive():
                    th.join(timeout=0.2)
        except KeyboardInterrupt:
            self._stop.set()
            for th in threads:
                th.join(timeout=60)
            self.outbox.release()
            result.interrupted = True
        result.seconds = time.monotonic() - started
        result.permanent = self._permanent
        if self.stop_when_unreachable and self._stop.is_set() and self._permanent is None:
            if not self._any_acknowledged and self._unreachable_error is not None and not result.interrupted:
                result.unreachable = self._unreachable_error
        return result

    def drain(self, *, workers: int = 4, timeout: float | None = None) -> DrainResult:
        """Send until no row is pending or sending (or ``timeout`` seconds passed, or a permanent
        fault stopped the run). Ctrl-C stops cleanly: running sends finish, leases are released."""
        return self._run(workers, True, timeout)

    def run_forever(
        self, *, workers: int = 4, wake: Wakeup | None = None, idle_seconds: float = 5.0
    ) -> DrainResult:
        """Send whatever arrives until :meth:`stop` is called. Idle workers sleep until the next
        row is due (at most 5 s) or ``wake`` is set (set it after enqueueing)."""
        self.idle_seconds = idle_seconds
        return self._run(workers, False, None, wake)


class _LeaseLost(Exception):
    def __init__(self, ref: str) -> None:
        super().__init__(ref)


def iter_open(outbox: Outbox) -> Iterator[dict[str, Any]]:  # pragma: no cover - convenience
    t = outbox.table
    with outbox.engine.connect() as conn:
        for row in conn.execute(sa.select(t).where(t.c.status.in_(("pending", "sending")))):
            yield dict(row._mapping)
