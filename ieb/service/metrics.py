"""Prometheus metrics of ``ieb serve`` (prometheus_client), served at ``/metrics``.

============================================  =====================================================
metric                                        meaning
============================================  =====================================================
``ieb_outbox_messages{status}``               outbox rows per status (pending, sending, ...), read
                                              from the database at every scrape (all processes)
``ieb_outbox_oldest_open_seconds``            age of the oldest pending/sending row
``ieb_inbox_failed``                          inbox entries that could not be processed
``ieb_deliveries{outcome}``                   ledger deliveries per outcome
``ieb_sends_total{outcome}``                  sends by this process: acknowledged, failed, dead,
                                              pending (retry later), permanent, lease_lost
``ieb_send_failures_total{kind}``             failed send attempts: transient, permanent, fo03
``ieb_retours_total{outcome,code}``           retouren (and Fo01) processed by this process
============================================  =====================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ieb.store.schema import deliveries, inbox, outbox

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _DatabaseCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:

        with self.engine.connect() as conn:
            counts = dict.fromkeys(("pending", "sending", "acknowledged", "failed", "dead"), 0)
            counts.update(
                {
                    str(s): int(n)
                    for s, n in conn.execute(
                        sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
                    )
                }
            )
            oldest = conn.execute(
                sa.select(sa.func.min(outbox.c.created_at)).where(outbox.c.status.in_(("pending", "sending")))
            ).scalar()
            failed = conn.execute(
                sa.select(sa.func.count()).select_from(inbox).where(inbox.c.status == "failed")
            ).scalar_one()
            outcomes = {
                str(o): int(n)
                for o, n in conn.execute(
                    sa.select(deliveries.c.outcome, sa.func.count()).group_by(deliveries.c.outcome)
                )
            }
        g = GaugeMetricFamily("ieb_outbox_messages", "Outbox rows per status", labels=["status"])
        for status, n in sorted(counts.items()):
            g.add_metric([status], n)
        yield g
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            age = max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())
        yield GaugeMetricFamily(
            "ieb_outbox_oldest_open_seconds", "Age of the oldest open outbox row", value=age
        )
        yield GaugeMetricFamily("ieb_inbox_failed", "Inbox entries that could not be processed", value=failed)
        d = GaugeMetricFamily("ieb_deliveries", "Ledger deliveries per outcome", labels=["outcome"])
        for outcome in ("pending", "accepted", "rejected", "technical", "not_assessed"):
            d.add_metric([outcome], outcomes.get(outcome, 0))
        yield d


class Metrics:
    """The metrics of one ``ieb serve`` process (own registry, so tests can run several)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.sends = Counter("ieb_sends", "Sends by outcome", ["outcome"], registry=self.registry)
        self.failures = Counter("ieb_send_failures", "Failed sends by kind", ["kind"], registry=self.registry)
        self.retours = Counter(
            "ieb_retours",
            "Retouren processed by outcome and code",
            ["outcome", "code"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(engine))

    def on_send(self, outcome: str, reason: str | None) -> None:
        """Count a finished send by outcome, and a failure by kind."""
        self.sends.labels(outcome=outcome).inc()
        if outcome == "failed" and reason and reason.startswith("Fo03"):
            self.failures.labels(kind="fo03").inc()
        elif outcome == "permanent":
            self.failures.labels(kind="permanent").inc()
        elif outcome in ("pending", "dead"):
            self.failures.labels(kind="transient").inc()

    def on_retour(self, outcome: str, codes: tuple[str, ...]) -> None:
        """Count a processed retour (or Fo01) per outcome and code."""
        for code in codes or ("-",):
            self.retours.labels(outcome=outcome, code=code).inc()

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
