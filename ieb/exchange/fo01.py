"""Fo01 bookkeeping: the GGk refused an envelope, so its delivery is ``technical`` until requeued.

A Fo01 (StUF foutbericht from the Digikoppeling adapter) answers the envelope whose
referentienummer is its crossRefnummer; the outbox row of that envelope names the delivery
(Afzender + BerichtIdentificatie). :func:`mark_technical` records the refusal on the pending
delivery; :func:`reopen_technical` makes it pending again when the envelope is put back in the
outbox (``ieb requeue``). Both work in the caller's transaction; nothing here names a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ieb.exchange.errors import ExchangeError
from ieb.store.schema import deliveries, outbox

__all__ = ["mark_technical", "reopen_technical"]


def mark_technical(conn: Connection, fo01: Any, *, now: dt.datetime | None = None) -> None:
    """Mark the pending delivery of the envelope ``fo01`` answers as ``technical`` with the Fo01's
    code and text. ``fo01``: an :class:`ieb.ggk.Fo01`. Raises :class:`ExchangeError`
    (``UNKNOWN_FO01``) when no outbox row has the crossRefnummer."""
    cross = fo01.stuurgegevens.cross_refnummer
    row = conn.execute(
        sa.select(outbox.c.afzender, outbox.c.bericht_identificatie).where(outbox.c.referentienummer == cross)
    ).first()
    if row is None or row.bericht_identificatie is None:
        raise ExchangeError(f"Fo01 op onbekend heenbericht {cross}", code="UNKNOWN_FO01")
    conn.execute(
        sa.update(deliveries)
        .where(
            deliveries.c.afzender == row.afzender,
            deliveries.c.identificatie == row.bericht_identificatie,
            deliveries.c.outcome == "pending",
        )
        .values(
            outcome="technical",
            retour_codes=fo01.body.code,
            detail=f"Fo01 {fo01.body.code}: {fo01.body.omschrijving}"[:500],
            retour_at=now or dt.datetime.now(dt.UTC),
        )
    )


def reopen_technical(conn: Connection, referentienummers: Sequence[str]) -> None:
    """The deliveries of these (requeued) outbox rows that a Fo01 made ``technical`` and that have
    no retour become ``pending`` again."""
    if not referentienummers:
        return
    rows = conn.execute(
        sa.select(outbox.c.afzender, outbox.c.bericht_identificatie).where(
            outbox.c.referentienummer.in_(list(referentienummers))
        )
    ).all()
    for r in rows:
        conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.afzender == r.afzender,
                deliveries.c.identificatie == r.bericht_identificatie,
                deliveries.c.outcome == "technical",
                deliveries.c.retour_payload.is_(None),
            )
            .values(outcome="pending", retour_codes=None, detail="opnieuw in de wachtrij")
        )
