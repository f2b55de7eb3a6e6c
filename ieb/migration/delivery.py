"""The initial delivery: the reconciliation's periods handed to the ledger planner, and queued.

* :func:`desired_state` - the periods in the planner's desired-state form
  (:func:`ieb.ledger.planner.desired_from_records`, docs/ledger.md);
* :func:`plan_initial` - :func:`ieb.ledger.planner.plan` on a ledger (a start record per period, a stop
  where one is known, in the release's messages), with the same pre-flight as ``ieb plan``;
* :func:`queue_initial` - plan and put every message in the transport outbox of the same database,
  wrapped in a StUF-GGk Di01, ready for ``ieb send`` / ``ieb serve``.

``queue_initial`` goes through the pipeline facade (:meth:`ieb.exchange.Exchange.plan_and_queue`):
the ledger deliveries and the outbox envelopes are written in ONE transaction, so a failure leaves
neither. Running it again queues nothing new (the planner never plans a recorded message twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ieb.ledger.planner import Period as DesiredPeriod
from ieb.ledger.planner import Plan, desired_from_records, plan
from ieb.migration.reconcile import Afstemming

__all__ = ["Queued", "desired_state", "plan_initial", "queue_initial"]


def desired_state(result: Afstemming) -> dict[str, list[DesiredPeriod]]:
    """Bsn -> desired periods of the initial delivery."""
    return desired_from_records(result.desired_records(), source="eerste-levering")


def plan_initial(
    result: Afstemming,
    ledger: Any,
    afzender: str,
    *,
    today: dt.date | None = None,
    gemeenten: Any = None,
    record: bool = True,
) -> Plan:
    """Plan the initial delivery on ``ledger`` (an :class:`ieb.ledger.store.Ledger` or engine) for
    gemeente ``afzender``. ``today`` is the Dagtekening (default: the peildatum). Raises
    :class:`ieb.ledger.errors.PlanningError` / ``PreflightError`` and records nothing when any
    person cannot be planned."""
    return plan(
        ledger,
        afzender,
        desired_state(result),
        today=today or result.peildatum,
        gemeenten=gemeenten,
        record=record,
    )


@dataclass(frozen=True)
class Queued:
    """What :func:`queue_initial` did: the plan and the outbox row ids (one per message)."""

    plan: Plan
    outbox_ids: tuple[int, ...]

    @property
    def count(self) -> Mapping[str, int]:
        """Number of queued messages per bericht, e.g. 12 starts and 3 stops in iEb 1.0 (keys: the message names)."""
        counts: dict[str, int] = {}
        for m in self.plan.messages:
            counts[m.bericht] = counts.get(m.bericht, 0) + 1
        return counts


def queue_initial(
    result: Afstemming,
    db: str,
    afzender: str,
    *,
    today: dt.date | None = None,
) -> Queued:
    """Plan the initial delivery in the ledger at ``db`` (SQLAlchemy URL or SQLite path) for gemeente
    ``afzender`` (4 digits) and put every message in its outbox (Di01 envelopes to the CAK), through
    :meth:`ieb.exchange.Exchange.plan_and_queue`: plan, ledger and outbox in one transaction.

    ``today`` is the Dagtekening (default: the peildatum). Returns the plan and the outbox row ids.
    Raises :class:`ieb.ledger.errors.PlanningError` (``.problems``; nothing recorded, nothing queued)
    when a person cannot be planned, :class:`ReconcileError` for a wrong ``afzender`` or a database
    error (then nothing is recorded or queued), and the
    facade's :class:`ieb.errors.IebError` subclasses (``ExchangeError``, ``InputRowError``) otherwise.
    """
    import pydantic
    import sqlalchemy as sa

    from ieb.config import IebConfig
    from ieb.exchange import Exchange
    from ieb.migration.reconcile import ReconcileError
    from ieb.transport.outbox import ledger_tables, open_ledger
    from ieb.types import mask_bsns

    try:
        config = IebConfig(database=db, gemeenten=[afzender])
    except pydantic.ValidationError as exc:
        problems = [str(e.get("msg", "")) for e in exc.errors()]
        raise ReconcileError(f"afzender {afzender[:10]!r} is geen gemeentecode", problems) from None
    engine = open_ledger(config.database_url)
    try:
        try:
            stored = Exchange(config, engine=engine).plan_and_queue(
                result.desired_records(), gemeente=afzender, today=today or result.peildatum
            )
        except sa.exc.SQLAlchemyError as exc:
            reason = mask_bsns(str(getattr(exc, "orig", None) or exc).splitlines()[0])[
                :300
            ]  # masked, then cut
            raise ReconcileError(
                f"de eerste levering kon niet worden klaargezet (database: {reason}); "
                "er is niets gepland en niets in de outbox gezet",
                [reason],
            ) from None
        assert stored.preview is not None
        planned = stored.preview.plans[afzender]
        refs = [ref for _, _, ref, _ in stored.messages]
        outbox = ledger_tables().outbox
        by_ref: dict[str, int] = {}
        with engine.connect() as conn:
            for i in range(0, len(refs), 500):
                chunk = refs[i : i + 500]
                query = sa.select(outbox.c.referentienummer, outbox.c.id).where(
                    outbox.c.referentienummer.in_(chunk)
                )
                by_ref.update({str(r): int(n) for r, n in conn.execute(query)})
        return Queued(planned, tuple(by_ref[r] for r in refs))
    finally:
        engine.dispose()
