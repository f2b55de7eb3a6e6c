"""``ieb beleidsinformatie --van D --tot D --out DIR``: counts per month and gemeente, a GMSD-style
export and an HTML page with charts from the stored iWmo messages (docs/beleidsinformatie.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ieb.cli._common import COMMAND, claim_outputs, parse_today
from ieb.cli._exchange import ConfigOption, DbOption, exchange_for, fail
from ieb.cli.iwmo import InstellingenOption, TriggerOption, derive_for, instellingen_for

#: What ``--out`` receives (see ieb.iwmo.beleid.Beleidsinformatie.write).
OUTPUT_FILES = (
    "maanden.csv",
    "categorieen.csv",
    "leeftijd.csv",
    "redenen.csv",
    "gmsd.csv",
    "kolommen.csv",
    "beleidsinformatie.html",
)


def beleidsinformatie_command(
    van: Annotated[str, typer.Option("--van", metavar="JJJJ-MM-DD", help="Eerste dag.")],
    tot: Annotated[str, typer.Option("--tot", metavar="JJJJ-MM-DD", help="Laatste dag.")],
    out: Annotated[
        Path,
        typer.Option("--out", metavar="MAP", help="Map voor de CSV-bestanden en beleidsinformatie.html."),
    ],
    trigger: TriggerOption = None,
    instellingen: InstellingenOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Bestaande bestanden in --out overschrijven.")
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Beleidsinformatie uit de iWmo-berichten: per maand en gemeente, GMSD-export, HTML met grafieken."""
    from ieb.iwmo.beleid import Beleidsinformatie
    from ieb.iwmo.store import IwmoStore

    first = parse_today(van, "--van")
    last = parse_today(tot, "--tot")
    assert first is not None and last is not None
    if last < first:
        raise typer.BadParameter(f"{last} ligt voor --van {first}", param_hint="--tot")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is geen map", param_hint="--out")
    claim_outputs([out / name for name in OUTPUT_FILES], force=force)
    ex = exchange_for(config, db, needs="database", must_exist=True)
    try:
        settings = instellingen_for(ex, instellingen, trigger, None)
        desired = derive_for(ex, settings, None)
        state = IwmoStore(ex.engine).state()
        info = Beleidsinformatie.compute(
            state, desired, first, last, settings, gemeenten=ex.config.gemeenten or None
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    finally:
        ex.close()
    for path in info.write(out):
        typer.echo(str(path))
    typer.echo(f"{len(info.maanden)} maand(en) x gemeente, {len(info.gmsd)} arrangement(en) in gmsd.csv")


def register(app: typer.Typer) -> None:
    """Add ``ieb beleidsinformatie`` to the ``ieb`` app."""
    app.command(
        "beleidsinformatie",
        cls=COMMAND,
        epilog="Voorbeeld:\n\n  ieb beleidsinformatie --van 2026-01-01 --tot 2026-12-31 --out beleid-2026/\n",
    )(beleidsinformatie_command)
