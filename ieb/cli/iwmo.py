"""``ieb iwmo lees | gewenst | uitleg``: the eigen bijdrage from the iWmo messages (docs/iwmo.md).

The database is the one of ``ieb.toml`` (``--config``, ``$IEB_CONFIG``, ``./ieb.toml``; ``--db``
overrides). The gemeente parameters come from ``iwmo.toml`` next to ``ieb.toml`` (or
``--instellingen``); ``--trigger`` and ``--kostprijs`` override them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ieb.cli._common import COMMAND, GROUP, claim_outputs, parse_today
from ieb.cli._exchange import ConfigOption, DbOption, exchange_for, fail

if TYPE_CHECKING:
    from ieb.exchange import Exchange
    from ieb.iwmo.desired import Desired, Instellingen
    from ieb.iwmo.store import FileResult

iwmo_app = typer.Typer(
    name="iwmo",
    cls=GROUP,
    help="iWmo-berichten (WMO301/305/307) lezen en er de eigen bijdrage uit afleiden.",
    no_args_is_help=True,
    epilog="Voorbeeld:\n\n  ieb iwmo lees iwmo-berichten/\n  ieb iwmo gewenst --out gewenst.csv\n  ieb plan --iwmo --queue\n",
)

InstellingenOption = Annotated[
    Path | None,
    typer.Option(
        "--instellingen",
        help="iwmo.toml met trigger, bijdrageplicht en pauzeregel (standaard: iwmo.toml naast ieb.toml).",
        show_default=False,
    ),
]
TriggerOption = Annotated[
    str | None,
    typer.Option(
        "--trigger",
        help="Wat de eigen bijdrage start en stopt: toewijzing|levering (overschrijft iwmo.toml).",
        show_default=False,
    ),
]
KostprijsOption = Annotated[
    Path | None,
    typer.Option(
        "--kostprijs",
        help="CSV met toewijzingnummer,kostprijs_cent[,gemeente] voor hulpmiddelen en woonvoorzieningen.",
        show_default=False,
    ),
]
PeildatumOption = Annotated[
    str | None,
    typer.Option(
        "--peildatum",
        metavar="JJJJ-MM-DD",
        help="Alleen berichten met een Dagtekening op of voor deze datum (standaard: alle).",
        show_default=False,
    ),
]


def instellingen_for(
    ex: Exchange, path: Path | None, trigger: str | None, kostprijs: Path | None
) -> Instellingen:
    """The settings of a command: ``path``, else ``iwmo.toml`` beside the configuration file (when it
    exists), with ``--trigger`` applied to every gemeente. Ends the command (exit 2) on a bad setting."""
    from dataclasses import replace

    from ieb.errors import IebError
    from ieb.iwmo.desired import Instellingen, Trigger, load_instellingen
    from ieb.tabular import TableError

    if path is None and ex.config.source is not None:
        beside = ex.config.source.parent / "iwmo.toml"
        path = beside if beside.is_file() else None
    elif path is not None and not path.is_file():
        fail(f"{path} bestaat niet of is geen bestand (--instellingen)", code=2)
    if kostprijs is not None and not kostprijs.is_file():
        fail(f"{kostprijs} bestaat niet of is geen bestand (--kostprijs)", code=2)
    try:
        settings = load_instellingen(path, kostprijs=kostprijs)
    except TableError as exc:
        fail(exc.message, [i.describe(exc.name) for i in exc.issues], code=2)
    except IebError as exc:
        where = f"{path}: " if path is not None else ""
        fail(f"{where}{exc}", code=2)
    if trigger is not None:
        try:
            chosen = Trigger(trigger)
        except ValueError:
            raise typer.BadParameter("kies toewijzing of levering", param_hint="--trigger") from None
        settings = Instellingen(
            replace(settings.standaard, trigger=chosen),
            {g: replace(s, trigger=chosen) for g, s in settings.gemeenten.items()},
            settings.kostprijzen,
        )
    return settings


def derive_for(ex: Exchange, settings: Instellingen, peildatum: dt.date | None) -> Desired:
    """The desired state of the gemeenten of ``ieb.toml`` from the store of ``ex``."""
    from ieb.iwmo.desired import Desired, derive
    from ieb.iwmo.state import replay
    from ieb.iwmo.store import IwmoStore

    rows = IwmoStore(ex.engine).rows(peildatum=peildatum)
    state = replay(rows)
    products = dict(rows)
    gemeenten = ex.config.gemeenten
    if not gemeenten:
        return derive(state, settings, products=products)
    result = Desired()
    for g in gemeenten:
        part = derive(state, settings, products=products, gemeente=g)
        result.periods += part.periods
        result.zonder_periode += part.zonder_periode
        result.problems += part.problems
        result.notes.update(part.notes)
    return result


def summary_lines(desired: Desired) -> list[str]:
    """What a clerk sees after deriving: retroactive periods and persons left out (BSN masked)."""
    from ieb.iwmo.desired import describe_period

    lines = [f"met terugwerkende kracht: {describe_period(p)}" for p in desired.terugwerkend]
    lines += [f"niet afgeleid: {p}" for p in desired.problems]
    return lines


def _show(result: FileResult) -> None:
    typer.echo(result.describe())
    for finding in result.findings:
        line = f"  regel {finding.regel}: " if finding.regel else "  "
        typer.echo(f"{line}[{finding.code}] {finding.tekst}")


def desired_file_for(config: Path | None, db: str | None) -> Path:
    """For ``ieb plan --iwmo``: derive the desired state of the gemeenten of ``ieb.toml`` (settings
    from ``iwmo.toml`` beside it), print what a clerk must know, and write it to a temporary CSV
    (removed when the process ends)."""
    import atexit
    import shutil
    import tempfile

    ex = exchange_for(config, db, needs="gemeenten en database")
    try:
        desired = derive_for(ex, instellingen_for(ex, None, None, None), None)
    finally:
        ex.close()
    folder = Path(tempfile.mkdtemp(prefix="ieb-iwmo-"))
    atexit.register(shutil.rmtree, folder, True)
    path = desired.write_csv(folder / "gewenst-iwmo.csv")
    for line in summary_lines(desired):
        typer.echo(line)
    persons = len({(p.gemeente, p.bsn) for p in desired.periods})
    typer.echo(f"uit iWmo: {len(desired.periods)} periode(s) van {persons} persoon/personen")
    return path


@iwmo_app.command(
    "lees",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb iwmo lees iwmo-berichten/\n  ieb iwmo lees WMO305.xml WMO307.xml --stil\n",
)
def lees_command(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PAD", help="WMO301/305/307-bestanden, mappen of StUF-GGk-enveloppen."),
    ],
    stil: Annotated[
        bool, typer.Option("--stil", help="Alleen bestanden met meldingen tonen, en het totaal.")
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Lees iWmo-berichten in de database; per bestand wat gelezen en wat geweigerd is (met regel)."""
    from ieb.iwmo.store import IwmoStore

    for path in paths:
        if not path.exists():
            raise typer.BadParameter(f"{path} bestaat niet", param_hint="PAD")
    ex = exchange_for(config, db, needs="database")
    try:
        store = IwmoStore(ex.engine)
        try:
            report = store.read(paths, progress=lambda r: _show(r) if r.findings or not stil else None)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc), code=2)
    finally:
        ex.close()
    totals = report.totals()
    typer.echo(
        f"{totals['bestanden']} bestand(en): {totals['opgeslagen']} product(en) opgeslagen, "
        f"{totals['al_gelezen']} al gelezen, {totals['geweigerd']} geweigerd"
    )
    if report.errors:
        raise typer.Exit(1)


@iwmo_app.command(
    "gewenst",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb iwmo gewenst --out gewenst.csv\n  ieb iwmo gewenst --out gewenst.csv --trigger levering\n",
)
def gewenst_command(
    out: Annotated[Path, typer.Option("--out", help="Het gewenste-situatiebestand (CSV) voor ieb plan.")],
    trigger: TriggerOption = None,
    peildatum: PeildatumOption = None,
    instellingen: InstellingenOption = None,
    kostprijs: KostprijsOption = None,
    force: Annotated[bool, typer.Option("--force", help="Een bestaand --out-bestand overschrijven.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Schrijf de gewenste situatie (gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start) uit de iWmo-berichten."""
    day = parse_today(peildatum, "--peildatum")
    if not out.parent.is_dir():
        raise typer.BadParameter(f"map {out.parent} bestaat niet", param_hint="--out")
    claim_outputs([out], force=force)
    ex = exchange_for(config, db, needs="database", must_exist=True)
    try:
        settings = instellingen_for(ex, instellingen, trigger, kostprijs)
        desired = derive_for(ex, settings, day)
    finally:
        ex.close()
    desired.write_csv(out)
    for line in summary_lines(desired):
        typer.echo(line)
    persons = len({(p.gemeente, p.bsn) for p in desired.periods})
    typer.echo(
        f"{out}: {len(desired.periods)} periode(s) van {persons} persoon/personen, "
        f"{len(desired.zonder_periode)} persoon/personen zonder periode, "
        f"{len(desired.terugwerkend)} met terugwerkende kracht"
    )
    if desired.problems:
        raise typer.Exit(1)


@iwmo_app.command("uitleg", cls=COMMAND, epilog="Voorbeeld:\n\n  ieb iwmo uitleg 999900006\n")
def uitleg_command(
    bsn: Annotated[str, typer.Argument(help="Bsn van de client (9 cijfers).")],
    trigger: TriggerOption = None,
    peildatum: PeildatumOption = None,
    instellingen: InstellingenOption = None,
    kostprijs: KostprijsOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Leg uit welke berichten achter de perioden van één persoon staan."""
    from ieb.iwmo.desired import explain
    from ieb.iwmo.store import IwmoStore
    from ieb.types import bsn_is_valid

    if not bsn_is_valid(bsn.strip()):
        raise typer.BadParameter("geen geldig Bsn (9 cijfers, 11-proef)", param_hint="BSN")
    day = parse_today(peildatum, "--peildatum")
    ex = exchange_for(config, db, needs="database", must_exist=True)
    try:
        settings = instellingen_for(ex, instellingen, trigger, kostprijs)
        desired = derive_for(ex, settings, day)
        rows = IwmoStore(ex.engine).rows(bsn=bsn.strip(), peildatum=day)
    finally:
        ex.close()
    lines = explain(bsn.strip(), desired, rows)
    if not lines:
        fail("geen iWmo-berichten gelezen voor dit Bsn")
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the ``iwmo`` command group to the ``ieb`` app."""
    app.add_typer(iwmo_app, name="iwmo")


__all__ = ["derive_for", "desired_file_for", "instellingen_for", "iwmo_app", "register", "summary_lines"]
