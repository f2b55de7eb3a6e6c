"""The ledger store: deliveries with their outcome, number allocation, and history views.

Every method that changes something takes a :class:`sqlalchemy.Connection` inside a transaction
(``with ledger.engine.begin() as conn: ...``) so callers combine several changes atomically; the
high-level functions (planner, retour processing, the CAK side) each use one transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ieb.ledger.db import open_database
from ieb.ledger.history import Delivery, MemoryHistory, PeriodState
from ieb.ledger.schema import counters, deliveries, eb_start_nummers

__all__ = ["COUNTED_CAK", "COUNTED_GEMEENTE", "DeliveryRow", "Ledger"]

#: outcomes that make up the history on the municipality's side: accepted and not yet answered
COUNTED_GEMEENTE = ("accepted", "pending")
#: outcomes that make up the history on the CAK side: accepted only
COUNTED_CAK = ("accepted",)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as stored, with its outcome."""

    id: int
    delivery: Delivery
    outcome: str
    retour_codes: tuple[str, ...]
    source: str | None
    detail: str | None
    created_at: dt.datetime | None
    retour_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.bericht,
        row.afzender,
        row.identificatie,
        row.dagtekening,
        row.bsn,
        row.eb_start_nummer,
        row.status,
        row.datum,
        row.kostprijs_bedrag,
        row.kostprijs_startdatum,
    )


def _row(row: Any) -> DeliveryRow:
    return DeliveryRow(
        row.id,
        _delivery(row),
        row.outcome,
        tuple(row.retour_codes.split()) if row.retour_codes else (),
        row.source,
        row.detail,
        row.created_at,
        row.retour_at,
    )


class Ledger:
    """A ledger on one database. ``counted`` are the outcomes that form the history the rules see."""

    def __init__(self, engine: Engine, *, counted: Sequence[str] = COUNTED_GEMEENTE) -> None:
        self.engine = engine
        self.counted = tuple(counted)

    @classmethod
    def open(
        cls, url: str | os.PathLike[str] | None = None, *, counted: Sequence[str] = COUNTED_GEMEENTE
    ) -> Ledger:
        return cls(open_database(url), counted=counted)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sequences

    @staticmethod
    def next_value(conn: Connection, scope: str, kind: str, floor: int = 0) -> int:
        """The next value of a sequence (``floor`` + 1 for a new one); safe with concurrent writers."""
        stmt = (
            sa.update(counters)
            .where(counters.c.scope == scope, counters.c.kind == kind)
            .values(last_value=counters.c.last_value + 1)
            .returning(counters.c.last_value)
        )
        for _ in range(3):
            value = conn.execute(stmt).scalar()
            if value is not None:
                return int(value)
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(counters).values(scope=scope, kind=kind, last_value=floor + 1))
                return floor + 1
            except sa.exc.IntegrityError:
                continue  # a concurrent writer created it first: the UPDATE now finds it
        raise RuntimeError(f"counter {scope}/{kind} could not be allocated")  # pragma: no cover

    def allocate_eb_start_nummer(self, conn: Connection, afzender: str, bsn: str) -> int:
        """A new EbStartNummer, unique within the gemeente (OP290), registered for ``bsn``."""
        floor = conn.execute(
            sa.select(sa.func.max(deliveries.c.eb_start_nummer)).where(deliveries.c.afzender == afzender)
        ).scalar()
        nummer = self.next_value(conn, afzender, "eb_start_nummer", int(floor or 0))
        conn.execute(sa.insert(eb_start_nummers).values(afzender=afzender, eb_start_nummer=nummer, bsn=bsn))
        return nummer

    def next_identificatie(self, conn: Connection, afzender: str) -> str:
        """A new BerichtIdentificatie.Identificatie for ``afzender`` (a number, at most 12 digits)."""
        return str(self.next_value(conn, afzender, "identificatie"))

    # ------------------------------------------------------------ deliveries

    def add(
        self,
        conn: Connection,
        delivery: Delivery,
        *,
        outcome: str,
        payload: bytes | None = None,
        source: str | None = None,
        retour_codes: Iterable[str] = (),
        detail: str | None = None,
    ) -> int:
        codes = " ".join(retour_codes)
        result = conn.execute(
            sa.insert(deliveries)
            .values(
                afzender=delivery.afzender,
                identificatie=delivery.identificatie,
                dagtekening=delivery.dagtekening,
                bericht=delivery.bericht,
                bsn=delivery.bsn,
                eb_start_nummer=delivery.eb_start_nummer,
                status=delivery.status,
                datum=delivery.datum,
                kostprijs_bedrag=delivery.kostprijs_bedrag,
                kostprijs_startdatum=delivery.kostprijs_startdatum,
                payload=payload,
                source=source,
                outcome=outcome,
                retour_codes=codes or None,
                detail=detail,
                created_at=_now(),
            )
            .returning(deliveries.c.id)
        )
        return int(result.scalar_one())

    def find(self, conn: Connection, afzender: str, identificatie: str, dagtekening: dt.date) -> Any | None:
        """The stored row of the heenbericht with this BerichtIdentificatie, or None."""
        return conn.execute(
            sa.select(deliveries).where(
                deliveries.c.afzender == afzender,
                deliveries.c.identificatie == identificatie,
                deliveries.c.dagtekening == dagtekening,
            )
        ).first()

    def set_retour(
        self,
        conn: Connection,
        delivery_id: int,
        *,
        outcome: str,
        codes: Iterable[str],
        identificatie: str | None,
        dagtekening: dt.date | None,
        payload: bytes | None,
        source: str | None,
        detail: str | None = None,
    ) -> None:
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                outcome=outcome,
                retour_codes=" ".join(codes) or None,
                retour_identificatie=identificatie,
                retour_dagtekening=dagtekening,
                retour_payload=payload,
                retour_source=source,
                retour_at=_now(),
                detail=detail,
            )
        )

    def history(
        self, conn: Connection, afzender: str, *, bsn: str | None = None, nummers: Iterable[int] = ()
    ) -> MemoryHistory:
        """The counted deliveries relevant to ``bsn`` and/or ``nummers`` (including the stops of the
        Bsn's starts), in the order they were stored."""
        nums = set(nummers)
        base = sa.select(deliveries).where(
            deliveries.c.afzender == afzender, deliveries.c.outcome.in_(self.counted)
        )
        if bsn is not None:
            nums |= set(
                conn.execute(
                    sa.select(deliveries.c.eb_start_nummer)
                    .where(
                        deliveries.c.afzender == afzender,
                        deliveries.c.bsn == bsn,
                        deliveries.c.outcome.in_(self.counted),
                    )
                    .distinct()
                ).scalars()
            )
        if not nums:
            return MemoryHistory()
        rows = conn.execute(
            base.where(deliveries.c.eb_start_nummer.in_(sorted(nums))).order_by(deliveries.c.id)
        )
        return MemoryHistory(_delivery(r) for r in rows)

    def full_history(self, conn: Connection, afzender: str | None = None) -> MemoryHistory:
        stmt = sa.select(deliveries).where(deliveries.c.outcome.in_(self.counted)).order_by(deliveries.c.id)
        if afzender is not None:
            stmt = stmt.where(deliveries.c.afzender == afzender)
        return MemoryHistory(_delivery(r) for r in conn.execute(stmt))

    def rows(
        self,
        conn: Connection,
        *,
        afzender: str | None = None,
        bsn: str | None = None,
        outcomes: Sequence[str] | None = None,
    ) -> list[DeliveryRow]:
        stmt = sa.select(deliveries).order_by(deliveries.c.id)
        if afzender is not None:
            stmt = stmt.where(deliveries.c.afzender == afzender)
        if bsn is not None:
            stmt = stmt.where(deliveries.c.bsn == bsn)
        if outcomes is not None:
            stmt = stmt.where(deliveries.c.outcome.in_(outcomes))
        return [_row(r) for r in conn.execute(stmt)]

    def afzenders(self, conn: Connection) -> list[str]:
        return list(
            conn.execute(
                sa.select(deliveries.c.afzender).distinct().order_by(deliveries.c.afzender)
            ).scalars()
        )

    def periods(self, afzender: str | None = None) -> dict[tuple[str, str], list[PeriodState]]:
        """The current periods per (afzender, bsn) as the counted history has them."""
        out: dict[tuple[str, str], list[PeriodState]] = {}
        with self.engine.connect() as conn:
            for afz in [afzender] if afzender else self.afzenders(conn):
                history = self.full_history(conn, afz)
                for bsn in history.bsns(afz):
                    periods = history.periods_of(afz, bsn)
                    if periods:
                        out[(afz, bsn)] = periods
        return out
