"""``ieb init``, ``ieb send``, ``ieb serve``, ``ieb receive``, ``ieb simulate serve`` and ``ieb demo``.

All but ``simulate serve`` read the one configuration (``--config``, ``$IEB_CONFIG``, ``./ieb.toml``)
and work through :class:`ieb.exchange.Exchange`; the demo lives in :mod:`ieb.testing.demo`
(re-exported here: ``run_demo``, ``demo_bsns``, ``DemoSummary``).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ieb.cli._common import COMMAND
from ieb.cli._exchange import ConfigOption, DbOption, exchange_for, fail
from ieb.testing.demo import GEMEENTE, SIMULATOR, DemoSummary, demo_bsns, run_demo

if TYPE_CHECKING:  # pragma: no cover
    from cryptography import x509

    from ieb.transport.outbox import ClaimedMessage
    from ieb.transport.tls import TlsFiles

__all__ = ["DemoSummary", "demo_bsns", "register", "run_demo"]

log = logging.getLogger("ieb.cli.transport")


def _setup_logging(verbose: bool) -> None:
    from ieb.service.logs import setup_logging

    setup_logging(verbose=verbose, json_lines=False)


def _tls(cert: Path, key: Path, ca: Path, crl: tuple[Path, ...] = ()) -> TlsFiles:
    from ieb.transport.tls import TlsFiles

    return TlsFiles(cert=cert, key=key, ca=ca, crl=crl)


def _warn_own_certificate(files: TlsFiles) -> None:
    """At the start of ``ieb serve`` / ``ieb simulate serve`` / ``ieb receive``: one warning line (stderr) per problem
    of our OWN certificate chain (``files.cert``, with the root from ``files.ca``): expired, not yet
    valid, or revoked by the configured CRLs (:func:`ieb.transport.revocation.own_chain_problems`:
    subject, serial number, CRL file). The command keeps serving: the peers decide. Files that
    cannot be read are not this check's business (the server refuses them with its own error)."""
    import datetime as dt

    from ieb.errors import IebError
    from ieb.transport.pki import load_certificates
    from ieb.transport.revocation import own_chain_problems
    from ieb.transport.tls import check_crls

    try:
        certs = load_certificates(files.cert)
        if not certs:
            return
        # TLS sends the first certificate as ours and builds its chain from the others by issuer,
        # in any order; a certificate in the file outside that chain is not ours to warn about
        chain, pool = certs[:1], [*certs[1:], *load_certificates(files.ca)]
        while chain[-1].issuer != chain[-1].subject:
            issuer = next((c for c in pool if c not in chain and _issued(chain[-1], c)), None)
            if issuer is None:
                break
            chain.append(issuer)
        problems = own_chain_problems(chain, check_crls(files), dt.datetime.now(dt.UTC))
    except (IebError, OSError, ValueError):
        return
    crl = ", ".join(str(p) for p in files.crl_sources) or "geen CRL ingesteld"
    for problem in problems:
        typer.echo(
            f"waarschuwing: eigen {problem} ({files.cert}; CRL: {crl}); de dienst start toch, maar de "
            "andere partij weigert dit certificaat: vervang het",
            err=True,
        )


def _issued(cert: x509.Certificate, by: x509.Certificate) -> bool:
    """Whether ``by`` issued ``cert``: its subject is ``cert``'s issuer and its key signed it."""
    from cryptography.exceptions import InvalidSignature

    if by.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(by)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# ------------------------------------------------------------------------------------------ init


def init_command(
    ctx: typer.Context,
    gemeente: Annotated[
        list[str] | None,
        typer.Option(
            "--gemeente",
            "-g",
            metavar="CODE",
            help="Gemeentecode waarvoor wordt aangeleverd (herhaalbaar).",
            show_default=False,
        ),
    ] = None,
    simulator: Annotated[
        bool,
        typer.Option(
            "--simulator", help="Ook een test-PKI, simulator.toml en een voorbeeld gewenst.csv (loopback)."
        ),
    ] = False,
    directory: Annotated[Path, typer.Option("--dir", metavar="MAP", help="Map om in te schrijven.")] = Path(
        "."
    ),
    receiver_port: Annotated[
        int, typer.Option("--receiver-port", min=1, max=65535, help="Poort van de ontvanger.")
    ] = 8443,
    simulator_port: Annotated[
        int, typer.Option("--simulator-port", min=1, max=65535, help="Poort van de simulator.")
    ] = 9443,
    monitor_port: Annotated[
        int,
        typer.Option("--monitor-port", min=0, max=65535, help="Poort voor /health en /metrics (0 = uit)."),
    ] = 0,
    force: Annotated[bool, typer.Option("--force", help="Bestaande bestanden overschrijven.")] = False,
    release: Annotated[
        str,
        typer.Option("--release", metavar="ieb-4.0|ieb-1.0", help="iEb-release van de nieuwe configuratie."),
    ] = "ieb-4.0",
    identificatie_vanaf: Annotated[
        int | None,
        typer.Option(
            "--identificatie-vanaf",
            min=1,
            metavar="N",
            help="Eerste Identificatie (bij overstap van een ander systeem: TR056, uniek voor altijd).",
            show_default=False,
        ),
    ] = None,
    ebstartnummer_vanaf: Annotated[
        int | None,
        typer.Option(
            "--ebstartnummer-vanaf",
            min=1,
            metavar="N",
            help="Eerste EbStartNummer (bij overstap van een ander systeem).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Schrijf een becommentarieerde ieb.toml (met --simulator ook test-PKI en simulator.toml)."""
    from ieb.config import example_toml
    from ieb.types import Gemeentecode

    known_releases = ("ieb-4.0", "ieb-1.0")
    if release not in known_releases:
        raise typer.BadParameter(f"{release!r}: kies {' of '.join(known_releases)}", param_hint="--release")
    if (identificatie_vanaf or ebstartnummer_vanaf) and not gemeente:
        raise typer.BadParameter("de tellers gelden per gemeente: noem --gemeente", param_hint="--gemeente")

    codes = list(dict.fromkeys(gemeente or []))
    for code in codes:
        try:
            Gemeentecode(code)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--gemeente") from None
    if simulator and not codes:  # it makes the gemeente's test certificate: a code is needed
        from ieb.cli._common import usage_error

        raise usage_error(
            "ontbreekt: --simulator maakt een test-certificaat voor de gemeente; geef de gemeentecode, "
            "bijvoorbeeld ieb init --simulator --gemeente 0363",
            "--gemeente",
        )
    if simulator and receiver_port == simulator_port:
        raise typer.BadParameter(
            f"de ontvanger en de simulator kunnen niet allebei poort {receiver_port} gebruiken",
            param_hint="--simulator-port",
        )
    directory.mkdir(parents=True, exist_ok=True)
    targets = [directory / "ieb.toml"]
    if simulator:
        targets += [directory / "simulator.toml", directory / "pki"]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        fail(f"bestaat al: {', '.join(existing)} (gebruik --force om te overschrijven)", code=2)
    if simulator:  # both servers run on this machine's loopback: ports another program holds are no use
        receiver_port = _loopback_port(ctx, "--receiver-port", receiver_port, avoid=simulator_port)
        simulator_port = _loopback_port(ctx, "--simulator-port", simulator_port, avoid=receiver_port)
    if not simulator:
        (directory / "ieb.toml").write_text(
            example_toml(
                gemeenten=codes, receiver_port=receiver_port, monitor_port=monitor_port, release=release
            )
        )
        _seed_counters(directory, codes, identificatie_vanaf, ebstartnummer_vanaf)
        todo = "organisatie en ggk" if codes else "gemeenten (of geef --gemeente), organisatie en ggk"
        typer.echo(f"geschreven: {directory / 'ieb.toml'} (vul {todo} in)")
        return
    from ieb.testing.pki import create_test_pki

    pki = create_test_pki(directory / "pki", [*codes, SIMULATOR])
    org, ggk = pki.party(codes[0]), pki.party(SIMULATOR)

    def rel(p: Path) -> str:
        return str(p.relative_to(directory))

    endpoint = f"https://127.0.0.1:{simulator_port}/ggk0210/OntvangAsynchroon"
    (directory / "ieb.toml").write_text(
        example_toml(
            gemeenten=codes,
            oin=org.oin,
            cert=rel(org.chain),
            key=rel(org.key),
            ca=rel(pki.roots),
            endpoint=endpoint,
            receiver_port=receiver_port,
            allowed_oins=[ggk.oin],
            monitor_port=monitor_port,
            release=release,
        )
    )
    _seed_counters(directory, codes, identificatie_vanaf, ebstartnummer_vanaf)
    (directory / "simulator.toml").write_text(
        "# simulator.toml: de GGk + het CAK op loopback (ieb simulate serve --config simulator.toml).\n"
        "# Alleen voor tests: de PKI in pki/ is een TEST-PKI.\n"
        'database = "cak.sqlite"\n'
        'host = "127.0.0.1"\n'
        f"port = {simulator_port}\n"
        f'cert = "{rel(ggk.chain)}"\n'
        f'key = "{rel(ggk.key)}"\n'
        f'ca = "{rel(pki.roots)}"\n'
        "# waar retouren (ggk_Du01) heen gaan: de ontvanger van 'ieb serve'\n"
        f'callback = "https://127.0.0.1:{receiver_port}/ggk0210/OntvangAsynchroon"\n'
        f'allowed_oins = ["{org.oin}"]\n'
        "# de iEb-release die het CAK spreekt (zoals in ieb.toml)\n"
        f'release = "{release}"\n'
        "# antwoorden ondertekenen (WUS 2W-be-S) op ondertekende verzoeken\n"
        "sign = true\n"
        '# niveau-1-fout: "retour" (IV028) of "none" (IV032)\n'
        'level1 = "retour"\n'
        '# foutinjectie, bijv. "demo" of "http503=0.1,drop=0.05,seed=7"\n'
        '# faults = "demo"\n'
        "# intrekkingslijsten (CRL's) van de test-PKI: maak ze met `ieb certs --crl "
        f"{rel(pki.directory)}`, zet dan hier en in ieb.toml ([tls] crl) (docs/security.md):\n"
        f'# crl = ["{rel(pki.directory)}/crl"]\n'
    )
    example = directory / "gewenst.csv"
    if not example.exists():
        start = dt.date.today().replace(day=1).isoformat()
        bsns = demo_bsns(2 * len(codes))
        rows = ["gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start"]
        for i, code in enumerate(codes):
            rows.append(f"{code},{bsns[2 * i]},{start},,,")
            rows.append(f"{code},{bsns[2 * i + 1]},{start},,,")
        example.write_text("\n".join(rows) + "\n")
    typer.echo(
        f"geschreven: {directory / 'ieb.toml'}, {directory / 'simulator.toml'}, {directory / 'pki'}/, {example}"
    )
    # the commands read ./simulator.toml, ./ieb.toml and ./gewenst.csv: from --dir MAP, go there first
    here = directory.resolve() == Path.cwd().resolve()
    typer.echo(
        "volgende stappen: "
        + ("" if here else f"cd {shlex.quote(str(directory))};  ")
        + "ieb simulate serve --config simulator.toml &  ieb serve &  ieb plan gewenst.csv --queue"
    )


def _listen_error(host: str, port: int) -> OSError | None:
    """Why a TCP server cannot listen on ``host``:``port`` now (another program holds it: errno
    EADDRINUSE), or None when it can. ``SO_REUSEADDR`` as the servers (cheroot) set it, so a port
    with only connections in TIME_WAIT counts as free."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _loopback_port(ctx: typer.Context, option: str, port: int, *, avoid: int) -> int:
    """The port ``ieb init --simulator`` writes for ``option``: ``port`` when it is free on
    127.0.0.1; when the default is taken, the next free port above it (said on stderr, naming the
    option to choose another); a taken port the user chose is kept, with a warning."""
    name = option.lstrip("-").replace("-", "_")
    source = ctx.get_parameter_source(name)  # click's public API: given on the command line or not
    chosen = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
    if _listen_error("127.0.0.1", port) is None and port != avoid:
        return port
    if chosen:
        typer.echo(
            f"let op: poort {port} op 127.0.0.1 is nu in gebruik door een ander programma; de server start "
            f"pas als die vrij is (of kies een andere met {option})",
            err=True,
        )
        return port
    for candidate in range(port + 1, min(port + 200, 65536)):
        if candidate != avoid and _listen_error("127.0.0.1", candidate) is None:
            typer.echo(
                f"let op: poort {port} op 127.0.0.1 is in gebruik door een ander programma; "
                f"de configuratie gebruikt poort {candidate} (kies zelf een andere met {option})",
                err=True,
            )
            return candidate
    fail(f"poort {port} en de 200 poorten erboven zijn in gebruik; kies een vrije poort met {option}", code=2)


def _in_use(exc: OSError) -> bool:
    """Whether ``exc`` says a port is held by another program (cheroot words it in the text)."""
    return getattr(exc, "errno", None) == errno.EADDRINUSE or "Address already in use" in str(exc)


def _port_in_use_text(exc: OSError, host: str, port: int, change: str) -> str | None:
    """The Dutch text for a server that could not listen because another program holds its port
    (cheroot's "No socket could be created ... Address already in use"), or None for another error;
    ``change``: where the clerk chooses another port."""
    if not _in_use(exc):
        return None
    return (
        f"poort {port} op {host} is al in gebruik door een ander programma (draait deze server al?); "
        f"oplossing: stop dat programma, of kies een andere poort: {change}"
    )


def _seed_counters(
    directory: Path, codes: list[str], identificatie_vanaf: int | None, ebstartnummer_vanaf: int | None
) -> None:
    """Seed the Identificatie and EbStartNummer counters of each gemeente in the new ieb.toml's
    database (a gemeente switching from another system continues its numbers)."""
    if identificatie_vanaf is None and ebstartnummer_vanaf is None:
        return
    from ieb.config import load_config
    from ieb.errors import IebError
    from ieb.ledger import open_database
    from ieb.ledger.store import Ledger

    try:
        ledger = Ledger(open_database(load_config(directory / "ieb.toml").database_url))
    except IebError as exc:
        fail(str(exc), code=1)
    try:
        with ledger.engine.begin() as conn:
            for code in codes:
                for kind, first in (
                    ("identificatie", identificatie_vanaf),
                    ("eb_start_nummer", ebstartnummer_vanaf),
                ):
                    if first is not None:
                        ledger.seed_counter(conn, code, kind, first)
    except ValueError as exc:
        fail(str(exc), code=1)
    finally:
        ledger.close()
    seeded = ", ".join(
        f"{name} vanaf {value}"
        for name, value in (("Identificatie", identificatie_vanaf), ("EbStartNummer", ebstartnummer_vanaf))
        if value is not None
    )
    typer.echo(f"tellers gezet voor {', '.join(codes)}: {seeded}")


# ------------------------------------------------------------------------------------------ send / serve


#: the sender's outcome of one message (:data:`ieb.transport.sender.ResultCallback`) in the words of
#: the run's summary line
_OUTCOME_TEXT = {
    "failed": "geweigerd door de ontvanger",
    "permanent": "blijvende fout",
    "pending": "opnieuw klaargezet",
    "dead": "opgegeven (dead letter)",
    "lease_lost": "overgenomen door een andere verzender",
}


def _outcome_line(referentienummer: str, outcome: str, reason: str | None) -> str:
    """``ieb send``'s line for a message that was not acknowledged: its referentienummer, the
    outcome in Dutch and the reason; a message given up says how to send it again (the reason's
    own hint was written for a retry)."""
    line = f"{referentienummer}: {_OUTCOME_TEXT.get(outcome, outcome)}: {reason or '-'}"
    if outcome == "dead":
        line += f"; niet meer automatisch opnieuw: verhelp de oorzaak en zet het terug met `ieb requeue {referentienummer}`"
    return line


def send_command(
    config: ConfigOption = None,
    db: DbOption = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=32, help="Verzendthreads.", show_default=False)
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, help="Stop na zoveel seconden.", show_default=False),
    ] = None,
    sign: Annotated[
        bool, typer.Option("--sign", help="WUS 2W-be-S ondertekenen (overschrijft ggk.sign).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Samenvatting als JSON.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Meer logregels op stderr.")] = False,
) -> None:
    """Verstuur wat in de outbox staat tot die leeg is; een blijvende fout stopt meteen (exit 1)."""
    from ieb.errors import IebError
    from ieb.service import preflight

    _setup_logging(verbose)
    ex = exchange_for(config, db, needs="organisatie.cert/key/ca en ggk.endpoint")
    if sign:
        ex.config.ggk.sign = True
    try:
        preflight(ex, receive=False)  # endpoint and certificates before a database is created
    except IebError as exc:
        ex.close()
        fail(str(exc), code=2)
    lock = threading.Lock()
    progress: Any = None
    task: Any = None

    def show(msg: ClaimedMessage, outcome: str, reason: str | None) -> None:
        with lock:
            if outcome != "acknowledged":
                line = _outcome_line(msg.referentienummer, outcome, reason)
                if progress is not None:
                    progress.console.print(line, markup=False, highlight=False)
                else:
                    typer.echo(line, err=True)
            if progress is not None and outcome in ("acknowledged", "failed", "dead"):
                progress.advance(task)

    def show_retry(msg: ClaimedMessage, text: str) -> None:
        with lock:
            line = f"{msg.referentienummer}: poging {msg.attempts} mislukt: {text}"
            if progress is not None:
                progress.console.print(line, markup=False, highlight=False)
            else:
                typer.echo(line, err=True)

    try:
        before = ex.outbox().counts()
        if sys.stderr.isatty() and not as_json:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(
                TextColumn("versturen"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            task = progress.add_task("versturen", total=before["pending"] + before["sending"])
            progress.start()
        try:
            result = ex.send(
                workers=workers,
                timeout=timeout,
                on_result=show,
                on_retry=show_retry,
                stop_when_unreachable=True,
            )
        finally:
            if progress is not None:
                progress.stop()
        counts = ex.outbox().counts()
    except IebError as exc:
        fail(str(exc), code=2)
    except KeyboardInterrupt:
        # Ctrl-C before the drain started or after it ended: the sender holds no lease then (its own
        # Ctrl-C handling gives back what it claimed), so this run leaves nothing locked.
        typer.echo("onderbroken; leases vrijgegeven", err=True)
        raise typer.Exit(130) from None
    finally:
        ex.close()
    report = {
        "acknowledged": result.acknowledged,
        "failed": result.failed,
        "dead": result.dead,
        "requeued": result.requeued,
        "lease_lost": result.lease_lost,
        "open": counts["pending"] + counts["sending"],
        "seconds": round(result.seconds, 3),
    }
    if as_json:  # the contract for scripts (keys unchanged)
        typer.echo(json.dumps(report))
    else:  # for a person, in the clerk's words
        typer.echo(
            f"verstuurd en bevestigd: {report['acknowledged']}, mislukt: {report['failed']}, opgegeven "
            f"(dead letter): {report['dead']}, opnieuw klaargezet: {report['requeued']}, overgenomen door een "
            f"andere verzender: {report['lease_lost']}, nog open: {report['open']} ({report['seconds']} s)"
        )
    if result.waiting:  # issue 21: order per person (the JSON report stays as it was)
        typer.echo(
            f"{result.waiting} bericht(en) wachten op de retour van een eerder bericht van dezelfde persoon; "
            "ze gaan mee met een volgende `ieb send` of met `ieb serve` zodra die retour het eerdere bericht "
            "heeft goedgekeurd",
            err=True,
        )
    if result.held:
        typer.echo(
            f"{result.held} bericht(en) niet verstuurd omdat een eerder bericht van dezelfde persoon is "
            "afgewezen; zie `ieb status --detail` (oplossing: herstel die afwijzing en plan opnieuw)",
            err=True,
        )
    if result.permanent is not None:
        p = result.permanent
        typer.echo(f"gestopt: blijvende fout: {p.message}", err=True)
        if p.hint:
            typer.echo(f"oplossing: {p.hint}", err=True)
        if report["open"]:  # "opnieuw klaargezet" above must not read as "will be retried by itself"
            typer.echo(
                f"{report['open']} bericht(en) blijven onverstuurd in de outbox staan; ze gaan mee met de "
                "volgende `ieb send` nadat de fout is opgelost (er wordt niets vanzelf opnieuw geprobeerd)",
                err=True,
            )
        raise typer.Exit(1)
    if result.unreachable is not None:
        u = result.unreachable
        typer.echo(
            f"gestopt: GGk niet bereikbaar op URL: {u.endpoint or ex.config.ggk.endpoint}: {u.message}",
            err=True,
        )
        typer.echo(
            f"oplossing: {u.hint or 'controleer of de GGk draait en ggk.endpoint klopt'}; de berichten blijven "
            "open (pending) en gaan mee met de volgende `ieb send` of met `ieb serve`",
            err=True,
        )
        raise typer.Exit(1)
    if result.interrupted:
        typer.echo("onderbroken; leases vrijgegeven", err=True)
        raise typer.Exit(130)
    if result.failed or result.dead or result.lease_lost:
        raise typer.Exit(1)


def serve_command(
    config: ConfigOption = None,
    db: DbOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Ook INFO-regels.")] = False,
    text_logs: Annotated[
        bool, typer.Option("--text-logs", help="Logregels als tekst in plaats van JSON.")
    ] = False,
    vandaag: Annotated[
        str | None,
        typer.Option(
            "--vandaag",
            metavar="JJJJ-MM-DD",
            help="Oefenklok: beoordeel retouren alsof het deze dag is (ook 'clock' in ieb.toml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Verzender + ontvanger als één dienst (SIGTERM = netjes stoppen, /health, /metrics)."""
    from ieb.cli._common import parse_today
    from ieb.errors import IebError
    from ieb.service import Service, preflight
    from ieb.service.logs import setup_logging

    setup_logging(verbose=verbose, json_lines=not text_logs)
    ex = exchange_for(config, db, needs="organisatie.*, ggk.endpoint en receiver.allowed_oins")
    if vandaag is not None:  # issue 26: rehearse a month ahead
        ex.config.clock = parse_today(vandaag, "--vandaag")
    try:
        preflight(ex)  # config, certificates and the port, before a banner or a database
        _warn_own_certificate(ex.tls_files())
        service = Service(ex)
        typer.echo(
            f"ieb serve: ontvanger op https://{ex.config.receiver.host}:{ex.config.receiver.port}, "
            f"verzender naar {ex.config.ggk.endpoint} (SIGTERM of Ctrl-C om te stoppen)",
            err=True,
        )
        if ex.config.clock is not None:
            typer.echo(f"OEFENKLOK: vandaag = {ex.config.clock.isoformat()} (niet de echte datum)", err=True)
        service.run()
    except IebError as exc:
        fail(str(exc), code=2)
    except OSError as exc:
        fail(_os_error_text(exc), code=2)
    finally:
        ex.close()


def _os_error_text(exc: OSError) -> str:
    """An OSError (cheroot's bind, a file) in Dutch with an oplossing; the raw text at the end."""
    text = str(exc)
    if "Address already in use" in text or getattr(exc, "errno", None) == 98:
        return (
            "de poort van de ontvanger is al in gebruik; oplossing: stop het andere proces (draait `ieb serve` "
            f"al?) of kies een andere receiver.port ({text})"
        )
    if isinstance(exc, FileNotFoundError):
        return (
            f"bestand {exc.filename} bestaat niet; oplossing: controleer het pad in de configuratie ({text})"
        )
    return f"systeemfout: {text}"


def receive_command(
    config: ConfigOption = None,
    db: DbOption = None,
    organisatie: Annotated[
        str | None,
        typer.Option(
            "--organisatie",
            metavar="CODE",
            help="Eigen gemeentecode (4 cijfers); moet bij het certificaat passen. "
            "Standaard: de eerste gemeente in ieb.toml, anders uit het (test)certificaat.",
            show_default=False,
        ),
    ] = None,
    allow_oin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-oin",
            metavar="OIN",
            help="OIN die mag afleveren (20 cijfers, herhaalbaar); vervangt receiver.allowed_oins.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Ook INFO-regels.")] = False,
) -> None:
    """Alleen de ontvanger (retouren en Fo01) over mutual TLS, zoals ingesteld in ieb.toml."""
    from ieb.cli._common import check_oin
    from ieb.errors import IebError
    from ieb.transport.server import receiver_server

    oins = [check_oin(o) for o in allow_oin or []]
    _setup_logging(verbose)
    ex = exchange_for(config, db)
    gemeente = _receiving_gemeente(ex, organisatie)
    receiver_settings = ex.config.receiver.model_copy(update={"allowed_oins": oins}) if oins else None
    gemeenten = [gemeente, *(g for g in ex.config.gemeenten if g != gemeente)]
    ex.config = ex.config.model_copy(
        update={"gemeenten": gemeenten, **({"receiver": receiver_settings} if receiver_settings else {})}
    )
    typer.echo(f"ontvanger voor gemeente {gemeente}", err=True)
    try:
        _warn_own_certificate(ex.tls_files())  # before the server starts: see _serve_until_interrupted
        receiver = ex.receiver()
        ex.retours.replay(("received",))
        r = ex.config.receiver
        server = receiver_server(
            receiver, receiver, ex.tls_files(), host=r.host, port=r.port, threads=r.threads
        ).start()
    except (IebError, OSError) as exc:
        in_use = isinstance(exc, OSError) and _port_in_use_text(
            exc,
            ex.config.receiver.host,
            ex.config.receiver.port,
            "receiver.port in ieb.toml (en callback in simulator.toml)",
        )
        fail(in_use or str(exc), code=2)
    _serve_until_interrupted(server.stop, "ontvanger", server.url)
    ex.close()


def _receiving_gemeente(ex: Any, organisatie: str | None) -> str:
    """The gemeentecode ``ieb receive`` receives for: ``--organisatie`` (checked against the
    organisation's certificate by :func:`ieb.cli._common.check_organisatie`), else the first gemeente
    of ieb.toml, else the one a test certificate carries. Usage error (exit 2) otherwise."""
    from ieb.cli._common import check_organisatie, usage_error

    configured = list(ex.config.gemeenten)
    if organisatie is None and configured:
        return str(configured[0])
    cert = ex.config.resolve(ex.config.organisatie.cert)
    if cert is None:
        raise usage_error(
            "geen certificaat in ieb.toml (organisatie.cert) om de gemeentecode aan te toetsen",
            "--organisatie",
        )
    gemeente = check_organisatie(organisatie, cert)
    if configured and gemeente not in configured:
        raise usage_error(
            f"gemeente {gemeente} staat niet in ieb.toml (gemeenten = {configured})", "--organisatie"
        )
    return gemeente


def _serve_until_interrupted(stop: Any, name: str, url: str) -> None:
    """Say where ``name`` listens, wait for SIGTERM or Ctrl-C, then ``stop()``. Call it right after
    the server started, with nothing in between: a Ctrl-C (KeyboardInterrupt) outside this ``try``,
    or inside ``stop()``, would leave the server's non-daemon threads running and the process hung
    for good. So the callers print their start-up lines (own-certificate warning, OEFENKLOK) before
    they start the server, and SIGINT, as SIGTERM, only sets the event here."""
    import signal

    event = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        event.set()

    try:
        signal.signal(signal.SIGTERM, handler)  # before saying we listen: a SIGTERM right after stops cleanly
        # Ctrl-C too, as `ieb serve` does: a second one (or `timeout -s INT`, which signals the whole
        # process group as well) raised KeyboardInterrupt inside stop() and left the server running
        signal.signal(signal.SIGINT, handler)
        typer.echo(f"{name} luistert op {url} (Ctrl-C of SIGTERM om te stoppen)", err=True)
        while not event.wait(1.0):
            pass
    except KeyboardInterrupt:  # a Ctrl-C before the handler was in place
        pass
    finally:
        stop()


def simulate_serve_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="simulator.toml (van ieb init --simulator).", show_default=False),
    ] = None,
    cert: Annotated[
        Path | None,
        typer.Option("--cert", help="Certificaat van de GGk (met tussen-CA's), PEM.", show_default=False),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="Privésleutel van de GGk, PEM.", show_default=False)
    ] = None,
    ca: Annotated[
        Path | None, typer.Option("--ca", help="Vertrouwde root(s), PEM.", show_default=False)
    ] = None,
    callback: Annotated[
        str | None,
        typer.Option("--callback", help="URL van de ontvanger van de gemeente.", show_default=False),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database van GGk/CAK.", show_default=False)] = None,
    allow_oin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-oin",
            metavar="OIN",
            help="OIN die mag afleveren (20 cijfers, herhaalbaar).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Luisteradres.", show_default=False)] = None,
    port: Annotated[int | None, typer.Option("--port", help="Poort.", show_default=False)] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Foutprofiel: 'demo' of bijv. 'http503=0.1,drop=0.05,seed=7'.",
            show_default=False,
        ),
    ] = None,
    sign: Annotated[
        bool, typer.Option("--sign", help="Antwoorden op ondertekende verzoeken ondertekenen.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Ook INFO-regels.")] = False,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-4.0|ieb-1.0",
            help="Het CAK spreekt alleen deze release (standaard: release uit simulator.toml, anders elke).",
            show_default=False,
        ),
    ] = None,
    vandaag: Annotated[
        str | None,
        typer.Option(
            "--vandaag",
            metavar="JJJJ-MM-DD",
            help="Oefenklok: het CAK rekent met deze dag (DagtekeningRetour, 8848; ook 'clock' in simulator.toml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draai GGk + CAK als HTTPS-SOAP-server met mutual TLS; retouren gaan naar de callback."""
    from ieb.cli._common import check_oin, parse_today
    from ieb.config import SimulatorConfig, load_simulator_config
    from ieb.errors import IebError
    from ieb.simulator.cak import CakConfig
    from ieb.simulator.faults import FaultConfig
    from ieb.simulator.server import SimulatorService
    from ieb.transport.client import WusSigning

    allow_oin = [check_oin(o) for o in allow_oin or []]
    _setup_logging(verbose)
    try:
        sim = load_simulator_config(config) if config else SimulatorConfig()
    except IebError as exc:
        fail(str(exc), code=2)
    clock = (
        parse_today(vandaag, "--vandaag") if vandaag is not None else sim.clock
    )  # issue 26: rehearsal clock
    cert_p = cert or sim.resolve(sim.cert)
    key_p = key or sim.resolve(sim.key)
    ca_p = ca or sim.resolve(sim.ca)
    url = callback or sim.callback
    missing = [
        n for n, v in (("--cert", cert_p), ("--key", key_p), ("--ca", ca_p), ("--callback", url)) if not v
    ]
    if missing:
        fail(f"ontbreekt: {', '.join(missing)} (of geef --config simulator.toml)", code=2)
    assert cert_p is not None and key_p is not None and ca_p is not None and url
    for option, setting, file in (("--cert", "cert", cert_p), ("--key", "key", key_p), ("--ca", "ca", ca_p)):
        if not Path(file).is_file():
            named = (
                option
                if (cert, key, ca)[("--cert", "--key", "--ca").index(option)]
                else f"{setting} in {config}"
            )
            fail(
                f"{named}: bestand {file} bestaat niet; oplossing: controleer het pad "
                "(relatieve paden gelden vanaf de map van simulator.toml)",
                code=2,
            )
    if sim.release_xsd is not None:  # official XSDs registered for the release the CAK speaks
        from ieb.releases import use_official_folder

        try:
            use_official_folder(
                release or sim.release or "ieb-4.0", sim.resolve(sim.release_xsd) or sim.release_xsd
            )
        except IebError as exc:
            fail(str(exc), code=2)
    profile = faults or sim.faults
    try:
        fault_config = FaultConfig.parse(profile) if profile else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    try:
        tls = _tls(cert_p, key_p, ca_p, tuple(sim.resolve(p) or p for p in sim.crl))
    except IebError as exc:
        fail(str(exc), code=2)
    _warn_own_certificate(tls)  # the start-up lines before the server starts: see _serve_until_interrupted
    if clock is not None:
        typer.echo(
            f"OEFENKLOK: het CAK rekent met vandaag = {clock.isoformat()} (niet de echte datum)", err=True
        )
    try:
        signing = WusSigning.from_files(key_p, cert_p, ca_p) if (sign or sim.sign) else None
        database = db if db is not None else sim.database_url
        service = SimulatorService(
            db=database,
            tls=tls,
            callback_url=url,
            host=host or sim.host,
            port=port if port is not None else sim.port,
            allowed_oins=set(allow_oin or sim.allowed_oins) or None,
            faults=fault_config,
            signing=signing,
            cak_config=CakConfig(level1=sim.level1, release=release or sim.release),
            today=clock,
        ).start()
    except (IebError, OSError) as exc:
        in_use = isinstance(exc, OSError) and _port_in_use_text(
            exc,
            host or sim.host,
            port if port is not None else sim.port,
            "--port, of port in simulator.toml (en dan ggk.endpoint in ieb.toml)",
        )
        fail(in_use or str(exc), code=2)
    _serve_until_interrupted(service.stop, "simulator (GGk + CAK)", service.url)


# ------------------------------------------------------------------------------------------ demo


def _print_summary(summary: DemoSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ieb demo, gemeente {GEMEENTE}", show_header=True)
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
    injected = summary.details.get("faults_injected") or {}
    if injected:
        typer.echo("geïnjecteerde fouten: " + ", ".join(f"{k}={v}" for k, v in sorted(injected.items())))


def demo_command(
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="Aantal cliënten met een startbericht.")
    ] = 100,
    faults: Annotated[bool, typer.Option("--faults", help="Foutinjectie in de simulator aanzetten.")] = False,
    fault_spec: Annotated[
        str | None,
        typer.Option(
            "--fault-spec",
            help="Eigen foutprofiel, bijv. 'demo,seed=3' of 'http503=0.2,drop=0.1'.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Samenvatting als JSON op de laatste regel.")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="SQLite-bestand van de gemeente (standaard tijdelijk).", show_default=False
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Verzendthreads.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Maximale duur in seconden.")] = 600.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Auditregels op stderr.")] = False,
    release: Annotated[
        str,
        typer.Option(
            "--release",
            metavar="ieb-4.0|ieb-1.0",
            help="iEb-release van de demo (ieb-4.0: de release in productie, op het stand-in-schema).",
        ),
    ] = "ieb-4.0",
) -> None:
    """Start simulator en ieb serve op loopback, verstuur N startberichten en wacht op alle retouren."""
    import logging

    from ieb.simulator.faults import FaultConfig

    _setup_logging(verbose)
    if not verbose:  # the demo tells its own story; the service's start line would land mid-output
        logging.getLogger("ieb.service").setLevel(logging.WARNING)
    fault_config: FaultConfig | None = None
    if fault_spec:
        try:
            fault_config = FaultConfig.parse(fault_spec)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--fault-spec") from None
    elif faults:
        fault_config = FaultConfig.demo()
    if db is not None and db.exists():
        fail(f"{db} bestaat al; de demo begint met een lege database", code=2)
    if release not in ("ieb-4.0", "ieb-1.0"):
        fail(f"--release: kies ieb-4.0 of ieb-1.0, niet {release!r}", code=2)
    try:
        summary = run_demo(
            count,
            faults=fault_config,
            db=db,
            workers=workers,
            timeout=timeout,
            progress=not as_json,
            release=release,
        )
    except OSError as exc:  # the demo picks free ports; another program took one in the meantime
        if not _in_use(exc):
            raise
        fail(
            "een poort op 127.0.0.1 die de demo vrij vond, is intussen bezet door een ander programma; "
            "oplossing: start de demo opnieuw (die kiest dan andere vrije poorten)",
            code=2,
        )
    if as_json:
        typer.echo(summary.as_json())
    else:
        _print_summary(summary)
        where = f"de database staat in {db}" if db is not None else "de database was tijdelijk en is weg"
        typer.echo(
            f"Klaar: {summary.sent} bericht(en) in {release} via de GGk naar het gesimuleerde CAK "
            f"verstuurd over mutual TLS, {summary.accepted} geaccepteerd; {where}.\n"
            "Volgende stap: uw eigen gemeente inrichten met `ieb init --simulator --gemeente CODE` "
            "en de maandcyclus uit docs/aan-de-slag.md (ieb plan, ieb serve, ieb status)."
        )
    if summary.lost or summary.duplicates:
        raise typer.Exit(1)


#: the examples at the end of each command's --help
_EXAMPLES = {
    "init": "Voorbeeld:\n\n  ieb init --simulator --gemeente 0363\n  ieb init --gemeente 0363 --gemeente 0599\n",
    "demo": "Voorbeeld:\n\n  ieb demo --count 10\n",
    "send": "Voorbeeld:\n\n  ieb send --timeout 600\n",
    "serve": "Voorbeeld:\n\n  ieb serve --config /etc/ieb/ieb.toml\n",
    "receive": "Voorbeeld:\n\n  ieb receive --organisatie 0363\n",
    "simulate serve": "Voorbeeld:\n\n  ieb simulate serve --config simulator.toml\n",
}


def register(app: typer.Typer) -> None:
    """Add init, demo, send, serve, receive and ``simulate serve`` to the ``ieb`` command."""
    for name, command in (
        ("init", init_command),
        ("demo", demo_command),
        ("send", send_command),
        ("serve", serve_command),
        ("receive", receive_command),
    ):
        app.command(name, cls=COMMAND, epilog=_EXAMPLES[name])(command)
    try:
        from ieb.cli.simulate import simulate_app
    except ImportError:  # pragma: no cover - the simulate group ships with the ledger
        return
    simulate_app.command("serve", cls=COMMAND, epilog=_EXAMPLES["simulate serve"])(simulate_serve_command)
