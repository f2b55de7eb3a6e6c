"""``ieb release check DIR``: compare the ieb-4.0 binding with an official iEb 4.0 XSD folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ieb.cli._common import COMMAND, GROUP, fail, usage_error

__all__ = ["register"]

release_app = typer.Typer(
    cls=GROUP,
    help="iEb-releases: de officiële XSD's van een release controleren en registreren.",
    no_args_is_help=True,
    epilog="Voorbeeld:\n\n  ieb release check iEb-4.0-xsd/\n",
)


@release_app.command(
    "check",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb release check iEb-4.0-xsd/\n  ieb release check iEb-4.0-xsd/ --no-register --format json\n",
)
def check(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="MAP",
            help="Map met de officiële XSD's van iEb 4.0 (zoals het Zorginstituut ze publiceert).",
            show_default=False,
        ),
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="text|json", help="Uitvoer: text (mensen) of json.")
    ] = "text",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="BESTAND",
            help="ieb.toml waarin de map wordt geregistreerd; standaard $IEB_CONFIG of ./ieb.toml.",
        ),
    ] = None,
    register: Annotated[
        bool,
        typer.Option("--register/--no-register", help="Registreer de map in ieb.toml als alles past."),
    ] = True,
    binding: Annotated[
        Path | None,
        typer.Option(
            "--binding",
            metavar="BESTAND",
            help="Eigen bindingsbestand in plaats van dat van het ieb-4.0-pakket.",
        ),
    ] = None,
) -> None:
    """Controleer per gebonden element of het in de XSD's van MAP bestaat met een passend type.

    Past alles, dan wordt MAP als release_xsd in ieb.toml gezet, zodat bouwen en valideren onder
    release ieb-4.0 de officiële XSD's gebruiken. Een afwijking noemt de regel van binding.toml die
    moet worden aangepast. Exitcode 0: alles past; 1: afwijkingen; 2: verkeerd gebruik.
    """
    from ieb.config import find_config
    from ieb.errors import ConfigurationError
    from ieb.releases.ieb_4_0.check import check_folder
    from ieb.releases.ieb_4_0.registration import register_in_config

    if format not in ("text", "json"):
        raise usage_error(f"{format!r}: kies text of json", "--format")
    if not folder.is_dir():
        raise usage_error(f"{folder} bestaat niet of is geen map", "MAP")
    try:
        report = check_folder(folder, binding_file=binding)
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
    registered: str | None = None
    note: str | None = None
    if report.ok and register:
        try:
            target = find_config(config)
        except ConfigurationError as exc:
            raise fail(str(exc)) from None
        if target is None:
            note = "niet geregistreerd: geen ieb.toml gevonden (maak er een met ieb init, of geef --config)"
        else:
            try:
                register_in_config(target, folder)
            except ConfigurationError as exc:
                raise fail(str(exc)) from None
            registered = str(target)
    if format == "json":
        data = report.to_dict()
        data["geregistreerd_in"] = registered
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"map {folder} (release in appinfo: {report.release or 'onbekend'})")
        for message in report.messages:
            state = "past" if message.ok else "past NIET"
            typer.echo(
                f"{message.bericht}: {state}  xsd={message.schema.name if message.schema else '-'} "
                f"BerichtCode={message.bericht_code or '-'} namespace={message.namespace or '-'}"
            )
            for item in message.items:
                mark = "ok  " if item.ok else "FOUT"
                where = f" [{item.where}]" if item.where else ""
                typer.echo(
                    f"  {mark} {item.path or '-'}{where}: {item.message if not item.ok else item.status}"
                )
                if item.fix and not item.ok:
                    typer.echo(f"       oplossing: {item.fix}")
        problems = report.problems
        typer.echo(f"{len(problems)} afwijking(en)" if problems else "alle gebonden elementen passen")
        if registered:
            typer.echo(f"geregistreerd: release_xsd = {folder.resolve()} in {registered}")
        elif note:
            typer.echo(note)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``ieb release`` to the CLI."""
    app.add_typer(release_app, name="release")
