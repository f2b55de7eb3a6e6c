"""``ieb send``, ``ieb receive``, ``ieb simulate serve`` and ``ieb demo``: StUF-GGk over mutual TLS.

``ieb demo`` is the main job: it starts the GGk + CAK simulator and the gemeente's receiver on
loopback with a fresh test PKI and a SQLite database, plans and sends N start messages (WMO401)
through the durable outbox, waits until every retour has arrived, and prints a summary; with
``--json`` the last line on stdout is exactly
``{"sent", "acknowledged", "retours", "accepted", "rejected", "lost", "duplicates", "seconds"}``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from ieb.ggk import Envelope
    from ieb.simulator.faults import FaultConfig
    from ieb.transport.server import InboxEntry
    from ieb.transport.tls import TlsFiles

__all__ = ["DemoSummary", "demo_bsns", "register", "run_demo"]

log = logging.getLogger("ieb.cli.transport")

GEMEENTE = "0363"
SIMULATOR = "GGK"


def _setup_logging(verbose: bool) -> None:
    from ieb.transport.audit import install_bsn_masking

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("ieb.audit").setLevel(logging.INFO if verbose else logging.WARNING)
    # cheroot reports dropped connections (our own fault injection) at ERROR; keep them quiet.
    logging.getLogger("cheroot").setLevel(logging.CRITICAL)
    install_bsn_masking(root)


def _tls(cert: Path, key: Path, ca: Path) -> TlsFiles:
    from ieb.transport.tls import TlsFiles

    return TlsFiles(cert=cert, key=key, ca=ca)


# ------------------------------------------------------------------------------------------ demo


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


def _retour_handler(engine: Engine) -> Any:
    from ieb.ggk import Du01, Fo01
    from ieb.ledger.retour import process_retours
    from ieb.ledger.store import Ledger

    ledger = Ledger(engine)

    def handle(envelope: Envelope, entry: InboxEntry) -> str | None:
        if isinstance(envelope, Du01):
            results = process_retours(ledger, [(f"Du01 {envelope.referentienummer}", envelope.payload)])
            first = results[0]
            return "duplicate" if first.duplicate else first.outcome
        if isinstance(envelope, Fo01):
            return f"Fo01 {envelope.body.code}"
        return None

    return handle


def _answered(engine: Engine, refs: set[str]) -> tuple[set[str], set[str], int]:
    """(Di01 refs with a stored retour, refs with a Fo01, retours processed more than once)."""
    import sqlalchemy as sa

    from ieb.transport.outbox import ledger_tables

    t = ledger_tables().inbox
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
        if code == "Du01" and status in ("processed", "failed", "received"):
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
    from ieb.ggk import build, new_di01
    from ieb.ledger.planner import Period, plan
    from ieb.simulator.server import SimulatorService
    from ieb.transport.client import GgkClient
    from ieb.transport.outbox import Outbox, RetryPolicy, Sender, open_ledger
    from ieb.transport.pki import create_test_pki
    from ieb.transport.server import HttpsServer, Receiver
    from ieb.transport.tls import TlsFiles

    if count < 0:
        raise ValueError("count moet 0 of meer zijn")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ieb-demo-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        pki = create_test_pki(tmp / "pki", [GEMEENTE, SIMULATOR])
        gemeente, ggk = pki.party(GEMEENTE), pki.party(SIMULATOR)
        gemeente_tls = TlsFiles(gemeente.chain, gemeente.key, pki.roots)
        ggk_tls = TlsFiles(ggk.chain, ggk.key, pki.roots)
        db_path = db or tmp / "ieb.sqlite"
        engine = open_ledger(f"sqlite:///{db_path}")
        receiver = Receiver(
            engine, organisatie=GEMEENTE, allowed_oins={ggk.oin}, handler=_retour_handler(engine)
        )
        receiver_server = HttpsServer(receiver, gemeente_tls, threads=8).start()
        simulator = SimulatorService(
            db=f"sqlite:///{tmp / 'cak.sqlite'}",
            tls=ggk_tls,
            callback_url=receiver_server.url,
            allowed_oins={gemeente.oin},
            faults=faults,
            callback_workers=workers,
        ).start()
        client = GgkClient(
            simulator.url, tls=gemeente_tls, connect_timeout=5.0, operation_timeout=10.0, pool_maxsize=workers
        )
        try:
            today = dt.date.today()
            bsns = demo_bsns(count)
            planned = plan(
                engine, GEMEENTE, {b: [Period(start=today.replace(day=1))] for b in bsns}, today=today
            )
            outbox = Outbox(engine, lease_seconds=60.0)
            rows: list[dict[str, Any]] = []
            for m in planned.messages:
                di01 = new_di01(m.xml, m.bericht, GEMEENTE)
                rows.append(
                    {
                        "envelope": build(di01),
                        "referentienummer": di01.referentienummer,
                        "afzender": GEMEENTE,
                        "functie": m.bericht,
                        "payload": m.xml,
                        "bericht_identificatie": m.delivery.identificatie,
                    }
                )
            outbox.enqueue_many(rows)
            refs = {str(r["referentienummer"]) for r in rows}
            sender = Sender(
                outbox,
                client.send,
                policy=RetryPolicy(
                    max_attempts=25,
                    attempts_per_claim=3,
                    backoff_initial=0.05,
                    backoff_max=1.0,
                    requeue_initial=0.2,
                    requeue_max=5.0,
                ),
            )
            drain = threading.Thread(
                target=sender.drain, kwargs={"workers": workers, "timeout": timeout}, name="ieb-demo-sender"
            )
            drain.start()
            deadline = time.monotonic() + timeout
            _wait(outbox, engine, refs, drain, deadline, progress)
            drain.join(timeout=max(0.0, deadline - time.monotonic()))
            sender.stop()
            drain.join(timeout=30)
            retours, fo01, twice = _answered(engine, refs)
            counts = outbox.counts()
            outcomes = receiver.outcomes
            accepted = sum(1 for r in retours if outcomes.get(r) == "accepted")
            sim_stats = simulator.app.stats
            duplicates = sim_stats.cak_duplicates + receiver.duplicates_processed() + twice
            answered = retours | fo01
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
                sent=len(rows),
                acknowledged=counts["acknowledged"],
                retours=len(retours),
                accepted=accepted,
                rejected=len(retours) - accepted + len(fo01 - retours),
                lost=len(refs - answered),
                duplicates=duplicates,
                seconds=seconds,
                details=details,
            )
        finally:
            client.close()
            simulator.stop()
            receiver_server.stop()
            engine.dispose()


def _wait(
    outbox: Any, engine: Engine, refs: set[str], drain: threading.Thread, deadline: float, show: bool
) -> None:
    """Poll until every sent message is answered (retour or Fo01) or the deadline passes."""
    total = len(refs)

    def state() -> tuple[int, int, bool]:
        counts = outbox.counts()
        retours, fo01, _ = _answered(engine, refs)
        finished = counts["acknowledged"] + counts["failed"] + counts["dead"]
        return finished, len(retours | fo01), counts["pending"] + counts["sending"] == 0

    if not show:
        while time.monotonic() < deadline:
            finished, answered, empty = state()
            if answered >= total and empty:
                return
            time.sleep(0.1)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        sent_task = bar.add_task("bevestigd (Bv03)", total=total)
        retour_task = bar.add_task("beantwoord (retour/Fo01)", total=total)
        while time.monotonic() < deadline:
            finished, answered, empty = state()
            bar.update(sent_task, completed=finished)
            bar.update(retour_task, completed=answered)
            if answered >= total and empty:
                return
            time.sleep(0.2)


def _print_summary(summary: DemoSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ieb demo: gemeente 0363 -> GGk -> CAK -> gemeente", show_header=True)
    table.add_column("wat")
    table.add_column("aantal", justify="right")
    rows = [
        ("verstuurd (Di01)", summary.sent),
        ("bevestigd (Bv03)", summary.acknowledged),
        ("retouren (Du01)", summary.retours),
        ("geaccepteerd", summary.accepted),
        ("afgewezen", summary.rejected),
        ("verloren", summary.lost),
        ("dubbel verwerkt", summary.duplicates),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    table.add_row("seconden", f"{summary.seconds:.1f}")
    Console().print(table)
    faults = summary.details.get("faults_injected") or {}
    if faults:
        typer.echo("geïnjecteerde fouten: " + ", ".join(f"{k}={v}" for k, v in sorted(faults.items())))


# ------------------------------------------------------------------------------------------ commands


def demo_command(
    count: Annotated[int, typer.Option("--count", "-n", min=0, help="Aantal startberichten (WMO401).")] = 100,
    faults: Annotated[
        bool, typer.Option("--faults/--no-faults", help="Foutinjectie in de simulator aanzetten.")
    ] = False,
    fault_spec: Annotated[
        str | None,
        typer.Option(
            "--fault-spec", help="Eigen foutprofiel, bijv. 'demo,seed=3' of 'http503=0.2,drop=0.1'."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Samenvatting als JSON op de laatste regel.")
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="SQLite-bestand van de gemeente (standaard tijdelijk).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Verzendthreads.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Maximale duur in seconden.")] = 600.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Auditregels op stderr.")] = False,
) -> None:
    """Start simulator en ontvanger op loopback, verstuur N startberichten en wacht op alle retouren."""
    from ieb.simulator.faults import FaultConfig

    _setup_logging(verbose)
    config: FaultConfig | None = None
    if fault_spec:
        try:
            config = FaultConfig.parse(fault_spec)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--fault-spec") from None
    elif faults:
        config = FaultConfig.demo()
    if db is not None and db.exists():
        typer.echo(f"fout: {db} bestaat al; de demo begint met een lege database", err=True)
        raise typer.Exit(2)
    summary = run_demo(count, faults=config, db=db, workers=workers, timeout=timeout, progress=not as_json)
    if as_json:
        typer.echo(summary.as_json())
    else:
        _print_summary(summary)
    if summary.lost or summary.duplicates:
        raise typer.Exit(1)


def send_command(
    endpoint: Annotated[str, typer.Option("--endpoint", help="URL van OntvangAsynchroon (https://...).")],
    cert: Annotated[Path, typer.Option("--cert", help="Eigen certificaat (met tussen-CA's), PEM.")],
    key: Annotated[Path, typer.Option("--key", help="Eigen private key, PEM.")],
    ca: Annotated[Path, typer.Option("--ca", help="Vertrouwde root(s) voor het servercertificaat, PEM.")],
    db: Annotated[str, typer.Option("--db", help="Ledger-database (SQLite-pad of URL).")] = "ieb.sqlite",
    workers: Annotated[int, typer.Option("--workers", min=1, max=32)] = 4,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop na zoveel seconden.")] = None,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", min=1, help="Pogingen voor dead letter.")
    ] = 10,
    connect_timeout: Annotated[float, typer.Option("--connect-timeout")] = 5.0,
    operation_timeout: Annotated[float, typer.Option("--operation-timeout")] = 30.0,
    lease: Annotated[float, typer.Option("--lease", help="Lease per bericht in seconden.")] = 120.0,
    sign: Annotated[bool, typer.Option("--sign/--no-sign", help="WUS 2W-be-S ondertekenen.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Verstuur wat in de outbox staat (met herhalingen) tot die leeg is."""
    from ieb.errors import IebError
    from ieb.transport.client import GgkClient, WusSigning
    from ieb.transport.outbox import Outbox, RetryPolicy, Sender, open_ledger

    _setup_logging(verbose)
    try:
        signing = WusSigning.from_files(key, cert, ca) if sign else None
        client = GgkClient(
            endpoint,
            tls=_tls(cert, key, ca),
            connect_timeout=connect_timeout,
            operation_timeout=operation_timeout,
            signing=signing,
            pool_maxsize=workers,
        )
        engine = open_ledger(db)
    except IebError as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(2) from None
    outbox = Outbox(engine, lease_seconds=lease)
    sender = Sender(outbox, client.send, policy=RetryPolicy(max_attempts=max_attempts))
    try:
        result = sender.drain(workers=workers, timeout=timeout)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sender.stop()
        raise typer.Exit(130) from None
    finally:
        client.close()
    counts = outbox.counts()
    report = {
        "acknowledged": result.acknowledged,
        "failed": result.failed,
        "dead": result.dead,
        "requeued": result.requeued,
        "open": counts["pending"] + counts["sending"],
        "seconds": round(result.seconds, 3),
    }
    typer.echo(json.dumps(report) if as_json else " ".join(f"{k}={v}" for k, v in report.items()))
    engine.dispose()
    if result.failed or result.dead:
        raise typer.Exit(1)


def _serve_until_interrupted(stop: Any, name: str, url: str) -> None:
    typer.echo(f"{name} luistert op {url} (Ctrl-C om te stoppen)", err=True)
    event = threading.Event()
    try:
        while not event.wait(1.0):
            pass
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
    finally:
        stop()


def receive_command(
    cert: Annotated[Path, typer.Option("--cert", help="Servercertificaat (met tussen-CA's), PEM.")],
    key: Annotated[Path, typer.Option("--key", help="Private key, PEM.")],
    ca: Annotated[Path, typer.Option("--ca", help="Vertrouwde root(s) voor clientcertificaten, PEM.")],
    allow_oin: Annotated[list[str], typer.Option("--allow-oin", help="OIN die mag afleveren (herhaalbaar).")],
    db: Annotated[str, typer.Option("--db", help="Ledger-database (SQLite-pad of URL).")] = "ieb.sqlite",
    organisatie: Annotated[str, typer.Option("--organisatie", help="Eigen gemeentecode.")] = GEMEENTE,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8443,
    threads: Annotated[int, typer.Option("--threads", min=1)] = 8,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Draai de ontvanger (OntvangAsynchroon voor ggk_Du01, Fo01 en ggk_Di01) over mutual TLS."""
    from ieb.errors import IebError
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import HttpsServer, Receiver

    _setup_logging(verbose)
    try:
        engine = open_ledger(db)
        receiver = Receiver(
            engine, organisatie=organisatie, allowed_oins=set(allow_oin), handler=_retour_handler(engine)
        )
        receiver.process_pending()
        server = HttpsServer(receiver, _tls(cert, key, ca), host=host, port=port, threads=threads).start()
    except (IebError, OSError) as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(2) from None
    _serve_until_interrupted(server.stop, "ontvanger", server.url)


def serve_command(
    cert: Annotated[Path, typer.Option("--cert", help="Certificaat van de GGk (met tussen-CA's), PEM.")],
    key: Annotated[Path, typer.Option("--key", help="Private key, PEM.")],
    ca: Annotated[Path, typer.Option("--ca", help="Vertrouwde root(s), PEM.")],
    callback: Annotated[str, typer.Option("--callback", help="URL van de ontvanger van de gemeente.")],
    db: Annotated[str, typer.Option("--db", help="Database van GGk/CAK (SQLite-pad of URL).")] = "cak.sqlite",
    allow_oin: Annotated[
        list[str] | None, typer.Option("--allow-oin", help="OIN die mag afleveren (herhaalbaar).")
    ] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 9443,
    faults: Annotated[
        str | None,
        typer.Option("--faults", help="Foutprofiel: 'demo' of bijv. 'http503=0.1,drop=0.05,seed=7'."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Draai GGk + CAK als HTTPS-SOAP-server met mutual TLS; retouren gaan naar --callback."""
    from ieb.errors import IebError
    from ieb.simulator.faults import FaultConfig
    from ieb.simulator.server import SimulatorService

    _setup_logging(verbose)
    try:
        config = FaultConfig.parse(faults) if faults else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    try:
        service = SimulatorService(
            db=db,
            tls=_tls(cert, key, ca),
            callback_url=callback,
            host=host,
            port=port,
            allowed_oins=set(allow_oin) if allow_oin else None,
            faults=config,
        ).start()
    except (IebError, OSError) as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(2) from None
    _serve_until_interrupted(service.stop, "simulator (GGk + CAK)", service.url)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
    app.command("send")(send_command)
    app.command("receive")(receive_command)
    try:
        from ieb.cli.simulate import simulate_app
    except ImportError:  # pragma: no cover - the simulate group ships with the ledger
        return
    simulate_app.command("serve")(serve_command)
