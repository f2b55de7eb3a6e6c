"""``ieb demo``: the main job on loopback, through the same facade as ``ieb serve``.

:func:`run_demo` creates a test PKI, starts the GGk + CAK simulator and an ``ieb serve`` service
(:class:`ieb.exchange.Exchange` -> :class:`ieb.service.Service`: receiver + sender) on free
loopback ports with a SQLite ledger, plans N starts (new periods) with :meth:`Exchange.plan` and queues
them with :meth:`Exchange.queue` (ledger + outbox in one transaction), waits until every message is
answered (retour or Fo01) and returns a :class:`DemoSummary`; :meth:`DemoSummary.as_json` is the
contract of ``ieb demo --json``:
``{"sent", "acknowledged", "retours", "accepted", "rejected", "lost", "duplicates", "seconds"}``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from ieb.simulator.faults import FaultConfig

__all__ = ["GEMEENTE", "SIMULATOR", "DemoSummary", "demo_bsns", "free_port", "run_demo"]

GEMEENTE = "0363"
SIMULATOR = "GGK"


def demo_bsns(count: int, start: int = 999900000) -> list[str]:
    """``count`` test BSNs from the 9999xxxxx range that pass the 11-proef, in order."""
    from ieb.types import bsn_is_valid

    out: list[str] = []
    n = start
    while len(out) < count:
        if n > 999999999:
            raise ValueError(f"de 9999xxxxx-reeks heeft geen {count} test-BSN's")
        candidate = f"{n:09d}"
        if bsn_is_valid(candidate):
            out.append(candidate)
        n += 1
    return out


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for loopback tests and the demo)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class DemoSummary:
    """The demo's result; :meth:`as_json` is the contract of ``ieb demo --json``."""

    sent: int
    acknowledged: int
    retours: int
    accepted: int
    rejected: int
    lost: int
    duplicates: int
    seconds: float
    details: dict[str, Any]

    def as_json(self) -> str:
        """The ``ieb demo --json`` line."""
        return json.dumps(
            {
                "sent": self.sent,
                "acknowledged": self.acknowledged,
                "retours": self.retours,
                "accepted": self.accepted,
                "rejected": self.rejected,
                "lost": self.lost,
                "duplicates": self.duplicates,
                "seconds": round(self.seconds, 3),
            }
        )


def answered(engine: Engine, refs: set[str], *, settled: bool = False) -> tuple[set[str], set[str], int]:
    """(Di01 refs with a stored retour, refs with a Fo01, retours processed more than once); with
    ``settled`` only retours whose processing finished (``processed`` or ``failed``) count."""
    import sqlalchemy as sa

    from ieb.store.schema import inbox as t

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.cross_ref_nummer, t.c.berichtcode, t.c.status).where(
                t.c.berichtcode.in_(("Du01", "Fo01"))
            )
        ).all()
    retours: set[str] = set()
    fo01: set[str] = set()
    processed: dict[str, int] = {}
    for cross, code, status in rows:
        if cross not in refs:
            continue
        if code == "Du01" and status in (
            ("processed", "failed") if settled else ("processed", "failed", "received")
        ):
            retours.add(cross)
            if status == "processed":
                processed[cross] = processed.get(cross, 0) + 1
        elif code == "Fo01":
            fo01.add(cross)
    twice = sum(n - 1 for n in processed.values() if n > 1)
    return retours, fo01, twice


def run_demo(
    count: int,
    *,
    faults: FaultConfig | None = None,
    db: Path | None = None,
    workers: int = 4,
    timeout: float = 600.0,
    progress: bool = False,
    workdir: Path | None = None,
) -> DemoSummary:
    """Run the demo (see the module docstring) and return its summary."""
    from ieb.config import GgkSettings, IebConfig, OrganisatieSettings, ReceiverSettings, RetrySettings
    from ieb.exchange import Exchange
    from ieb.service import Service
    from ieb.simulator.server import SimulatorService
    from ieb.testing.pki import create_test_pki
    from ieb.transport.outbox import Outbox
    from ieb.transport.tls import TlsFiles

    if count < 0:
        raise ValueError("count moet 0 of meer zijn")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ieb-demo-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        pki = create_test_pki(tmp / "pki", [GEMEENTE, SIMULATOR])
        gemeente, ggk = pki.party(GEMEENTE), pki.party(SIMULATOR)
        db_path = db or tmp / "ieb.sqlite"
        receiver_port, simulator_port = free_port(), free_port()
        config = IebConfig(
            database=f"sqlite:///{db_path}",
            gemeenten=[GEMEENTE],
            organisatie=OrganisatieSettings(
                oin=gemeente.oin, cert=gemeente.chain, key=gemeente.key, ca=pki.roots
            ),
            ggk=GgkSettings(
                endpoint=f"https://127.0.0.1:{simulator_port}/ggk0210/OntvangAsynchroon",
                connect_timeout=5.0,
                operation_timeout=10.0,
            ),
            receiver=ReceiverSettings(port=receiver_port, allowed_oins=[ggk.oin], threads=8),
            retry=RetrySettings(
                max_attempts=25,
                attempts_per_claim=3,
                backoff_initial=0.05,
                backoff_max=1.0,
                requeue_initial=0.2,
                requeue_max=5.0,
                lease_seconds=60.0,
                workers=workers,
            ),
        )
        exchange = Exchange(config)
        simulator = SimulatorService(
            db=f"sqlite:///{tmp / 'cak.sqlite'}",
            tls=TlsFiles(ggk.chain, ggk.key, pki.roots),
            callback_url=f"https://127.0.0.1:{receiver_port}/ggk0210/OntvangAsynchroon",
            port=simulator_port,
            allowed_oins={gemeente.oin},
            faults=faults,
            callback_workers=workers,
        ).start()
        service = Service(exchange)
        try:
            service.start()
            today = dt.date.today()
            records = [{"bsn": b, "start": today.replace(day=1).isoformat()} for b in demo_bsns(count)]
            queued = exchange.plan_and_queue(records, today=today)
            service.wake.set()
            refs = {ref for _, _, ref, _ in queued.messages}
            outbox = Outbox(exchange.engine)
            _wait(outbox, exchange.engine, refs, time.monotonic() + timeout, progress)
            retours, fo01, twice = answered(exchange.engine, refs)
            counts = outbox.counts()
            receiver = service.receiver
            assert receiver is not None
            outcomes = receiver.outcomes
            accepted = sum(1 for r in retours if outcomes.get(r) == "accepted")
            sim_stats = simulator.app.stats
            duplicates = sim_stats.cak_duplicates + receiver.duplicates_processed() + twice
            answered_refs = retours | fo01
            seconds = time.monotonic() - started
            details = {
                "outbox": counts,
                "fo01": len(fo01),
                "faults_injected": simulator.app.faults.summary(),
                "simulator_redeliveries": sim_stats.redeliveries,
                "callbacks_duplicated": sim_stats.callbacks_duplicated,
                "cak_verdicts": dict(sim_stats.verdicts),
                "database": str(db_path) if db else None,
            }
            return DemoSummary(
                sent=len(refs),
                acknowledged=counts["acknowledged"],
                retours=len(retours),
                accepted=accepted,
                rejected=len(retours) - accepted + len(fo01 - retours),
                lost=len(refs - answered_refs),
                duplicates=duplicates,
                seconds=seconds,
                details=details,
            )
        finally:
            service.stop()
            simulator.stop()
            exchange.close()


def _wait(outbox: Any, engine: Engine, refs: set[str], deadline: float, show: bool) -> None:
    """Poll until every sent message is answered (retour or Fo01) or the deadline passes."""
    total = len(refs)

    def state() -> tuple[int, int, bool]:
        counts = outbox.counts()
        retours, fo01, _ = answered(engine, refs, settled=True)
        finished = counts["acknowledged"] + counts["failed"] + counts["dead"]
        return finished, len(retours | fo01), counts["pending"] + counts["sending"] == 0

    if not show:
        while time.monotonic() < deadline:
            _, done, empty = state()
            if done >= total and empty:
                return
            time.sleep(0.1)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        sent_task = bar.add_task("bevestigd (Bv03)", total=total)
        retour_task = bar.add_task("beantwoord (retour/Fo01)", total=total)
        while time.monotonic() < deadline:
            finished, done, empty = state()
            bar.update(sent_task, completed=finished)
            bar.update(retour_task, completed=done)
            if done >= total and empty:
                return
            time.sleep(0.2)
