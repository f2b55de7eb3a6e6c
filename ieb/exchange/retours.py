"""Retours on the gemeente side: what the receiver stored, retour files, and the ONE inbox replay.

* :meth:`Retours.handle_envelope` - the receiver's handler: a Du01's retour goes into the ledger
  (:func:`ieb.ledger.retour.process_retours`), a Fo01 marks its delivery ``technical``
  (:mod:`ieb.exchange.fo01`).
* :meth:`Retours.process_files` - ``ieb retour FILES``: a file that cannot be processed is kept in
  the inbox as ``failed`` (berichtcode ``bestand``) and does not block the others.
* :meth:`Retours.replay` - the one replay of stored inbox entries: ``received`` ones left by a
  crash between storing and processing (``ieb serve``/``ieb receive`` at start) and ``failed``
  ones after the cause is fixed (``ieb retour --retry``). Each entry is processed by the same
  handler as on arrival and marked (guarded by its old status, so two replays never both mark it),
  with an audit row; a retour (file or Du01) is applied and marked in the one transaction that
  claims its entry, so a concurrent replay or ``--drop-failed`` waits and then finds it marked. Processing is idempotent: a retour applied twice is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import IebError
from ieb.ledger.retour import RetourOutcome, process_retour_paths, process_retours
from ieb.ledger.store import Ledger
from ieb.store.schema import inbox
from ieb.types import mask_bsns

if TYPE_CHECKING:  # the envelope and transport parts are imported where used: `ieb retour FILES`
    # needs none of them (issue 22: start-up)
    from ieb.ggk import Envelope
    from ieb.transport.audit import AuditTrail
    from ieb.transport.server import InboxEntry

__all__ = ["FILE_BERICHTCODE", "ChunkReport", "Dropped", "Replayed", "Retours"]

#: the inbox berichtcode of a retour that came as a file (``ieb retour FILE``), not as a Du01
FILE_BERICHTCODE = "bestand"
#: (referentienummer, new status, the reason when it failed again)
Replayed = tuple[str, str, str | None]
#: (referentienummer, True when it was dropped, what it was: its reason / why it was not dropped)
Dropped = tuple[str, bool, str]
#: ``on_chunk(outcomes, failures)`` of :meth:`Retours.process_files`: one chunk's part of its result
ChunkReport = Callable[[list[RetourOutcome], list[tuple[str, str]]], None]


class Retours:
    """The retour handling of one database. ``engine``/``ledger``: callables giving the exchange's
    (opened on first use); ``on_retour(outcome, codes)`` hears every new outcome (metrics)."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        ledger: Callable[[], Ledger],
        on_retour: Callable[[], Callable[[str, tuple[str, ...]], None] | None],
        today: Callable[[], dt.date | None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._on_retour = on_retour
        #: the rehearsal day retours are judged by (``clock`` / ``ieb serve --vandaag``), None: the real date
        self._today = today

    @classmethod
    def of_engine(cls, engine: Engine) -> Retours:
        """The retour handling of ``engine`` alone: no rehearsal clock and no listener, as an
        :class:`~ieb.exchange.Exchange` without any configuration has it, without loading the
        configuration (``ieb retour FILES --db`` when nothing else can configure the run)."""
        return cls(lambda: engine, lambda: Ledger(engine), lambda: None)

    def handle_envelope(
        self, envelope: Envelope, entry: InboxEntry, *, conn: sa.Connection | None = None
    ) -> str | None:
        """Process what the receiver stored: a Du01's retour into the ledger, a Fo01 marks its
        heenbericht ``technical`` (the GGk refused the envelope). Returns the outcome
        (``accepted``, ``rejected``, ``duplicate``, ``Fo01 <code>``...). Raises on an unreadable retour
        (the receiver then stores the entry as ``failed`` with the reason).

        ``conn``: the receiver's open transaction (a Du01 only): the retour is applied in a
        savepoint of it (:class:`Ledger` joined to ``conn``), so storing, processing and marking
        is one commit. A Fo01 may put its envelope back in the outbox (its own transaction) and
        is refused with ``conn`` (ValueError)."""
        from ieb.exchange.fo01 import mark_technical
        from ieb.ggk import Du01, Fo01
        from ieb.transport.faults import resend_if_transient
        from ieb.transport.outbox import Outbox

        notify = self._on_retour()
        if isinstance(envelope, Du01):
            ledger = self._ledger()
            if conn is not None:
                ledger = Ledger(conn, counted=ledger.counted)
            (first,) = process_retours(
                ledger, [(f"Du01 {envelope.referentienummer}", envelope.payload)], today=self._today()
            )
            if notify is not None and not first.duplicate:
                notify(first.outcome, first.codes)
            return "duplicate" if first.duplicate else first.outcome
        if conn is not None:
            raise ValueError("alleen een Du01 wordt in de transactie van de ontvanger verwerkt")
        if isinstance(envelope, Fo01):
            # issue 21: a TRANSIENT Fo01 (IB103 frozen, ...) sends the same envelope again later
            # and leaves the delivery pending (versioned code tables: ieb.transport.faults)
            cross = envelope.stuurgegevens.cross_refnummer or ""
            if resend_if_transient(Outbox(self._engine()), envelope.body.code, cross):
                if notify is not None:
                    notify("resent", (envelope.body.code,))
                return f"Fo01 {envelope.body.code} opnieuw"
            with self._engine().begin() as conn:
                mark_technical(conn, envelope)
            if notify is not None:
                notify("technical", (envelope.body.code,))
            return f"Fo01 {envelope.body.code}"
        return None

    def process_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        today: dt.date | None = None,
        on_chunk: ChunkReport | None = None,
    ) -> tuple[list[RetourOutcome], list[tuple[str, str]]]:
        """Process retour files one by one (``ieb retour FILES``): a file that cannot be processed
        is stored in the inbox as ``failed`` with its reason and does not block the others.
        Returns (outcomes, [(file, reason)]). The files are applied in chunks, one transaction
        each (:func:`ieb.ledger.retour.process_retour_paths`), with the result of one by one;
        ``on_chunk(outcomes, failures)`` hears each chunk's part once it is committed."""
        return process_retour_paths(
            self._ledger(), paths, today=today, on_failed=self.store_failed_file, on_chunk=on_chunk
        )

    def store_failed_file(self, name: str, data: bytes, reason: str) -> None:
        """Keep a retour file that could not be processed in the inbox (``failed``, ``reason``
        masked), once per content, so :meth:`replay` can try it again."""
        from ieb.transport.inbox import _insert_ignore  # only on this path: `ieb retour` starts light

        ref = "bestand-" + hashlib.sha256(data).hexdigest()[:28]
        now = dt.datetime.now(dt.UTC)
        values = {"status": "failed", "error": mask_bsns(reason)[:2000], "processed_at": now}
        with self._engine().begin() as conn:
            # one INSERT ... ON CONFLICT DO NOTHING, not a SELECT and then an INSERT: two runs keeping
            # the same file at once (PostgreSQL) would both insert, and one fail on the unique key
            # (tests/attack/test_failed_retour_race.py); the row there already gets the new reason
            new = _insert_ignore(
                conn,
                inbox,
                {
                    "referentienummer": ref,
                    "berichtcode": FILE_BERICHTCODE,
                    "functie": "retour",
                    "zender": Path(name).name[:32],
                    "envelope": data,
                    "received_at": now,
                    **values,
                },
            )
            if new is None:
                conn.execute(sa.update(inbox).where(inbox.c.referentienummer == ref).values(**values))

    def _apply(
        self, row: Any, envelope: Envelope | None, today: dt.date | None, conn: sa.Connection | None
    ) -> str | None:
        """Process one stored entry again: a retour file (``envelope`` None) or the unwrapped
        ``envelope``. ``conn``: the replay's open transaction, for a retour (file or Du01) only: it
        is applied in a savepoint of it (:class:`Ledger` joined to ``conn``)."""
        from ieb.transport.server import InboxEntry

        if envelope is None:
            ledger = self._ledger()
            if conn is not None:
                ledger = Ledger(conn, counted=ledger.counted)
            (first,) = process_retours(
                ledger, [(row.zender or row.referentienummer, bytes(row.envelope))], today=today
            )
            return "duplicate" if first.duplicate else first.outcome
        entry = InboxEntry(
            int(row.id),
            row.referentienummer,
            row.cross_ref_nummer,
            row.berichtcode,
            row.functie,
            row.peer_oin,
        )
        return self.handle_envelope(envelope, entry, conn=conn)

    def replay(
        self,
        statuses: Sequence[str] = ("failed",),
        *,
        today: dt.date | None = None,
        on_each: Callable[[Replayed], None] | None = None,
    ) -> list[Replayed]:
        """Process again every inbox entry whose status is in ``statuses`` (``received``: left by a
        crash; ``failed``: after the cause is fixed), oldest first. Returns per entry
        (referentienummer, ``processed`` or ``failed``, the masked reason when it failed);
        ``on_each`` gets each of them as soon as the entry is marked (committed), so a caller
        stopped half-way has reported what was done. An unusable database is raised (entries keep
        their status); any other error marks the entry ``failed`` with its reason."""
        from ieb.ggk import Du01
        from ieb.ggk.soap import unwrap_soap
        from ieb.transport.audit import AuditTrail
        from ieb.transport.server import PROCESSED

        engine = self._engine()
        audit = AuditTrail(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(inbox).where(inbox.c.status.in_(list(statuses))).order_by(inbox.c.id)
            ).all()
        out: list[Replayed] = []
        for row in rows:
            error: str | None = None
            outcome: str | None = None
            envelope: Envelope | None = None
            try:
                if row.berichtcode != FILE_BERICHTCODE:
                    envelope = unwrap_soap(bytes(row.envelope))
            except Exception as exc:  # noqa: BLE001 - an unreadable envelope fails the entry, as before
                error = _reason(exc)
            # a retour (file or Du01) is applied and marked in ONE transaction that first claims the
            # entry (guarded by its status): a concurrent replay or `--drop-failed` waits for it and
            # then finds it marked (before, a drop between the apply and the mark removed an entry
            # whose retour was just applied: tests/attack/test_drop_failed_during_retry.py). A Fo01
            # may put its envelope back in the outbox in a transaction of its own: applied before.
            joined = error is None and (envelope is None or isinstance(envelope, Du01))
            if error is None and not joined:
                outcome, error = self._try(row, envelope, today, None)
            with engine.begin() as conn:
                claimed = conn.execute(
                    sa.update(inbox)
                    .where(inbox.c.id == row.id, inbox.c.status == row.status)
                    .values(status=row.status)
                ).rowcount
                if not claimed:  # marked or dropped by another command in the meantime
                    continue
                if joined:
                    outcome, error = self._try(row, envelope, today, conn)
                status = "failed" if error else "processed"
                conn.execute(
                    sa.update(inbox)
                    .where(inbox.c.id == row.id)
                    .values(status=status, error=error, processed_at=dt.datetime.now(dt.UTC))
                )
                _record(
                    audit,
                    row,
                    outcome if outcome is not None and not error else status,
                    error or PROCESSED,
                    conn,
                )
            out.append((row.referentienummer, status, error))
            if on_each is not None:
                on_each(out[-1])
        return out

    def _try(
        self, row: Any, envelope: Envelope | None, today: dt.date | None, conn: sa.Connection | None
    ) -> tuple[str | None, str | None]:
        """(outcome, None) of :meth:`_apply`, or (None, the masked reason) when it raised; with
        ``conn`` in a savepoint, so a failure leaves the transaction usable for the mark. An
        unusable database is raised."""
        from ieb.transport.outbox import database_unavailable

        try:
            if conn is None:
                return self._apply(row, envelope, today, None), None
            with conn.begin_nested():
                return self._apply(row, envelope, today, conn), None
        except Exception as exc:
            if database_unavailable(exc):
                raise
            return None, _reason(exc)

    def drop_failed(self, referentienummers: Sequence[str]) -> list[Dropped]:
        """Take these ``failed`` inbox entries out of the inbox for good (``ieb retour --drop-failed``):
        a retour that can never be applied (broken XML, a foreign file) is otherwise tried again by
        every ``--retry-failed``. Each entry is deleted only while it is still ``failed`` (guarded
        in the DELETE; a replay applies and marks a retour in one transaction that claims its entry
        first, so a drop waits for it and is not taken past it) and the deletion is audited in the
        same transaction (direction ``in``, outcome ``dropped``, its berichtcode, and as detail its
        reason, size and SHA-256, so what was dropped can be told later). A referentienummer with
        ``*`` is also taken as ``ieb status`` shows one (BSN-like runs masked: :func:`mask_bsns`):
        it drops the one failed entry shown so, and none when it fits several. Returns per referentienummer
        in the given order (each once): ``(ref, True, its masked reason)``, or ``(ref, False, why
        not)`` when there is no such entry or it is not ``failed`` (nothing changed then)."""
        from ieb.transport.audit import AuditTrail

        engine = self._engine()
        audit = AuditTrail(engine)
        out: list[Dropped] = []
        for ref in dict.fromkeys(referentienummers):
            with engine.begin() as conn:
                row = conn.execute(sa.select(inbox).where(inbox.c.referentienummer == ref)).first()
                if row is None and "*" in ref:  # as `ieb status` shows it: BSN-like runs masked
                    ids = [
                        r.id
                        for r in conn.execute(
                            sa.select(inbox.c.id, inbox.c.referentienummer).where(inbox.c.status == "failed")
                        )
                        if mask_bsns(r.referentienummer) == ref
                    ]
                    if len(ids) > 1:
                        out.append(
                            (
                                ref,
                                False,
                                f"past bij {len(ids)} mislukte retouren (gemaskeerd); geef het volledige nummer",
                            )
                        )
                        continue
                    if ids:
                        row = conn.execute(sa.select(inbox).where(inbox.c.id == ids[0])).first()
                if row is None:
                    out.append((ref, False, "staat niet in de inbox"))
                    continue
                if row.status != "failed":
                    out.append((ref, False, f"is niet mislukt (status {row.status})"))
                    continue
                gone = conn.execute(
                    sa.delete(inbox).where(inbox.c.id == row.id, inbox.c.status == "failed")
                ).rowcount
                if not gone:  # changed in between: marked by a replay, or dropped by another run
                    now = conn.execute(sa.select(inbox.c.status).where(inbox.c.id == row.id)).scalar()
                    out.append(
                        (
                            ref,
                            False,
                            "is net door een andere opdracht weggehaald"
                            if now is None
                            else f"is net door een andere opdracht verwerkt (status {now})",
                        )
                    )
                    continue
                data = bytes(row.envelope or b"")
                reason = mask_bsns(row.error or "")
                _record(
                    audit,
                    row,
                    "dropped",
                    f"weggehaald (ieb retour --drop-failed): {reason}; {len(data)} bytes, "
                    f"sha256 {hashlib.sha256(data).hexdigest()}",
                    conn,
                )
            out.append((ref, True, reason))
        return out


def _record(audit: AuditTrail, row: Any, outcome: str, detail: str, conn: sa.Connection) -> None:
    """The audit row of what happened to inbox entry ``row`` (a replay's outcome, a drop), in
    ``conn``'s transaction."""
    audit.record(
        "in",
        row.berichtcode or FILE_BERICHTCODE,
        referentienummer=row.referentienummer,
        cross_ref_nummer=row.cross_ref_nummer,
        functie=row.functie,
        outcome=outcome,
        detail=detail,
        conn=conn,
    )


def _reason(exc: Exception) -> str:
    """The masked reason an entry failed with (an :class:`IebError`'s text, else type and text)."""
    return mask_bsns(str(exc) if isinstance(exc, IebError) else f"{type(exc).__name__}: {exc}")[:2000]
