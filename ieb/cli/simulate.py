"""``ieb simulate ...``: the other side of the exchange.

``simulate_app`` is the ``simulate`` sub-command group. Other modules add commands to it (for example
``ieb simulate serve``) by importing it: ``from ieb.cli.simulate import simulate_app`` and
``@simulate_app.command("serve")``; the group itself is registered here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

simulate_app = typer.Typer(
    name="simulate",
    help="De andere kant van de uitwisseling (CAK), om tegen te testen.",
    no_args_is_help=True,
)


@simulate_app.command("process")
def process_command(
    files: Annotated[
        list[Path], typer.Argument(help="Heenberichten (WMO401/WMO403), in deze volgorde verwerkt.")
    ],
    state: Annotated[
        str, typer.Option("--state", help="Database van het CAK (SQLite-bestand of URL); wordt aangemaakt.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Map voor <naam>.retour.xml.")],
    today: Annotated[
        str | None, typer.Option("--today", help="Systeemdatum van het CAK, JJJJ-MM-DD.")
    ] = None,
    level1: Annotated[
        str,
        typer.Option("--level1", help="Niveau-1-fout: 'retour' (header + 0001, IV028) of 'none' (IV032)."),
    ] = "retour",
    gemeenten: Annotated[
        Path | None, typer.Option("--gemeenten", help="Eigen CBS-gemeentelijst (CSV).")
    ] = None,
) -> None:
    """Verwerk heenberichten zoals het CAK en schrijf per bestand DIR/<naam>.retour.xml."""
    from ieb.errors import IebError
    from ieb.simulator.cak import CakConfig, CakSimulator
    from ieb.validation.gemeenten import GemeenteLijst

    if level1 not in ("retour", "none"):
        raise typer.BadParameter("kies retour of none", param_hint="--level1")
    day = None
    if today is not None:
        try:
            day = dt.date.fromisoformat(today)
        except ValueError:
            raise typer.BadParameter(f"{today!r} is geen datum", param_hint="--today") from None
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        typer.echo(f"fout: bestand(en) niet gevonden: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    try:
        config = CakConfig(
            level1="none" if level1 == "none" else "retour",
            gemeenten=GemeenteLijst.from_csv(gemeenten) if gemeenten else None,
        )
        cak = CakSimulator(state, config, today=day)
        try:
            results = cak.process_files(files, out)
        finally:
            cak.close()
    except IebError as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(1) from None
    for r in results:
        stem = Path(r.source).stem
        target = out / (f"{stem}.retour.xml" if r.retour is not None else f"{stem}.geen-retour.txt")
        codes = " ".join(r.codes) or "-"
        typer.echo(f"{r.source}: {r.verdict} [{codes}] -> {target}" + (f" ({r.reason})" if r.reason else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(simulate_app, name="simulate")
