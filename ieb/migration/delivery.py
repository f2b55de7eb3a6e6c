"""The initial delivery: the reconciliation's periods handed to the ledger planner, and queued.

* :func:`desired_state` - the periods in the planner's desired-state form
  (:func:`ieb.ledger.planner.desired_from_records`, docs/ledger.md);
* :func:`plan_initial` - :func:`ieb.ledger.planner.plan` on a ledger (WMO401 per period, WMO403 where
  a stop is known), with the same pre-flight as ``ieb plan``;
* :func:`queue_initial` - plan and put every message in the transport outbox of the same database,
  wrapped in a StUF-GGk Di01, ready for ``ieb send`` / ``ieb serve``.

[I] ``queue_initial`` calls the planner and the outbox directly: the pipeline facade
(``ieb.exchange.Exchange``) was not on main when this was written. It is the one function to switch
to ``Exchange.plan`` + ``Exchange.queue`` (one transaction for plan and queue) once it is; until
then the plan is committed first and the outbox rows in a second transaction (the outbox is
idempotent on the referentienummer, and the planner never plans a recorded message again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
        """Number of queued messages per bericht, e.g. ``{'WMO401': 12, 'WMO403': 3}``."""
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
    gemeenten: Any = None,
) -> Queued:
    """Plan the initial delivery in the ledger at ``db`` (URL or SQLite path) and put every message
    in its outbox (Di01 envelopes to the CAK). Returns the plan and the outbox row ids."""
    from ieb.ggk import build, new_di01
    from ieb.transport.outbox import Outbox, open_ledger

    url = db if "://" in db else f"sqlite:///{db}"
    engine = open_ledger(url)
    try:
        planned = plan_initial(result, engine, afzender, today=today, gemeenten=gemeenten)
        rows: list[dict[str, Any]] = []
        for m in planned.messages:
            di01 = new_di01(m.xml, m.bericht, afzender)
            rows.append(
                {
                    "envelope": build(di01),
                    "referentienummer": di01.referentienummer,
                    "afzender": afzender,
                    "functie": m.bericht,
                    "payload": m.xml,
                    "bericht_identificatie": m.delivery.identificatie,
                }
            )
        ids: Sequence[int] = Outbox(engine).enqueue_many(rows) if rows else []
        return Queued(planned, tuple(ids))
    finally:
        engine.dispose()
