"""``ieb serve-validation`` and ``ieb conformance run``: the conformance kit for vendors
(docs/conformance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ieb.cli._common import COMMAND, GROUP
from ieb.xmlsafe import MAX_BYTES

#: ``--config`` of ``run`` and ``list``: the ieb.toml whose release the scenarios use
_ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="BESTAND", help="ieb.toml met de release.", show_default=False),
]

__all__ = ["conformance_app", "register"]

conformance_app = typer.Typer(
    cls=GROUP,
    name="conformance",
    help="Conformiteitstoetsen voor leveranciers: scenario's tegen uw eigen verzender.",
    epilog="Voorbeeld:\n\n  ieb conformance list\n  ieb conformance run --target ieb\n",
    no_args_is_help=True,
)


def serve_validation_command(
    host: Annotated[str, typer.Option("--host", help="Adres om op te luisteren.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Poort.")] = 8089,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Grootste body in bytes (groter: HTTP 413).")
    ] = MAX_BYTES,
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", min=1, help="Gelijktijdige validaties (meer: HTTP 503).")
    ] = 8,
    head_timeout: Annotated[
        float,
        typer.Option(
            "--head-timeout", min=0.1, help="Seconden voor de kop van een verzoek (trager: verbinding dicht)."
        ),
    ] = 10.0,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn-logniveau.")] = "warning",
) -> None:
    """Valideer over HTTP: POST /validatie (rapport of JSON), GET /status; ook de API van de DVS-container (Content-Type application/x-www-form-urlencoded, Content-Length, X-Version-Override), zie docs/dvs.md."""
    from ieb.errors import IebError

    try:
        import uvicorn  # noqa: F401

        from ieb.conformance.service import create_app, serve

        app = create_app(max_bytes=max_bytes, max_concurrency=max_concurrency)
    except (ImportError, IebError) as exc:
        typer.echo(f"fout: {exc}; installeer met: pip install 'ieb[service]'", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"validatieservice op http://{host}:{port}/validatie (status: /status)", err=True)
    # memory stays bounded: at most max_concurrency x max_bytes of bodies buffered (the app);
    # idle connections are closed after head_timeout (no connection-count limit to fill)
    serve(app, host=host, port=port, head_timeout=head_timeout, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add ``ieb serve-validation`` and the ``ieb conformance`` group (run, list) to the Typer ``app``."""
    app.command(
        "serve-validation",
        cls=COMMAND,
        epilog="Voorbeeld:\n\n  ieb serve-validation --host 127.0.0.1 --port 8089\n",
    )(serve_validation_command)
    app.add_typer(conformance_app, name="conformance")


@conformance_app.command(
    "run",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb conformance run --target ieb --format junit --out conformiteit.xml\n"
    "  ieb conformance run --target ./mijn-verzender --bewaar conformiteit/\n",
)
def run_command(
    target: Annotated[
        str, typer.Option("--target", help="'ieb' (eigen verzender) of het commando van uw verzender.")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="text|json|junit", help="Uitvoer: text, json of junit.")
    ] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Schrijf de uitvoer naar dit bestand (anders stdout).")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Alleen dit scenario (herhaalbaar); zie 'ieb conformance list'."),
    ] = None,
    today: Annotated[
        str | None, typer.Option(metavar="JJJJ-MM-DD", help="Dag van de run; standaard vandaag.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconden per stap van het doel.")] = 120.0,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--bewaar",
            "--workdir",
            help="Bewaar alles in deze map: per scenario en stap de verstuurde berichten, de antwoorden "
            "(retour of Fo01 met oorzaak), stdout/stderr van het doel (standaard: een tijdelijke map).",
        ),
    ] = None,
    allow_skip: Annotated[
        bool,
        typer.Option(
            "--allow-skip",
            help="Een run waarin het doel elk scenario overslaat (het doel eindigt dan met exitcode 3) toch laten slagen (exitcode 0).",
        ),
    ] = False,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-1.0|ieb-4.0",
            help="iEb-release van de scenario's (doel: IEB_RELEASE); standaard die uit ieb.toml, anders "
            "ieb-1.0.",
            show_default=False,
        ),
    ] = None,
    config: _ConfigOption = None,
) -> None:
    """Draai de scenario's tegen uw verzender en beoordeel wat er bij de simulator aankwam.

    De release komt uit --release, anders uit ieb.toml (of IEB_RELEASE), anders ieb-1.0; de run
    zegt welke het is.

    Exitcode 0: alle scenario's geslaagd (of overgeslagen); 1: minstens één mislukt, of alle
    overgeslagen zonder --allow-skip; 2: verkeerd gebruik.
    """
    import sys
    import tempfile

    from ieb.cli._common import configured_release, parse_today
    from ieb.conformance.runner import ScenarioResult, format_results, run_suite
    from ieb.errors import IebError
    from ieb.testing.pki import create_test_pki

    if format not in ("text", "json", "junit"):
        raise typer.BadParameter("kies uit text, json, junit", param_hint="--format")
    day = parse_today(today)
    chosen, source = configured_release(release, config)
    typer.echo(f"release {chosen} ({source})", err=True)

    def progress(r: ScenarioResult) -> None:
        state = "geslaagd" if r.passed else ("overgeslagen" if r.skipped else "MISLUKT")
        typer.echo(f"{r.name}: {state}" + (f" - {r.reason}" if r.reason and not r.passed else ""), err=True)

    with tempfile.TemporaryDirectory(prefix="ieb-conformance-") as tmp:
        base = workdir or Path(tmp)
        try:
            results = run_suite(
                target,
                pki=create_test_pki(base / "pki", ["0363", "GGK"]),  # run_suite's afzender
                workdir=base,
                today=day,
                only=only,
                timeout=timeout,
                progress=progress,
                release=chosen,
            )
        except IebError as exc:
            typer.echo(f"fout: {exc}", err=True)
            raise typer.Exit(2) from None
    data = format_results(results, format, target, release=chosen)
    if out is not None:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if workdir is not None:
        typer.echo(
            f"bewaard in {workdir}: per scenario stap-N/ontvangen/ (berichten en antwoorden)", err=True
        )
    if results and all(r.skipped for r in results) and not allow_skip:
        typer.echo(
            "fout: elk scenario is overgeslagen (het doel gaf steeds exitcode 3); dat is geen geslaagde "
            "toets. Gebruik --allow-skip als dat de bedoeling is.",
            err=True,
        )
        raise typer.Exit(1)
    raise typer.Exit(0 if all(r.passed or r.skipped for r in results) else 1)


@conformance_app.command(
    "list",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb conformance list\n  ieb conformance list --release ieb-4.0\n",
)
def list_command(
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-1.0|ieb-4.0",
            help="iEb-release van de scenario's; standaard die uit ieb.toml, anders ieb-1.0.",
            show_default=False,
        ),
    ] = None,
    config: _ConfigOption = None,
) -> None:
    """Toon de scenario's van de catalogus (van de release van ieb.toml, of --release)."""
    import datetime as dt

    from ieb.cli._common import configured_release
    from ieb.conformance.scenarios import catalogue
    from ieb.errors import IebError

    chosen, source = configured_release(release, config)
    typer.echo(f"release {chosen} ({source})", err=True)
    try:
        scenarios = catalogue(dt.date.today(), release=chosen)
    except IebError as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(2) from None
    for s in scenarios:
        typer.echo(f"{s.name:28} {s.title}")
