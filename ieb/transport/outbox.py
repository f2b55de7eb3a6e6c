"""The outbox store: nothing goes on the wire before it is committed, nothing is sent twice,
and one person's messages go out one at a time, in order.

Life of a row (table ``outbox`` of the ledger)::

    enqueue()            pending      committed with its envelope before any network I/O
    claim()              sending      leased: locked_by = this worker, locked_until = now + lease
    delivered            acknowledged (the other side's acknowledgement; StUF-GGk: a Bv03)
    refused (permanent)  failed       the other side refused the envelope (reason in last_error)
    transient error      pending      next_attempt_at = now + backoff(attempts), same envelope
    attempts exhausted   dead         dead letter, with the last reason

This module is the store only; the worker pool that sends is :mod:`ieb.transport.sender`, the
protocol behind it :mod:`ieb.transport.base`.

* **Per-person order** (issue 21): a row that belongs to a delivery of the ledger (``afzender`` +
  ``bericht_identificatie`` -> ``deliveries``) is claimed only when every EARLIER row (lower id) of
  the same person (same ``afzender`` and Bsn) is acknowledged AND its retour accepted it (delivery
  outcome ``accepted``). So one person never has two messages in flight, and a stop or change is
  never sent before the CAK accepted the start it changes. An earlier row that ended negatively
  (retour ``rejected``/``not_assessed``/``technical``, or the row ``failed``/``dead``) keeps
  blocking the rows that were queued before that was known (they wait, see :meth:`waiting` for the
  reason in plain Dutch); rows queued after it are planned with that knowledge and go out.
  Rows without a delivery (callbacks of the simulator, hand-made envelopes) are not ordered.
* **Claiming** is atomic and batched (:meth:`Outbox.claim` takes ``limit`` rows in one
  transaction; :meth:`Outbox.acknowledge_many` records several acknowledgements in one): the
  candidates (expired leases, then due pending rows, each an index-ordered query that stops at the
  limit) are selected and updated by primary key inside one transaction, on PostgreSQL with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` so several sender processes share one outbox without ever
  holding the same row, on SQLite under ``BEGIN IMMEDIATE`` (one writer; in this process also
  :func:`write_lock`). The order rule is part of the candidates' WHERE, so it holds across
  processes.
* **Crashes**: a process killed at any point leaves its rows ``pending`` or ``sending``. A
  ``sending`` row whose lease expired is claimed again and resent with the same referentienummer;
  the receiver is idempotent on it (a redelivery is acknowledged, not processed twice).
* **No retour**: :meth:`Outbox.resend_without_retour` puts acknowledged rows whose retour never
  came back to ``pending`` (the same envelope: the CAK answers a resent identical message
  idempotently); :meth:`Outbox.resend_after_fault` does it for a transient Fo01.

The tables are the ledger's (:mod:`ieb.store.schema`); :func:`open_ledger` opens and migrates it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import os
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import IebError
from ieb.store import open_database, schema
from ieb.store.schema import deliveries
from ieb.transport.audit import AuditTrail

__all__ = [
    "ClaimedMessage",
    "LedgerTables",
    "Outbox",
    "OutboxConflictError",
    "OutboxError",
    "database_unavailable",
    "ledger_tables",
    "open_ledger",
    "parse_age",
    "person_key",
    "write_lock",
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
    return LedgerTables(schema.outbox, schema.inbox, schema.audit)


def open_ledger(url: str) -> Engine:
    """An engine on the ledger database at ``url`` (SQLAlchemy URL or SQLite path), migrated to the
    newest schema (:func:`ieb.store.open_database`: SQLite in WAL mode, ``BEGIN IMMEDIATE``)."""
    return open_database(url)


#: database errors a long-running worker outlives (the database is down, locked or restarting)
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be used right now (locked, down, restarting, a
    dropped connection), so the same call may work later; False for errors of the call itself."""
    if isinstance(exc, DB_UNAVAILABLE):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def parse_age(text: str) -> dt.timedelta:
    """An age as ``ieb requeue --zonder-retour`` takes it: a whole number with unit ``d`` (days),
    ``h`` (hours) or ``m`` (minutes), e.g. ``30d``, ``12h``; a bare number is days. Raises
    :class:`OutboxError` (Dutch) for anything else or an age under one minute."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in ("d", "h", "m") else "d"
    number = raw[:-1] if raw[-1:] in ("d", "h", "m") else raw
    if not number.isdigit() or len(number) > 6 or int(number) == 0:
        raise OutboxError(
            f"ouderdom {text!r} is niet te lezen; oplossing: geef bijvoorbeeld 30d (dagen), 12h (uren) of 90m",
            code="AGE",
            location="--zonder-retour",
        )
    seconds = {"d": 86400, "h": 3600, "m": 60}[unit]
    return dt.timedelta(seconds=int(number) * seconds)


def person_key(afzender: str, bsn: str) -> str:
    """The ``outbox.person`` of a message about ``bsn`` from ``afzender``: the afzender and the
    first 24 hex digits of sha256("afzender:bsn") (the outbox's own columns hold no BSN)."""
    return f"{afzender}:{hashlib.sha256(f'{afzender}:{bsn}'.encode()).hexdigest()[:24]}"


def _persons(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """``(afzender, bericht_identificatie) -> person`` for the rows whose delivery is in the
    ledger (looked up in the same transaction: the ledger records it before the outbox)."""
    d = deliveries
    wanted: dict[str, set[str]] = {}
    for r in rows:
        if r.get("afzender") and r.get("bericht_identificatie"):
            wanted.setdefault(str(r["afzender"]), set()).add(str(r["bericht_identificatie"]))
    out: dict[tuple[str, str], str] = {}
    for afzender, idents in wanted.items():
        ordered = sorted(idents)
        for k in range(0, len(ordered), 500):
            for ident, bsn in conn.execute(
                sa.select(d.c.identificatie, d.c.bsn).where(
                    d.c.afzender == afzender, d.c.identificatie.in_(ordered[k : k + 500])
                )
            ):
                out[(afzender, str(ident))] = person_key(afzender, str(bsn))
    return out


_write_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_write_locks_guard = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """A lock to hold around one write transaction on ``engine``: for SQLite one re-entrant lock
    per engine (SQLite lets one writer at a time anyway; threads of this process that wait here
    wake the moment the writer commits, instead of polling in SQLite's busy handler, which sleeps
    1, 2, 5, 10... ms between tries: 19 % of a 4-worker run, issue 22); for other databases
    nothing (PostgreSQL locks rows, claims skip locked ones)."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _write_locks_guard:
        lock = _write_locks.get(engine)
        if lock is None:
            lock = _write_locks[engine] = threading.RLock()
    return lock


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# ---------------------------------------------------------------------------------------- outbox


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox row leased to this worker."""

    id: int
    referentienummer: str
    functie: str
    envelope: bytes
    attempts: int


class _ClaimStatements(NamedTuple):
    expired: Any
    pending: Any
    lease: Any


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
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        #: the time for due dates and leases (aware UTC); tests drive it to simulate hours
        self.clock = clock
        self.tables = ledger_tables()
        self.table = self.tables.outbox
        self.worker_id = (worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[
            :64
        ]
        self.lease_seconds = lease_seconds
        self.audit = audit or AuditTrail(engine)
        #: the claim's and the acknowledgement's statements, built on first use (issue 22)
        self._claims: dict[bool, _ClaimStatements] = {}
        self._ack: Any = None

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
        now = self.clock()
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
        with write_lock(self.engine), self.engine.begin() as c:
            return self._insert(c, row)

    def _insert(self, conn: sa.Connection, row: dict[str, Any]) -> int:
        t = self.table
        if "person" not in row:
            key = (str(row.get("afzender") or ""), str(row.get("bericht_identificatie") or ""))
            row = {**row, "person": _persons(conn, [row]).get(key)}
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
        now = self.clock()
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
        persons = _persons(conn, new)
        for r in new:
            r["person"] = persons.get((str(r["afzender"] or ""), str(r["bericht_identificatie"] or "")))
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

    def claim(self, limit: int = 1, *, share: int = 1) -> list[ClaimedMessage]:
        """Lease up to ``limit`` rows that are due: pending with ``next_attempt_at`` passed, or
        sending with an expired lease. Counts the attempt before anything is sent.

        ``share`` (the number of workers of a sender): take at most a ``share``-th of the due rows
        seen (up to ``limit * share``, at least one), so that the last rows of a drain are spread
        over the workers instead of one worker sending a full batch while the others are idle."""
        now = self.clock()
        share = max(1, share)
        # Two candidate queries, each an ordered walk of the index on (status, next_attempt_at) that
        # stops after ``limit`` rows: one OR over both kinds made the database sort every due row
        # for each claim (8 ms per claim with 3,000 rows pending; quadratic in an initial delivery).
        # Expired leases (recovery, rare) first, then pending rows in due order. The statements
        # are built once per outbox (building the per-person subquery's aliases cost more than
        # running the claim: about 3 ms of a 5 ms claim, issue 22).
        with write_lock(self.engine), self.engine.begin() as conn:
            stmts = self._claim_statements(conn.dialect.name == "postgresql")
            ids: list[int] = []
            wanted = limit * share
            for query in (stmts.expired, stmts.pending):
                if len(ids) >= wanted:
                    break
                ids.extend(
                    int(i) for i in conn.execute(query, {"now": now, "n": wanted - len(ids)}).scalars()
                )
            if not ids:
                return []
            ids = ids[: min(limit, -(-len(ids) // share))]  # a fair share, in claim order
            # the candidates are ours until commit (SQLite: BEGIN IMMEDIATE, one writer; PostgreSQL:
            # FOR UPDATE), so the update re-checks only the status, by primary key
            rows = conn.execute(
                stmts.lease,
                {
                    "ids": ids,
                    "by": self.worker_id,
                    "until": now + dt.timedelta(seconds=self.lease_seconds),
                    "at": now,
                },
            ).all()
        claimed = [
            ClaimedMessage(int(r.id), r.referentienummer, r.functie, bytes(r.envelope), int(r.attempts))
            for r in rows
        ]
        claimed.sort(key=lambda m: m.id)
        return claimed

    def _claim_statements(self, postgres: bool) -> _ClaimStatements:
        """The claim's statements (bound parameters ``now``, ``n``; ``ids``, ``by``, ``until``,
        ``at``), built once per outbox and dialect kind."""
        cached = self._claims.get(postgres)
        if cached is not None:
            return cached
        t = self.table
        now = sa.bindparam("now", type_=t.c.next_attempt_at.type)
        expired = sa.and_(t.c.status == "sending", t.c.locked_until < now)
        pending = sa.and_(t.c.status == "pending", t.c.next_attempt_at <= now, ~self._blocked(t))
        queries = []
        for cond in (expired, pending):
            query = (
                sa.select(t.c.id)
                .where(cond)
                .order_by(t.c.next_attempt_at, t.c.id)
                .limit(sa.bindparam("n", type_=sa.Integer))
            )
            if postgres:
                query = query.with_for_update(skip_locked=True)
            queries.append(query)
        lease = (
            sa.update(t)
            .where(t.c.id.in_(sa.bindparam("ids", expanding=True)), t.c.status.in_(("pending", "sending")))
            .values(
                status="sending",
                locked_by=sa.bindparam("by", type_=t.c.locked_by.type),
                locked_until=sa.bindparam("until", type_=t.c.locked_until.type),
                attempts=t.c.attempts + 1,
                updated_at=sa.bindparam("at", type_=t.c.updated_at.type),
            )
            .returning(t.c.id, t.c.referentienummer, t.c.functie, t.c.envelope, t.c.attempts)
        )
        built = _ClaimStatements(queries[0], queries[1], lease)
        self._claims[postgres] = built
        return built

    # -- per-person order ---------------------------------------------------------------------

    def _earlier(self, o: Any) -> tuple[Any, Any, sa.ColumnElement[bool]]:
        """(earlier row alias, its delivery alias, condition) for the rows of the same person as
        row ``o`` that were enqueued before it (see the module docstring); one indexed lookup on
        ``outbox(person, id)``."""
        e = self.table.alias("earlier")
        de = deliveries.alias("d_earlier")
        same_person = sa.and_(
            o.c.person.is_not(None),
            e.c.person == o.c.person,
            e.c.id < o.c.id,
            de.c.afzender == e.c.afzender,
            de.c.identificatie == e.c.bericht_identificatie,
        )
        return e, de, same_person

    def _blocked(self, o: Any) -> sa.ColumnElement[bool]:
        """True for row ``o`` while an earlier row of the same person is not acknowledged-and-
        accepted, unless that one ended negatively before ``o`` was enqueued."""
        e, de, same_person = self._earlier(o)
        accepted = sa.and_(e.c.status == "acknowledged", de.c.outcome == "accepted")
        known_negative = sa.and_(
            _negative(e, de), sa.func.coalesce(de.c.retour_at, e.c.updated_at) <= o.c.created_at
        )
        return sa.exists().where(same_person, ~accepted, ~known_negative)

    def hold_dependents(self) -> list[tuple[str, str]]:
        """Take pending rows out of the queue whose earlier message of the same person ended
        negatively after they were queued (a rejected start makes its stop certain to be rejected
        too): the row becomes ``failed`` with a reason that names the earlier message, and its
        delivery ``technical`` ("niet verstuurd"), so nothing is sent to certain rejection and later
        plans for that person are not blocked. ``ieb requeue REF`` sends it after all (once the
        cause is fixed). Returns [(referentienummer, reason)]."""
        t = self.table
        held: list[tuple[str, str]] = []
        for _ in range(20):  # transitively: a held row holds the rows queued behind it
            e, de, same_person = self._earlier(t)
            negative_after = sa.and_(
                _negative(e, de), sa.func.coalesce(de.c.retour_at, e.c.updated_at) > t.c.created_at
            )
            now = self.clock()
            with self.engine.begin() as conn:
                rows = conn.execute(
                    sa.select(
                        t.c.id,
                        t.c.referentienummer,
                        t.c.afzender,
                        t.c.bericht_identificatie,
                        e.c.referentienummer.label("blocker"),
                        e.c.functie.label("blocker_functie"),
                        e.c.status.label("blocker_status"),
                        de.c.outcome.label("blocker_outcome"),
                        de.c.retour_codes.label("blocker_codes"),
                    )
                    .select_from(t)
                    .join(e, sa.true())
                    .join(de, sa.true())
                    .where(t.c.status == "pending", same_person, negative_after)
                    .order_by(t.c.id, e.c.id)
                    .limit(500)
                ).all()
                done: set[int] = set()
                for r in rows:
                    if r.id in done:
                        continue
                    done.add(r.id)
                    if r.blocker_status in ("failed", "dead"):
                        why = f"is niet afgeleverd ({r.blocker_status})"
                    else:
                        why = f"is afgewezen ({r.blocker_outcome}{': ' + r.blocker_codes if r.blocker_codes else ''})"
                    reason = (
                        f"niet verstuurd: eerder bericht {r.blocker_functie or ''} {r.blocker} van deze persoon "
                        f"{why}; dit bericht zou daardoor ook worden afgewezen. Oplossing: herstel eerst de "
                        "oorzaak van die afwijzing en plan opnieuw (ieb plan), of verstuur dit bericht "
                        f"daarna toch met `ieb requeue {r.referentienummer}`"
                    )
                    changed = conn.execute(
                        sa.update(t)
                        .where(t.c.id == r.id, t.c.status == "pending")
                        .values(status="failed", last_error=reason, updated_at=now)
                    ).rowcount
                    if not changed:
                        continue
                    if r.bericht_identificatie is not None:
                        conn.execute(
                            sa.update(deliveries)
                            .where(
                                deliveries.c.afzender == r.afzender,
                                deliveries.c.identificatie == r.bericht_identificatie,
                                deliveries.c.outcome == "pending",
                            )
                            .values(outcome="technical", detail=reason[:500], retour_at=now)
                        )
                    self.audit.record(
                        "out",
                        "held",
                        referentienummer=r.referentienummer,
                        outcome="failed",
                        detail=reason,
                        conn=conn,
                    )
                    held.append((r.referentienummer, reason))
            if not rows:
                break
        for ref, reason in held:
            log.warning("%s %s", ref, reason)
        return held

    def waiting(self, limit: int = 1000) -> list[tuple[str, str]]:
        """Pending rows that wait for an earlier message of the same person, with the reason in
        plain Dutch: [(referentienummer, reason)], oldest first."""
        t = self.table
        e, de, same_person = self._earlier(t)
        accepted = sa.and_(e.c.status == "acknowledged", de.c.outcome == "accepted")
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    t.c.referentienummer,
                    e.c.referentienummer.label("blocker"),
                    e.c.functie.label("blocker_functie"),
                    e.c.status.label("blocker_status"),
                )
                .select_from(t)
                .join(e, sa.true())
                .join(de, sa.true())
                .where(t.c.status == "pending", same_person, ~accepted, ~_negative(e, de))
                .order_by(t.c.id, e.c.id)
                .limit(limit)
            ).all()
        out: dict[str, str] = {}
        for r in rows:
            if r.referentienummer in out:
                continue
            what = "de retour" if r.blocker_status == "acknowledged" else "de verzending"
            out[r.referentienummer] = (
                f"wacht op {what} van eerder bericht {r.blocker_functie or ''} {r.blocker} van deze persoon"
            )
        return list(out.items())

    def sendable_count(self) -> int:
        """Rows a sender can still do something with: ``sending``, and ``pending`` ones not waiting
        for an earlier message of the same person (due now or later)."""
        t = self.table
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(
                        sa.or_(t.c.status == "sending", sa.and_(t.c.status == "pending", ~self._blocked(t)))
                    )
                ).scalar_one()
            )

    def _finish(self, msg: ClaimedMessage, **values: Any) -> bool:
        """Update a row we hold the lease on; False when the lease was lost meanwhile."""
        t = self.table
        values.setdefault("updated_at", self.clock())
        with write_lock(self.engine), self.engine.begin() as conn:
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

    def acknowledge_many(self, msgs: Sequence[ClaimedMessage]) -> set[int]:
        """Mark several claimed rows ``acknowledged`` in ONE transaction (one UPDATE, one audit row
        each); returns the ids recorded. A row whose lease was lost meanwhile is left alone (not in
        the result): another worker holds it and sends it again with the same referentienummer."""
        if not msgs:
            return set()
        now = self.clock()
        by_id = {m.id: m for m in msgs}
        with write_lock(self.engine), self.engine.begin() as conn:
            done = {
                int(i)
                for i in conn.execute(
                    self._acknowledge_statement(), {"ids": sorted(by_id), "by": self.worker_id, "at": now}
                ).scalars()
            }
            self.audit.record_many(
                "out",
                "delivery",
                [
                    {"referentienummer": by_id[i].referentienummer, "functie": by_id[i].functie}
                    for i in sorted(done)
                ],
                outcome="acknowledged",
                conn=conn,
            )
        for m in msgs:
            if m.id not in done:
                log.warning("lease op %s verloren voordat de status werd vastgelegd", m.referentienummer)
        return done

    def _acknowledge_statement(self) -> Any:
        """:meth:`acknowledge_many`'s UPDATE (bound ``ids``, ``by``, ``at``), built once."""
        if self._ack is None:
            t = self.table
            at = sa.bindparam("at", type_=t.c.updated_at.type)
            self._ack = (
                sa.update(t)
                .where(
                    t.c.id.in_(sa.bindparam("ids", expanding=True)),
                    t.c.status == "sending",
                    t.c.locked_by == sa.bindparam("by", type_=t.c.locked_by.type),
                )
                .values(
                    status="acknowledged",
                    acknowledged_at=at,
                    locked_by=None,
                    locked_until=None,
                    last_error=None,
                    updated_at=at,
                )
                .returning(t.c.id)
            )
        return self._ack

    def renew_many(self, msgs: Sequence[ClaimedMessage]) -> set[int]:
        """Extend the leases on several claimed rows in one statement; returns the ids still ours."""
        if not msgs:
            return set()
        t = self.table
        now = self.clock()
        with write_lock(self.engine), self.engine.begin() as conn:
            return {
                int(i)
                for i in conn.execute(
                    sa.update(t)
                    .where(
                        t.c.id.in_(sorted(m.id for m in msgs)),
                        t.c.status == "sending",
                        t.c.locked_by == self.worker_id,
                    )
                    .values(locked_until=now + dt.timedelta(seconds=self.lease_seconds))
                    .returning(t.c.id)
                ).scalars()
            }

    def give_back(self, msgs: Sequence[ClaimedMessage]) -> int:
        """Return claimed rows that were NOT sent (the worker stops) to ``pending``, due now, without
        counting the attempt the claim counted. Returns how many were still ours."""
        if not msgs:
            return 0
        t = self.table
        now = self.clock()
        with write_lock(self.engine), self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(
                    t.c.id.in_(sorted(m.id for m in msgs)),
                    t.c.status == "sending",
                    t.c.locked_by == self.worker_id,
                )
                .values(
                    status="pending",
                    attempts=sa.case((t.c.attempts > 0, t.c.attempts - 1), else_=0),
                    locked_by=None,
                    locked_until=None,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
        return int(result.rowcount)

    def count_attempt(self, msg: ClaimedMessage) -> ClaimedMessage:
        """Record one more attempt (and renew the lease) before a retry within the same claim."""
        t = self.table
        now = self.clock()
        with write_lock(self.engine), self.engine.begin() as conn:
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
        now = self.clock()
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
            next_attempt_at=self.clock() + dt.timedelta(seconds=delay),
            locked_by=None,
            locked_until=None,
        )

    def dead_letter(self, msg: ClaimedMessage, reason: str) -> bool:
        """Mark a claimed row ``dead`` with the reason; False when the lease was lost."""
        return self._finish(msg, status="dead", last_error=reason, locked_by=None, locked_until=None)

    def renew(self, msg: ClaimedMessage) -> bool:
        """Extend the lease on ``msg`` (heartbeat while a send is in flight); False when lost."""
        t = self.table
        now = self.clock()
        with write_lock(self.engine), self.engine.begin() as conn:
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
        now = self.clock()
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
        now = self.clock()

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

    def resend_without_retour(
        self, older_than: dt.timedelta, *, afzender: str | None = None, now: dt.datetime | None = None
    ) -> list[str]:
        """Put ``acknowledged`` rows whose retour never came back (their delivery is still
        ``pending``) and that were acknowledged more than ``older_than`` ago back to ``pending``,
        due now, with the SAME envelope: the CAK answers a resent identical message idempotently
        and a retour that does arrive twice is stored as ``duplicate``. ``afzender`` limits it to one
        gemeente. Returns the referentienummers, oldest first."""
        t, d = self.table, deliveries
        now = now or self.clock()
        cutoff = now - older_than
        with self.engine.begin() as conn:
            q = (
                sa.select(t.c.id, t.c.referentienummer)
                .join(
                    d, sa.and_(d.c.afzender == t.c.afzender, d.c.identificatie == t.c.bericht_identificatie)
                )
                .where(t.c.status == "acknowledged", t.c.acknowledged_at < cutoff, d.c.outcome == "pending")
                .order_by(t.c.id)
            )
            if afzender is not None:
                q = q.where(t.c.afzender == afzender)
            rows = conn.execute(q).all()
            refs: list[str] = []
            for r in rows:
                changed = conn.execute(
                    sa.update(t)
                    .where(t.c.id == r.id, t.c.status == "acknowledged")
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        last_error=f"opnieuw verstuurd: geen retour sinds {older_than} na de bevestiging",
                        updated_at=now,
                    )
                ).rowcount
                if changed:
                    self.audit.record(
                        "out",
                        "requeued",
                        referentienummer=r.referentienummer,
                        outcome="pending",
                        detail="geen retour",
                        conn=conn,
                    )
                    refs.append(str(r.referentienummer))
        return refs

    def resend_after_fault(self, referentienummer: str, reason: str, delay: float) -> bool:
        """Send an ``acknowledged`` row again after ``delay`` seconds (the same envelope) because
        the other side reported a TRANSIENT fault for it afterwards (a Fo01 such as IB103 "message
        type frozen"); counts as one attempt. False when the row is not acknowledged (unknown, already
        requeued, or finished otherwise)."""
        t = self.table
        now = self.clock()
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(t)
                .where(t.c.referentienummer == referentienummer, t.c.status == "acknowledged")
                .values(
                    status="pending",
                    next_attempt_at=now + dt.timedelta(seconds=delay),
                    last_error=reason,
                    updated_at=now,
                )
            ).rowcount
            if changed:
                self.audit.record(
                    "out",
                    "requeued_fault",
                    referentienummer=referentienummer,
                    outcome="pending",
                    detail=reason,
                    conn=conn,
                )
        return bool(changed)

    def fault_resends(self, referentienummer: str) -> int:
        """How often :meth:`resend_after_fault` requeued this referentienummer (from the audit)."""
        a = self.tables.audit
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        a.c.referentienummer == referentienummer, a.c.kind == "requeued_fault"
                    )
                ).scalar_one()
            )

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


def _negative(e: Any, de: Any) -> sa.ColumnElement[bool]:
    """The earlier row ended without being accepted: refused, dead, or a negative retour."""
    return sa.or_(
        e.c.status.in_(("failed", "dead")),
        sa.and_(e.c.status == "acknowledged", de.c.outcome.in_(("rejected", "not_assessed", "technical"))),
    )


def iter_open(outbox: Outbox) -> Iterator[dict[str, Any]]:  # pragma: no cover - convenience
    t = outbox.table
    with outbox.engine.connect() as conn:
        for row in conn.execute(sa.select(t).where(t.c.status.in_(("pending", "sending")))):
            yield dict(row._mapping)


def enqueue_fresh(
    outbox: Outbox,
    rows: Sequence[dict[str, Any]],
    *,
    conn: sa.Connection | None = None,
    bsns: Sequence[str] | None = None,
    ids: bool = True,
) -> list[int]:
    """:meth:`Outbox.enqueue_many` for envelopes with new referentienummers (``new_di01``): the
    outbox rows AND their ``enqueued`` audit rows go in with one multi-row statement per 500 each,
    in one transaction (``conn``: a savepoint in yours). Returns the outbox ids in ``rows`` order.

    Each dict holds :meth:`Outbox.enqueue`'s arguments. When a referentienummer is already stored
    (a resumed run) or a row has another argument, the batch is rolled back and handed to
    :meth:`Outbox.enqueue_many`, which reports a conflicting envelope and keeps a duplicate once
    (issue 22: one audit INSERT per envelope was a tenth of an initial delivery).

    For a caller that has just recorded the rows' deliveries in the ledger in ``conn`` (the
    planner): ``bsns``, the Bsn of each row's delivery in ``rows`` order, gives each row its
    ``person`` without looking the deliveries up again (the same value: :func:`person_key`), and
    ``ids=False`` skips reading the new ids back (an empty list is returned); issue 22, the two
    look-ups were a tenth of ``enqueue_fresh`` in ``ieb plan --queue``. Raises ``ValueError`` when
    ``bsns`` does not have one Bsn per row."""
    if bsns is not None and len(bsns) != len(rows):
        raise ValueError(f"bsns heeft {len(bsns)} waarden voor {len(rows)} rijen")
    if conn is None:
        with outbox.engine.begin() as c:
            return enqueue_fresh(outbox, rows, conn=c, bsns=bsns, ids=ids)
    allowed = {"envelope", "referentienummer", "afzender", "functie", "payload", "bericht_identificatie"}
    refs = [str(r["referentienummer"]) for r in rows]
    if any(set(r) - allowed for r in rows) or len(set(refs)) != len(refs):
        return outbox.enqueue_many(rows, conn=conn)
    try:
        with conn.begin_nested():
            return _insert_fresh(outbox, conn, rows, refs, bsns, ids)
    except sa.exc.IntegrityError:
        return outbox.enqueue_many(rows, conn=conn)


def _insert_fresh(
    outbox: Outbox,
    conn: sa.Connection,
    rows: Sequence[dict[str, Any]],
    refs: list[str],
    bsns: Sequence[str] | None,
    want_ids: bool,
) -> list[int]:
    t = outbox.table
    now = outbox.clock()
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
    ]
    if bsns is not None:  # the caller's deliveries, recorded in this transaction
        for r, bsn in zip(new, bsns, strict=True):
            afzender = r["afzender"]
            r["person"] = person_key(str(afzender), bsn) if afzender and r["bericht_identificatie"] else None
    else:
        persons = _persons(conn, new)
        for r in new:
            r["person"] = persons.get((str(r["afzender"] or ""), str(r["bericht_identificatie"] or "")))
    _insert_rows(conn, t, new)
    at = dt.datetime.now(dt.UTC)
    events = []
    for r in new:
        outbox.audit.log.info(
            "%s %s ref=%s crossref=%s functie=%s outcome=%s%s",
            "out",
            "enqueued",
            r["referentienummer"] or "-",
            "-",
            r["functie"] or "-",
            "pending",
            "",
        )
        events.append(
            {
                "at": at,
                "direction": "out",
                "kind": "enqueued",
                "referentienummer": r["referentienummer"],
                "cross_ref_nummer": None,
                "functie": r["functie"],
                "outcome": "pending",
                "detail": None,
            }
        )
    _insert_rows(conn, outbox.audit.table, events)
    if not want_ids:
        return []
    ids: dict[str, int] = {}
    for k in range(0, len(refs), 500):
        found = conn.execute(
            sa.select(t.c.referentienummer, t.c.id).where(t.c.referentienummer.in_(refs[k : k + 500]))
        )
        ids.update({str(ref): int(i) for ref, i in found})
    return [ids[ref] for ref in refs]


def _insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table``. On SQLite one executemany of
    SQLAlchemy's own compiled INSERT, each value converted by its column's bind processor (what
    ``conn.execute(sa.insert(table), rows)`` does per row; issue 22: that per-row work was a tenth
    of ``ieb plan --queue``, as in ``Ledger.add_many``); elsewhere multi-row statements of 500."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        for k in range(0, len(rows), 500):
            conn.execute(sa.insert(table), list(rows[k : k + 500]))
        return
    sql, names, convert = _compiled_insert(table, tuple(rows[0]), conn.dialect)
    # the last value converted per column and its result: a batch shares one timestamp object
    last: list[tuple[object, Any]] = [(_UNSET, None)] * len(convert)
    values = []
    for row in rows:
        value = [row[n] for n in names]
        for j, (i, proc) in enumerate(convert):
            v = value[i]
            seen, done = last[j]
            if v is not seen:
                done = proc(v)
                last[j] = (v, done)
            value[i] = done
        values.append(tuple(value))
    conn.exec_driver_sql(sql, values)


_UNSET = object()


@functools.lru_cache(maxsize=16)
def _compiled_insert(
    table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The INSERT of ``keys`` into ``table`` compiled for ``dialect`` (positional parameters), the
    column of each parameter in order, and ``(position, bind processor)`` of each column that has
    one (the others go to the driver as they are)."""
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    if sorted(names) != sorted(keys):  # pragma: no cover - a dialect with named parameters or defaults
        raise RuntimeError(f"onverwachte parameters van de INSERT in {table.name}: {names}")
    convert: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(names):
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            convert.append((i, proc))
    return str(compiled), names, tuple(convert)
