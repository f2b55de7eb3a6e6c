"""``ieb simulate ...``: the other side of the exchange.

``simulate_app`` is the ``simulate`` sub-command group. Other modules add commands to it (for example
``ieb simulate serve``) by importing it: ``from ieb.cli.simulate import simulate_app`` and
``@simulate_app.command("serve")``; the group itself is registered here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ieb.cli._common import COMMAND, GROUP, claim_outputs, fail, parse_today, print_problems, usage_error

if TYPE_CHECKING:
    import datetime as dt

    from ieb.simulator.cak import CakSimulator

simulate_app = typer.Typer(
    name="simulate",
    cls=GROUP,
    help="De andere kant van de uitwisseling (CAK), om tegen te testen.",
    epilog=(
        "Voorbeeld:\n\n  ieb simulate process --state cak.sqlite --out retouren/ berichten/*.xml\n"
        "  ieb simulate serve --config simulator.toml\n"
    ),
    no_args_is_help=True,
)

#: the simulator's verdicts in the clerk's words
VERDICT_NL = {
    "accepted": "geaccepteerd",
    "rejected": "afgekeurd",
    "technical": "technisch afgekeurd",
    "no_retour": "geen retour",
    "repeat": "herhaling (eerder verwerkt)",
}


def _targets(files: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """Per input the retour file and the no-retour note; inputs with the same name get -2, -3, ..."""
    used: dict[str, int] = {}
    pairs = []
    for f in files:
        stem = f.stem
        n = used.get(stem.lower(), 0) + 1
        used[stem.lower()] = n
        name = stem if n == 1 else f"{stem}-{n}"
        pairs.append((out / f"{name}.retour.xml", out / f"{name}.geen-retour.txt"))
    return pairs


@simulate_app.command("process", cls=COMMAND)
def process_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="BESTAND", help="Heenberichten, in deze volgorde verwerkt."),
    ],
    state: Annotated[
        str,
        typer.Option(
            "--state",
            metavar="DATABASE",
            help="Database van het CAK (SQLite-bestand of URL); wordt aangemaakt.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", metavar="MAP", help="Map voor <naam>.retour.xml.")],
    today: Annotated[
        str | None,
        typer.Option("--today", metavar="JJJJ-MM-DD", help="Systeemdatum van het CAK; standaard vandaag."),
    ] = None,
    level1: Annotated[
        str,
        typer.Option(
            "--level1",
            metavar="retour|none",
            help="Bij een niveau-1-fout: 'retour' (header + 0001, IV028) of 'none' (geen retour, IV032).",
        ),
    ] = "retour",
    gemeenten: Annotated[
        Path | None, typer.Option("--gemeenten", metavar="CSV", help="Eigen CBS-gemeentelijst (CSV).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Bestaande retourbestanden in MAP overschrijven.")
    ] = False,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-4.0|ieb-1.0",
            help="Het CAK spreekt alleen deze release; een bericht van een andere krijgt geen retour.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Verwerk heenberichten zoals het CAK en schrijf per bestand MAP/<naam>.retour.xml.

    Twee invoerbestanden met dezelfde naam (a/bericht.xml, b/bericht.xml) krijgen elk een eigen retour (bericht.retour.xml, bericht-2.retour.xml); een bestaand bestand wordt niet overschreven zonder --force (dan wordt er niets verwerkt).

    Exitcode 0: verwerkt; 1: fout (niets overschreven); 2: verkeerd gebruik.

    Voorbeeld: ieb simulate process --state cak.sqlite --out retours/ berichten/*.xml
    """
    from ieb.errors import IebError
    from ieb.simulator.cak import CakConfig, CakSimulator
    from ieb.validation.gemeenten import GemeenteLijst

    if level1 not in ("retour", "none"):
        raise usage_error("kies retour of none", "--level1")
    if release is not None:
        from ieb.releases import default_registry

        known = [p.name for p in default_registry if p.retour_writer is not None]
        if release not in known:
            raise usage_error(f"onbekende release {release!r}; kies uit {', '.join(known)}", "--release")
    day = parse_today(today)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        typer.echo(f"fout: bestand(en) niet gevonden: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    pairs = _targets(files, out)
    claim_outputs([t for pair in pairs for t in pair], force=force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"map {out} kan niet worden aangemaakt: {exc.strerror or exc}") from None
    try:
        config = CakConfig(
            level1="none" if level1 == "none" else "retour",
            gemeenten=GemeenteLijst.from_csv(gemeenten) if gemeenten else None,
            release=release,
        )
        cak = CakSimulator(state, config, today=day)
        try:
            for f, (retour_path, note_path) in zip(files, pairs, strict=True):
                _process_one(cak, f, retour_path, note_path, day)
        finally:
            cak.close()
    except IebError as exc:
        print_problems(exc)
        raise typer.Exit(1) from None
    except OSError as exc:
        raise fail(f"schrijven mislukt: {exc.strerror or exc}") from None


def _process_one(
    cak: CakSimulator, file: Path, retour_path: Path, note_path: Path, day: dt.date | None
) -> None:
    """Let ``cak`` process one heenbericht, write its retour (or the no-retour note) and print one line.

    The line names the verdict in Dutch, the retourcodes and the file written (a BSN in a file name
    masked). Raises ``OSError``
    when a file cannot be read or written (the caller reports it).
    """
    from ieb.types import mask_bsns

    r = cak.process(file.read_bytes(), source=str(file), today=day)
    if r.retour is not None:
        retour_path.write_bytes(r.retour)
        target = retour_path
    else:
        note_path.write_text(f"{file.name}: geen retour. {r.reason}\n", encoding="utf-8")
        target = note_path
    codes = " ".join(r.codes) or "geen codes"
    reason = f" ({r.reason})" if r.reason else ""
    line = f"{file}: {VERDICT_NL.get(r.verdict, r.verdict)} [{codes}] -> {target}{reason}"
    typer.echo(mask_bsns(line))  # a BSN in a file name too


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command group (with ``process`` and what other modules add) to the ``ieb`` app."""
    app.add_typer(simulate_app, name="simulate")
