"""The sender: a pool of worker threads that sends what the outbox holds, and survives its database.

:class:`Sender` claims rows from an :class:`~ieb.transport.outbox.Outbox` one at a time per worker
and hands their stored bytes to a :class:`~ieb.transport.base.Transport`:

* **Retries** (tenacity): a :class:`~ieb.transport.errors.TransientSendError` (timeouts,
  connection errors, HTTP 5xx, a fault code the versioned table of :mod:`ieb.transport.faults`
  calls transient) is retried within the lease with exponential backoff; every attempt is counted
  in the row first and sends the *same* stored envelope. When the lease's attempts are used up
  the row goes back to ``pending`` with a later ``next_attempt_at``; after ``max_attempts`` in
  total it is ``dead``. A lease is renewed while its send is in flight.
* **Order per person** is the outbox's claim rule (see :mod:`ieb.transport.outbox`); the sender
  reports rows that wait (:attr:`DrainResult.waiting`) and takes rows whose earlier message was
  rejected out of the queue (:meth:`~ieb.transport.outbox.Outbox.hold_dependents`).
* **The database may go away** (a SQLite lock held too long, a PostgreSQL restart): every
  database call of the worker loop is guarded. An operational error makes the worker back off
  (``RetryPolicy.db_backoff_initial`` doubling up to ``db_backoff_max`` seconds) and try again;
  :meth:`Sender.health` then says ``degraded`` with the cause; when no database call succeeded for
  ``RetryPolicy.give_up_seconds`` the run stops with :attr:`DrainResult.gave_up` set and
  ``on_give_up(cause)`` is called (``ieb serve`` then exits non-zero, so a supervisor restarts it).
  An outcome that could not be recorded is retried the same way; if the lease runs out meanwhile
  the row is sent again later with the same referentienummer (receivers are idempotent on it).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ieb.errors import IebError
from ieb.transport.base import Delivered, SendFunction, Transport
from ieb.transport.errors import (
    PermanentSendError,
    RejectedError,
    TransientSendError,
    TransportError,
    describe,
)
from ieb.transport.outbox import ClaimedMessage, Outbox, OutboxError, database_unavailable
from ieb.types import mask_bsns

__all__ = [
    "DrainResult",
    "ResultCallback",
    "RetryCallback",
    "RetryPolicy",
    "Sender",
    "SenderHealth",
    "Wakeup",
]

log = logging.getLogger("ieb.transport.sender")

_R = TypeVar("_R")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts_per_claim`` network attempts per lease (tenacity, exponential
    backoff from ``backoff_initial`` up to ``backoff_max`` seconds, with jitter), ``max_attempts`` in
    total before the row is dead-lettered; between leases the row waits ``requeue_delay(attempts)``.
    ``db_backoff_*`` and ``give_up_seconds``: how the workers outlive an unavailable database (see
    the module docstring)."""

    max_attempts: int = 10
    attempts_per_claim: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    requeue_initial: float = 1.0
    requeue_max: float = 300.0
    #: first pause after a failed database call (seconds), doubling up to ``db_backoff_max``
    db_backoff_initial: float = 0.5
    db_backoff_max: float = 30.0
    #: stop (and let ``ieb serve`` exit non-zero) when no database call succeeded for this long
    give_up_seconds: float = 300.0

    def requeue_delay(self, attempts: int) -> float:
        """Seconds before a row is due again after ``attempts`` attempts (exponential, capped)."""
        return float(min(self.requeue_max, self.requeue_initial * (2 ** max(0, attempts - 1))))


# ---------------------------------------------------------------------------------------- sender


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
    #: pending rows left waiting for an earlier message of the same person (see Outbox.waiting)
    waiting: int = 0
    #: rows taken out of the queue because an earlier message of the same person was rejected
    held: int = 0
    #: set when the run stopped because the database stayed unavailable (the cause)
    gave_up: str | None = None

    def add(self, other: DrainResult) -> None:
        """Add another run's counts to these."""
        self.acknowledged += other.acknowledged
        self.failed += other.failed
        self.dead += other.dead
        self.requeued += other.requeued
        self.attempts += other.attempts
        self.lease_lost += other.lease_lost
        self.held += other.held


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


class SenderHealth:
    """What the workers know about their database, thread-safe: ``state`` is ``ok``, ``degraded``
    (a database call failed and is being retried: ``cause`` says why, ``since`` when, on the
    monotonic clock) or ``stopped`` (the run ended; ``cause`` set when it gave up)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.state = "ok"
        self.cause: str | None = None
        self.since: float | None = None
        self.last_ok = clock()
        self.db_errors = 0
        #: start times of database calls in progress (a call that hangs is "degraded" too)
        self._calls: dict[int, float] = {}
        #: seconds after which a database call in progress counts as "not answering"
        self.slow_call_seconds = 5.0

    def enter(self) -> None:
        """A database call starts (this thread)."""
        with self._lock:
            self._calls[threading.get_ident()] = self._clock()

    def leave(self) -> None:
        """The database call of this thread ended (either way)."""
        with self._lock:
            self._calls.pop(threading.get_ident(), None)

    def ok(self) -> None:
        """A database call succeeded."""
        with self._lock:
            self.last_ok = self._clock()
            if self.state == "degraded":
                log.warning("database weer bereikbaar na %.1f s", self.last_ok - (self.since or self.last_ok))
                self.state, self.cause, self.since = "ok", None, None

    def failed(self, cause: str) -> float:
        """A database call failed with ``cause``; returns seconds since the last success."""
        with self._lock:
            now = self._clock()
            self.db_errors += 1
            if self.state == "stopped":
                return now - self.last_ok
            if self.state != "degraded":
                self.state, self.since = "degraded", now
            self.cause = cause
            return now - self.last_ok

    def stopped(self, cause: str | None = None) -> None:
        """The run ended (``cause``: why it gave up)."""
        with self._lock:
            self.state = "stopped"
            if cause is not None:
                self.cause = cause

    def as_dict(self) -> dict[str, Any]:
        """``{"state", "cause", "degraded_seconds", "db_errors"}`` for /health."""
        with self._lock:
            now = self._clock()
            since, state, cause = self.since, self.state, self.cause
            oldest = min(self._calls.values(), default=None)
            if state == "ok" and oldest is not None and now - oldest > self.slow_call_seconds:
                since, state = oldest, "degraded"
                cause = f"database reageert al {now - oldest:.0f} s niet (vergrendeld of onbereikbaar)"
            return {
                "state": state,
                "cause": cause,
                "degraded_seconds": round(now - since, 1) if since is not None else 0.0,
                "db_errors": self.db_errors,
            }


class _GiveUp(Exception):
    """The database stayed unavailable longer than ``give_up_seconds``."""


class Sender:
    """Sends what the outbox holds through ``transport`` (a :class:`~ieb.transport.base.Transport`,
    or a plain ``send(envelope) -> Delivered`` function); see the module docstring.

    Run :meth:`drain` (until nothing sendable is open, or a deadline) or :meth:`run_forever`
    (until :meth:`stop`), each with ``workers`` threads claiming rows one at a time. The outbox's
    ``lease_seconds`` must outlast one full attempt (``attempt_seconds``, default the transport's
    ``max_seconds``): shorter settings raise :class:`~ieb.transport.outbox.OutboxError`. With
    ``stop_on_permanent`` the first :class:`~ieb.transport.errors.PermanentSendError` that is not a
    refusal (certificate, hostname, HTTP 4xx, WSDL) stops the run and is in
    :attr:`DrainResult.permanent`; its row goes back to ``pending`` unchanged (fix the cause, send
    again). ``on_give_up(cause)`` is called once when the database stayed unavailable for
    ``policy.give_up_seconds``. ``clock`` (monotonic seconds) and ``sleep`` can be driven by tests.
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
        on_give_up: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        batch: int = 8,
    ) -> None:
        self.outbox = outbox
        self.stop_when_unreachable = stop_when_unreachable
        self.on_retry = on_retry
        self.on_give_up = on_give_up
        self._clock = clock
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
        self._gave_up: str | None = None
        self._lock = threading.Lock()
        self._alive = 0
        #: workers of the current run: each claims at most its share of the due rows it sees
        self._workers = 1
        self._last_hold = -1e18
        #: wakes idle workers: after every batch (rows may have become sendable, or the drain is
        #: done) and on stop; the caller's :class:`Wakeup` in :meth:`run_forever`
        self._wake: Wakeup | None = None
        #: what the workers know about the database (for /health)
        self.health_state = SenderHealth(clock)
        #: longest idle sleep of :meth:`run_forever` (one cheap query per wake-up)
        self.idle_seconds = 5.0
        #: renew leases during a send unless a known deadline ends it well within the lease
        self._heartbeat = attempt_seconds is None or outbox.lease_seconds < 1.5 * attempt_seconds
        self._attempt_seconds = attempt_seconds
        #: rows one worker claims in one transaction (acknowledged together in one more); 1 when
        #: the length of a send is unknown or a heartbeat is needed
        self.batch = max(1, batch) if not self._heartbeat else 1
        if attempt_seconds is not None and outbox.lease_seconds < attempt_seconds:
            raise OutboxError(
                f"lease van {outbox.lease_seconds:g} s is korter dan een volledige poging "
                f"({attempt_seconds:g} s: connect_timeout + operation_timeout); een tweede verzender zou "
                "het bericht opnieuw kunnen versturen. Verhoog retry.lease_seconds of verlaag de time-outs.",
                code="LEASE",
            )

    def stop(self) -> None:
        """Ask the workers to stop after their current message."""
        self._halt()

    def _halt(self) -> None:
        """Set the stop flag and wake idle workers, so they see it at once."""
        self._stop.set()
        wake = self._wake
        if wake is not None:
            wake.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (or a permanent fault stopped the run)."""
        return self._stop.is_set()

    @property
    def alive(self) -> int:
        """How many worker threads are running now (0 when stopped or dead)."""
        with self._lock:
            return self._alive

    def health(self) -> dict[str, Any]:
        """``{"state": "ok"|"degraded"|"stopped", "cause", "degraded_seconds", "db_errors",
        "workers_alive"}``."""
        out = self.health_state.as_dict()
        out["workers_alive"] = self.alive
        return out

    # -- the database, guarded ----------------------------------------------------------------

    def _db(self, what: str, call: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
        """Run one database call; on an operational error back off and try again until it works,
        the sender stops (:class:`_GiveUp` is raised then too) or ``give_up_seconds`` passed."""
        delay = self.policy.db_backoff_initial
        while True:
            self.health_state.enter()
            try:
                result = call(*args, **kwargs)
            except Exception as exc:
                self.health_state.leave()
                if not database_unavailable(exc):
                    raise
                cause = (
                    f"database niet bruikbaar bij {what}: " + mask_bsns(f"{type(exc).__name__}: {exc}")[:300]
                )
                down = self.health_state.failed(cause)
                if down >= self.policy.give_up_seconds:
                    self._give_up(f"{cause} (al {down:.0f} s)")
                    raise _GiveUp(cause) from exc
                if self._gave_up is not None:
                    raise _GiveUp(self._gave_up) from exc
                log.warning("%s; volgende poging over %.1f s", cause, delay)
                self._stop.wait(delay + random.uniform(0, delay / 4))  # noqa: S311 - jitter, not crypto
                delay = min(self.policy.db_backoff_max, delay * 2)
                continue
            self.health_state.leave()
            self.health_state.ok()
            return result

    def _give_up(self, cause: str) -> None:
        with self._lock:
            first = self._gave_up is None
            if first:
                self._gave_up = cause
        if not first:
            return
        log.critical(
            "verzender stopt: %s; oplossing: herstel de database, de supervisor start ieb opnieuw", cause
        )
        self.health_state.stopped(cause)
        self._halt()
        if self.on_give_up is not None:
            try:
                self.on_give_up(cause)
            except Exception:
                log.exception("on_give_up mislukt")

    # -- one message --------------------------------------------------------------------------

    def _attempt(self, state: dict[str, ClaimedMessage]) -> Delivered:
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
        return self._process(msg, None)

    def _process(self, msg: ClaimedMessage, batch: _Batch | None) -> str:
        """:meth:`process`; within a claimed ``batch`` an acknowledgement is only collected (outcome
        ``deferred``; :meth:`_flush` records the batch's in one transaction), and a first retry
        records what was collected and gives the batch's unsent rows back (their leases must not
        run out while this one is retried)."""
        import tenacity

        policy = self.policy
        state = {"msg": msg}

        def before_retry(retry_state: tenacity.RetryCallState) -> None:
            if batch is not None:
                self._flush(batch)
                self._give_back(batch)
            state["msg"] = self._db("poging tellen", self.outbox.count_attempt, state["msg"])
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
        except RejectedError as exc:
            reason = f"{_fault_label(exc)} {exc.code}: {exc.message}"
            recorded = self._db("weigering vastleggen", self.outbox.reject, state["msg"], reason)
            outcome = "failed"
            if self.stop_on_permanent:
                self._stop_for(exc)
        except PermanentSendError as exc:
            reason = f"{exc.message}" + (f" (oplossing: {exc.hint})" if exc.hint else "")
            delay = 0.0 if self.stop_on_permanent else policy.requeue_max
            if self.stop_on_permanent:
                self._stop_for(exc)
            recorded = self._db("fout vastleggen", self.outbox.retry_later, state["msg"], reason, delay)
            outcome = "permanent"
        except TransientSendError as exc:
            current = state["msg"]
            reason = describe(exc)
            if exc.code:
                reason = f"[{exc.code}] {reason}"
            if current.attempts >= policy.max_attempts:
                recorded = self._db(
                    "dead letter vastleggen",
                    self.outbox.dead_letter,
                    current,
                    f"na {current.attempts} pogingen: {reason}",
                )
                outcome = "dead"
            else:
                delay = policy.requeue_delay(current.attempts)
                recorded = self._db("nieuwe poging plannen", self.outbox.retry_later, current, reason, delay)
                outcome = "pending"
                self._note_unreachable(msg.referentienummer, exc)
                if not self._stop.is_set():
                    reason = f"{reason}; volgende poging over {delay:.0f} s"
        except (TransportError, IebError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            recorded = self._db("fout vastleggen", self.outbox.reject, state["msg"], reason)
            outcome = "failed"
        else:
            self._any_acknowledged = True
            log.debug("%s bevestigd in %.3fs", msg.referentienummer, result.seconds)
            if batch is not None:
                batch.acks.append(state["msg"])
                return "deferred"
            recorded = self._db("bevestiging vastleggen", self.outbox.acknowledge, state["msg"])
            outcome = "acknowledged"
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
        with self._lock:
            self._unreachable.add(ref)
            self._unreachable_error = exc
            if self._any_acknowledged:
                return
        if len(self._unreachable) < self._db("open berichten tellen", self.outbox.sendable_count):
            return
        self._halt()

    def _stop_for(self, exc: TransportError) -> None:
        with self._lock:
            if self._permanent is None:
                self._permanent = exc
        self._halt()

    # -- loops --------------------------------------------------------------------------------

    def _hold(self, result: DrainResult, lock: threading.Lock) -> None:
        """Take rows whose earlier message was rejected out of the queue (at most every 2 s)."""
        now = self._clock()
        with lock:
            if now - self._last_hold < 2.0:
                return
            self._last_hold = now
        held = self._db("wachtende berichten nalopen", self.outbox.hold_dependents)
        if held:
            with lock:
                result.held += len(held)

    def _worker(
        self,
        result: DrainResult,
        lock: threading.Lock,
        until_empty: bool,
        deadline: float,
        wake: Wakeup | None,
    ) -> None:
        with self._lock:
            self._alive += 1
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    if self._step(result, lock, until_empty, deadline, wake):
                        return
                except _GiveUp:
                    return
                except Exception:  # loop boundary: a bug must not kill the worker
                    log.exception("onverwachte fout in de verzender; over 1 s verder")
                    self._stop.wait(1.0)
        finally:
            with self._lock:
                self._alive -= 1

    def _step(
        self,
        result: DrainResult,
        lock: threading.Lock,
        until_empty: bool,
        deadline: float,
        wake: Wakeup | None,
    ) -> bool:
        """One claim and its send; True when a draining worker is done."""
        token = wake.token() if wake is not None else 0
        claimed_at = self.outbox.clock()
        claimed = self._db("berichten claimen", self.outbox.claim, self.batch, share=self._workers)
        if not claimed:
            self._hold(result, lock)
            if until_empty and self._db("open berichten tellen", self.outbox.sendable_count) == 0:
                return True
            due = self._db("volgende tijdstip lezen", self.outbox.next_due)
            wait = 1.0 if until_empty else self.idle_seconds
            if due is not None:
                wait = max(0.01, min(wait, (due - self.outbox.clock()).total_seconds()))
            wait = min(wait, max(0.0, deadline - time.monotonic()))
            if wake is not None:
                wake.wait(token, wait)
            else:
                self._stop.wait(wait)
            return False
        batch = _Batch(claimed, result, lock, claimed_at)
        try:
            while batch.unsent:
                if self._stop.is_set():
                    self._give_back(batch)
                    break
                self._keep_leases(batch)
                if not batch.unsent:
                    break
                msg = batch.unsent.pop(0)
                try:
                    outcome = self._process(msg, batch)
                except _GiveUp:
                    raise
                except Exception as exc:  # loop boundary: a bug must not kill the worker
                    # Nothing is lost: the message goes back to pending with the reason, and the
                    # worker keeps serving the rest of the outbox.
                    log.exception("onverwachte fout bij %s; later opnieuw", msg.referentienummer)
                    self._db(
                        "fout vastleggen",
                        self.outbox.retry_later,
                        msg,
                        f"onverwachte fout: {type(exc).__name__}: {exc}",
                        self.policy.requeue_delay(msg.attempts),
                    )
                    outcome = "pending"
                if outcome != "deferred":
                    batch.count(outcome)
        finally:
            if batch.acks:
                self._flush(batch)
            if wake is not None:
                wake.set()  # idle workers look again (a draining one may be done now)
        return False

    def _keep_leases(self, batch: _Batch) -> None:
        """Before the next send of a batch: when the batch's leases would not outlast one more full
        attempt, record the acknowledgements collected so far and renew the unsent rows' leases
        (rows another worker took over meanwhile are dropped, reported as ``lease_lost``)."""
        if self._attempt_seconds is None or len(batch.unsent) == len(batch.claimed):
            return
        left = (batch.leased_until(self.outbox.lease_seconds) - self.outbox.clock()).total_seconds()
        if left >= self._attempt_seconds * 1.1 + 1.0:
            return
        self._flush(batch)
        renewed_at = self.outbox.clock()
        kept = self._db("leases verlengen", self.outbox.renew_many, batch.unsent)
        batch.claimed_at = renewed_at
        for m in [m for m in batch.unsent if m.id not in kept]:
            batch.unsent.remove(m)
            batch.count("lease_lost")
            if self.on_result is not None:
                self.on_result(m, "lease_lost", "lease verloren voordat het bericht werd verstuurd")

    def _give_back(self, batch: _Batch) -> None:
        """Return the batch's unsent rows to ``pending`` (not counted as an attempt)."""
        if batch.unsent:
            rest, batch.unsent[:] = list(batch.unsent), []
            self._db("berichten teruggeven", self.outbox.give_back, rest)

    def _flush(self, batch: _Batch) -> None:
        """Record the batch's collected acknowledgements in one transaction, then report them."""
        acks, batch.acks[:] = list(batch.acks), []
        if not acks:
            return
        recorded = self._db("bevestigingen vastleggen", self.outbox.acknowledge_many, acks)
        for m in acks:
            if m.id in recorded:
                outcome, reason = "acknowledged", None
            else:
                outcome, reason = "lease_lost", "lease verloren voordat de bevestiging werd vastgelegd"
                log.warning("%s: %s; niet als verstuurd vastgelegd", m.referentienummer, reason)
            batch.count(outcome)
            if self.on_result is not None:
                self.on_result(m, outcome, reason)

    def _run(
        self, workers: int, until_empty: bool, timeout: float | None, wake: Wakeup | None = None
    ) -> DrainResult:
        started = time.monotonic()
        deadline = started + timeout if timeout is not None else float("inf")
        self._workers = max(1, workers)
        wake = wake or Wakeup()
        self._wake = wake
        result = DrainResult()
        lock = threading.Lock()
        self.health_state.state = "ok"
        threads = [
            threading.Thread(
                target=self._worker,
                args=(result, lock, until_empty, deadline, wake),
                name=f"ieb-sender-{i}",
                daemon=True,
            )
            for i in range(max(1, workers))
        ]
        try:
            for th in threads:
                th.start()
            for th in threads:
                while th.is_alive():
                    th.join(timeout=0.2)
        except KeyboardInterrupt:
            self._halt()
            for th in threads:
                if th.is_alive():
                    th.join(timeout=60)
            try:
                self.outbox.release()
            except Exception as exc:  # noqa: BLE001 - the leases then expire by themselves
                log.warning("leases niet vrijgegeven: %s", mask_bsns(str(exc))[:200])
            result.interrupted = True
        result.seconds = time.monotonic() - started
        result.permanent = self._permanent
        result.gave_up = self._gave_up
        if self._gave_up is None:
            self.health_state.stopped()
            try:
                result.waiting = len(self.outbox.waiting())
            except KeyboardInterrupt:  # Ctrl-C after the workers ended: nothing is held any more
                result.interrupted = True
            except Exception as exc:  # noqa: BLE001 - a count for the report, never fatal
                log.warning("wachtende berichten niet geteld: %s", mask_bsns(str(exc))[:200])
        if self.stop_when_unreachable and self._stop.is_set() and self._permanent is None:
            if not self._any_acknowledged and self._unreachable_error is not None and not result.interrupted:
                result.unreachable = self._unreachable_error
        return result

    def drain(self, *, workers: int = 4, timeout: float | None = None) -> DrainResult:
        """Send until no row is sendable any more (pending rows that wait for an earlier message
        of the same person stay; see :attr:`DrainResult.waiting`), or ``timeout`` seconds passed,
        or a permanent fault stopped the run. Ctrl-C stops cleanly: running sends finish, leases
        are released."""
        return self._run(workers, True, timeout)

    def run_forever(
        self, *, workers: int = 4, wake: Wakeup | None = None, idle_seconds: float = 5.0
    ) -> DrainResult:
        """Send whatever arrives until :meth:`stop` is called (or the database stayed unavailable
        for ``policy.give_up_seconds``). Idle workers sleep until the next row is due (at most
        ``idle_seconds``) or ``wake`` is set (set it after enqueueing)."""
        self.idle_seconds = idle_seconds
        return self._run(workers, False, None, wake)


def _db_cause(exc: BaseException) -> str:
    """The driver's own message of a database error, one line, BSNs masked."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(f"{type(orig).__name__}: {orig}".split())
    return mask_bsns(text)[:300]


def _fault_label(exc: RejectedError) -> str:
    fault = getattr(exc, "fo03", None)
    return "Fo03" if fault is not None else "geweigerd"


class _Batch:
    """The rows one worker claimed in one transaction: those not sent yet (``unsent``), the
    acknowledgements not recorded yet (``acks``), and the run's counters to add outcomes to."""

    def __init__(
        self, claimed: list[ClaimedMessage], result: DrainResult, lock: threading.Lock, claimed_at: Any
    ) -> None:
        self.claimed = list(claimed)
        self.unsent = list(claimed)
        self.acks: list[ClaimedMessage] = []
        self.result = result
        self.lock = lock
        self.claimed_at = claimed_at

    def leased_until(self, lease_seconds: float) -> Any:
        """When the batch's leases end (counted from just before the claim or the last renewal)."""
        import datetime as dt

        return self.claimed_at + dt.timedelta(seconds=lease_seconds)

    def count(self, outcome: str) -> None:
        """Add one final outcome to the run's counters."""
        r = self.result
        with self.lock:
            r.attempts += 1
            if outcome == "acknowledged":
                r.acknowledged += 1
            elif outcome == "failed":
                r.failed += 1
            elif outcome == "dead":
                r.dead += 1
            elif outcome == "lease_lost":
                r.lease_lost += 1
            else:
                r.requeued += 1


class _LeaseLost(Exception):
    def __init__(self, ref: str) -> None:
        super().__init__(ref)
