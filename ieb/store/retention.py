"""Retention (``ieb opschonen``): remove message contents and logs past the term, keep the ledger.

What is removed, for everything older than the cut-off date (see docs/bewaren.md):

* ``deliveries.payload`` and ``deliveries.retour_payload`` (the XML of a heenbericht and of its
  retour; they hold the Bsn and the dates a second time) of every delivery whose Dagtekening lies
  before the cut-off and that has its outcome. They are set to an EMPTY value, not NULL (a missing
  retour stays NULL): "a retour was received" stays true, so a late duplicate retour is still
  recognised by its IdentificatieRetour;
* ``outbox.payload`` and ``outbox.envelope`` of rows the GGk acknowledged before the cut-off whose
  delivery has its retour (or that carry no delivery);
* ``inbox.envelope`` of processed and duplicate entries received before the cut-off;
* ``audit`` rows before the cut-off (the log).

What is kept, always: every row of ``deliveries`` with its numbers, dates, statuses, outcome and
retourcodes (the history the planner and the history rules read), ``eb_start_nummers`` and
``counters`` (OP290: a number is never used twice), the contents of the newest accepted delivery
per EbStartNummer and bericht (the last accepted state per person, as sent), and everything open:
deliveries waiting for a retour, outbox rows not yet acknowledged or given up (``dead``/``failed``,
they can be requeued), inbox entries that failed or wait to be processed.

The Wlz tables have their own term and command (``ieb wlz opschonen``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.store.schema import audit, deliveries, inbox, outbox

__all__ = ["Opschoning", "opschonen"]


@dataclass(frozen=True)
class Opschoning:
    """What :func:`opschonen` removed (or would remove, ``dry_run``), as counts of rows:
    ``berichten`` deliveries whose contents were emptied, ``bewaard_laatste`` deliveries older than
    the cut-off kept whole as the last accepted state, ``open_bewaard`` older deliveries kept because
    their retour is still missing, ``outbox`` and ``inbox`` rows whose envelope was removed,
    ``audit`` log rows deleted; ``voor``: the cut-off date (everything before it)."""

    voor: dt.date
    berichten: int
    bewaard_laatste: int
    open_bewaard: int
    outbox: int
    inbox: int
    audit: int
    dry_run: bool


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def opschonen(engine: Engine, voor: dt.date, *, dry_run: bool = False) -> Opschoning:
    """Remove what is older than ``voor`` (a date; rows dated before it) as the module docstring
    says, in one transaction; with ``dry_run`` only count. Idempotent: a second run removes
    nothing more. Raises :class:`sqlalchemy.exc.SQLAlchemyError` when the database fails (nothing
    is changed then)."""
    d, o, i, a = deliveries, outbox, inbox, audit
    cutoff = _start_of(voor)
    # the newest accepted delivery per EbStartNummer and bericht: the last accepted state, kept whole
    last = (
        sa.select(sa.func.max(d.c.id))
        .where(d.c.outcome == "accepted")
        .group_by(d.c.afzender, d.c.eb_start_nummer, d.c.bericht)
    )
    old = d.c.dagtekening < voor
    has_content = sa.or_(
        sa.func.length(sa.func.coalesce(d.c.payload, b"")) > 0,
        sa.func.length(sa.func.coalesce(d.c.retour_payload, b"")) > 0,
    )
    done = d.c.outcome != "pending"
    empty_deliveries = sa.and_(old, done, has_content, d.c.id.not_in(last))
    open_delivery = sa.exists().where(
        d.c.afzender == o.c.afzender,
        d.c.identificatie == o.c.bericht_identificatie,
        d.c.outcome == "pending",
    )
    empty_outbox = sa.and_(
        o.c.status == "acknowledged",
        sa.func.coalesce(o.c.acknowledged_at, o.c.updated_at) < cutoff,
        sa.or_(o.c.envelope.is_not(None), o.c.payload.is_not(None)),
        ~open_delivery,
    )
    empty_inbox = sa.and_(
        i.c.status.in_(("processed", "duplicate")), i.c.received_at < cutoff, i.c.envelope.is_not(None)
    )
    old_audit = a.c.at < cutoff

    def count(conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one())

    with engine.begin() as conn:
        n_deliveries = count(conn, d, empty_deliveries)
        kept_last = count(conn, d, sa.and_(old, d.c.id.in_(last)))
        kept_open = count(conn, d, sa.and_(old, ~done))
        n_outbox = count(conn, o, empty_outbox)
        n_inbox = count(conn, i, empty_inbox)
        n_audit = count(conn, a, old_audit)
        if not dry_run:
            emptied = sa.case(
                (d.c.retour_payload.is_(None), sa.null()), else_=sa.literal(b"", sa.LargeBinary)
            )
            conn.execute(
                sa.update(d)
                .where(empty_deliveries)
                .values(payload=sa.literal(b"", sa.LargeBinary), retour_payload=emptied)
            )
            conn.execute(sa.update(o).where(empty_outbox).values(envelope=None, payload=None))
            conn.execute(sa.update(i).where(empty_inbox).values(envelope=None))
            conn.execute(sa.delete(a).where(old_audit))
    return Opschoning(voor, n_deliveries, kept_last, kept_open, n_outbox, n_inbox, n_audit, dry_run)
