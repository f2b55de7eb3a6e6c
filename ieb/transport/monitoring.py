"""Operational signals of the transport for Prometheus (issue 21 item 5), read from the database at
every scrape, so every process sharing one database reports the same figures.

=================================================  ================================================
metric                                             meaning
=================================================  ================================================
``ieb_outbox_open{gemeente}``                      pending + sending rows per Afzender
``ieb_outbox_waiting{gemeente}``                   pending rows that wait for an earlier message of
                                                   the same person (per-person order)
``ieb_outbox_failed{gemeente}``                    failed + dead rows per Afzender
``ieb_oldest_without_retour_seconds{gemeente}``    age of the oldest acknowledged message whose
                                                   delivery still has no retour
``ieb_send_retries_total{code}``                   transient failures of this process by fault
                                                   code (``-`` without one: timeouts, connections)
=================================================  ================================================

:class:`TransportCollector` is registered by ``ieb serve`` next to its own metrics; the retry
counter is fed by :meth:`TransportCollector.on_result` (a sender ``on_result`` hook).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from ieb.store.schema import deliveries, outbox
from ieb.transport.outbox import Outbox

__all__ = ["TransportCollector"]

_CODE = re.compile(r"^\[([A-Za-z0-9]{2,12})\]")


class TransportCollector(Collector):
    """The metrics of the module docstring for the outbox in ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._retries: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_result(self, outcome: str, reason: str | None) -> None:
        """Count one transient failure (outcome ``pending`` or ``dead``) by its fault code."""
        if outcome not in ("pending", "dead"):
            return
        found = _CODE.match(reason or "")
        with self._lock:
            self._retries[found.group(1) if found else "-"] += 1

    def collect(self) -> Iterator[Any]:
        """Read the figures (one connection, four grouped queries)."""
        o, d = outbox, deliveries
        now = dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            per = conn.execute(
                sa.select(o.c.afzender, o.c.status, sa.func.count()).group_by(o.c.afzender, o.c.status)
            ).all()
            oldest = conn.execute(
                sa.select(o.c.afzender, sa.func.min(o.c.acknowledged_at))
                .join(
                    d, sa.and_(d.c.afzender == o.c.afzender, d.c.identificatie == o.c.bericht_identificatie)
                )
                .where(o.c.status == "acknowledged", d.c.outcome == "pending")
                .group_by(o.c.afzender)
            ).all()
        waiting: Counter[str] = Counter()
        box = Outbox(self.engine)
        refs = [ref for ref, _ in box.waiting(limit=100_000)]
        if refs:
            with self.engine.connect() as conn:
                for k in range(0, len(refs), 500):
                    for afzender, n in conn.execute(
                        sa.select(o.c.afzender, sa.func.count())
                        .where(o.c.referentienummer.in_(refs[k : k + 500]))
                        .group_by(o.c.afzender)
                    ):
                        waiting[str(afzender or "-")] += int(n)
        open_ = GaugeMetricFamily(
            "ieb_outbox_open", "Pending and sending outbox rows per gemeente", labels=["gemeente"]
        )
        failed = GaugeMetricFamily(
            "ieb_outbox_failed", "Failed and dead outbox rows per gemeente", labels=["gemeente"]
        )
        opens: Counter[str] = Counter()
        fails: Counter[str] = Counter()
        for afzender, status, n in per:
            g = str(afzender or "-")
            if status in ("pending", "sending"):
                opens[g] += int(n)
            elif status in ("failed", "dead"):
                fails[g] += int(n)
            opens.setdefault(g, 0)
            fails.setdefault(g, 0)
        for g in sorted(opens):
            open_.add_metric([g], opens[g])
            failed.add_metric([g], fails[g])
        yield open_
        yield failed
        wait = GaugeMetricFamily(
            "ieb_outbox_waiting",
            "Pending rows waiting for an earlier message of the same person",
            labels=["gemeente"],
        )
        for g in sorted(set(opens) | set(waiting)):
            wait.add_metric([g], waiting.get(g, 0))
        yield wait
        age = GaugeMetricFamily(
            "ieb_oldest_without_retour_seconds",
            "Age of the oldest acknowledged message without a retour",
            labels=["gemeente"],
        )
        for afzender, at in oldest:
            if at is None:
                continue
            if at.tzinfo is None:
                at = at.replace(tzinfo=dt.UTC)
            age.add_metric([str(afzender or "-")], max(0.0, (now - at).total_seconds()))
        yield age
        retries = CounterMetricFamily(
            "ieb_send_retries", "Transient send failures by fault code", labels=["code"]
        )
        with self._lock:
            for code, n in sorted(self._retries.items()):
                retries.add_metric([code], n)
        yield retries
