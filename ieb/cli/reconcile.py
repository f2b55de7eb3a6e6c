"""``ieb reconcile``: the CAK's HenV/ZA files against the gemeente's administration (docs/migration.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ieb.cli._common import COMMAND, claim_outputs, fail, parse_today
from ieb.types import mask_bsns

_EPILOG = """Voorbeeld:

  ieb reconcile --henv henv.csv --za za.csv --administratie administratie.csv \\
      --peildatum 2020-01-01 --out afstemming/
  ieb reconcile --henv henv.csv --za za.csv --administratie administratie.csv \\
      --peildatum 2020-01-01 --out afstemming/ --format json
"""


def _groepen(path: Path) -> dict[str, Any]:
    from ieb.policy import VoorzieningKind
    from ieb.tabular import TableError, read_table

    try:
        table = read_table(path, name=str(path), required=("code", "soort"), optional=("naam",))
    except TableError as exc:
        raise fail(str(exc)) from None
    out: dict[str, Any] = {}
    problems = []
    for row in table.rows:
        try:
            out[str(row["code"]).strip().upper()] = VoorzieningKind(str(row["soort"]).strip().lower())
        except ValueError:
            problems.append(
                f"{path}:{row.line}: kolom soort: kies uit {', '.join(s.value for s in VoorzieningKind)}"
            )
    if problems:
        raise fail("\n".join(problems))
    return out


def reconcile_command(
    henv: Annotated[Path, typer.Option("--henv", metavar="BESTAND", help="HenV-bestand van het CAK.")],
    za: Annotated[Path, typer.Option("--za", metavar="BESTAND", help="ZA-bestand van het CAK.")],
    administratie: Annotated[
        Path,
        typer.Option(
            "--administratie",
            metavar="BESTAND",
            help="Eigen administratie: CSV met de kolommen bsn, achternaam, voorletters, voorvoegsel, "
            "geboortedatum, soort, start, stop, kostprijs_cent, dossiernummer (zie docs/migration.md).",
        ),
    ],
    peildatum: Annotated[
        str, typer.Option("--peildatum", metavar="JJJJ-MM-DD", help="Overgangsdatum (niet voor 2020-01-01).")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="MAP", help="Map voor de rapporten en eerste-levering.csv.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|json",
            help="Uitvoer op het scherm: text of json (tekst mag ook, als eerder).",
        ),
    ] = "text",
    queue: Annotated[
        bool,
        typer.Option("--queue", help="Plan de eerste levering in het grootboek en zet de berichten klaar."),
    ] = False,
    afzender: Annotated[
        str | None,
        typer.Option("--afzender", metavar="CODE", help="Gemeentecode van de afzender (nodig bij --queue)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", metavar="URL", help="Grootboek: SQLAlchemy-URL of SQLite-bestand (bij --queue)."
        ),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            "--today", metavar="JJJJ-MM-DD", help="Dagtekening van de berichten (standaard: vandaag)."
        ),
    ] = None,
    groepen: Annotated[
        Path | None,
        typer.Option(
            "--groepen", metavar="BESTAND", help="Eigen tabel HENV_GROEP_CODE -> soort (CSV code;soort)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Bestaande rapporten in --out overschrijven.")
    ] = False,
) -> None:
    """Vergelijk de overdrachtsbestanden van het CAK (HenV, ZA) met de eigen administratie op BSN.

    Schrijft afstemming.html, afstemming-verschillen.csv, afstemming-fouten.csv, restbedragen.csv en de
    gewenste situatie eerste-levering.csv (voor ieb plan) in --out; met --queue wordt de eerste levering
    ook gepland en klaargezet om te versturen.
    """

    from ieb.errors import IebError
    from ieb.migration import (
        REPORT_FILES,
        ReconcileError,
        read_administratie,
        read_henv,
        read_za,
        reconcile,
        write_reports,
    )

    day = _check_options(fmt, peildatum, queue, afzender)
    dagtekening = parse_today(today)
    if out.exists() and not out.is_dir():
        raise fail(f"{out} is geen map")
    claim_outputs([out / name for name in REPORT_FILES], force=force)
    tabel = _groepen(groepen) if groepen else None

    gelezen = (
        read_henv(henv, name=str(henv), groepen=tabel),
        read_za(za, name=str(za)),
        read_administratie(administratie, name=str(administratie)),
    )
    onleesbaar = [g.bestand for g in gelezen if g.onleesbaar]
    try:
        result = reconcile(*gelezen, day)
        if not onleesbaar:
            write_reports(result, out)
    except ReconcileError as exc:
        raise fail(exc.message) from None
    except IebError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out}: niet te schrijven ({exc.strerror or exc})") from None
    for warning in result.waarschuwingen:
        typer.echo(f"let op: {mask_bsns(warning)}", err=True)
    queued_line = None
    if queue and not onleesbaar:
        queued_line = _queue(result, afzender or "", db, dagtekening)
    summary = result.summary()
    if fmt == "json":
        typer.echo(json.dumps(summary, ensure_ascii=False))
        if queued_line:
            typer.echo(queued_line, err=True)
    else:
        _print_text(summary, result, out, onleesbaar, queued_line)
    if onleesbaar:
        typer.echo(
            f"fout: niet te lezen: {', '.join(onleesbaar)}; er zijn geen rapporten geschreven", err=True
        )
        raise typer.Exit(1)


def _check_options(fmt: str, peildatum: str, queue: bool, afzender: str | None) -> dt.date:
    """The options a reader can get wrong, checked before any file is read (exit 2): ``--format``,
    ``--peildatum`` (JJJJ-MM-DD) and, with ``--queue``, ``--afzender`` (a gemeentecode, 4 digits)."""
    if fmt not in ("text", "tekst", "json"):  # "tekst": the earlier name, still accepted
        raise typer.BadParameter("kies text of json", param_hint="--format")
    try:
        day = dt.date.fromisoformat(peildatum)
    except ValueError:
        raise typer.BadParameter(
            f"{peildatum!r} is geen datum JJJJ-MM-DD", param_hint="--peildatum"
        ) from None
    if queue:
        from ieb.types import Gemeentecode

        if afzender is None:
            raise typer.BadParameter(
                "--queue heeft --afzender nodig (gemeentecode, 4 cijfers)", param_hint="--afzender"
            )
        try:
            Gemeentecode(afzender)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--afzender") from None
    return day


def _queue(result: Any, afzender: str, db: str | None, dagtekening: Any) -> str:
    """--queue: plan the initial delivery and put it in the outbox in one transaction (ieb.Exchange.plan_and_queue)."""
    from ieb.errors import IebError
    from ieb.ledger.errors import PlanningError
    from ieb.migration import queue_initial

    url = db or os.environ.get("IEB_DB") or "ieb.sqlite"
    try:
        queued = queue_initial(result, url, afzender, today=dagtekening)
    except PlanningError as exc:
        typer.echo(f"fout: {mask_bsns(exc.message)}", err=True)
        for problem in exc.issues:
            typer.echo(f"  - {mask_bsns(str(problem))}", err=True)
        raise typer.Exit(1) from None
    except IebError as exc:
        raise fail(str(exc)) from None
    counts = ", ".join(f"{n} {b}" for b, n in sorted(queued.count.items())) or "geen berichten"
    deferred = f", {len(queued.plan.deferred)} uitgesteld" if queued.plan.deferred else ""
    return f"klaargezet in de outbox: {counts}{deferred}"


def _print_text(
    summary: dict[str, Any], result: Any, out: Path, onleesbaar: list[str], queued: str | None
) -> None:
    from ieb.migration import CakRegel
    from ieb.migration.report import euro

    typer.echo(f"Afstemming op {result.peildatum.isoformat()}")
    typer.echo(f"  alleen bij het CAK:        {summary['alleen_cak']}")
    typer.echo(f"  alleen bij de gemeente:    {summary['alleen_gemeente']}")
    typer.echo(f"  bij beide:                 {summary['beide']} (met verschillen: {summary['verschillen']})")
    for categorie, n in result.per_categorie().items():
        typer.echo(f"    {categorie.omschrijving.lower()}: {n}")
    typer.echo(f"  restbedrag bij het CAK:    {euro(summary['restbedrag_cent'])}")
    typer.echo(f"  startberichten:            {summary['startberichten']}")
    typer.echo(f"  foute regels:              {len(result.fouten)}")
    for bestand, telling in sorted(result.cak_telling().items()):
        parts = ", ".join(f"{c.omschrijving} {telling[c.value]}" for c in CakRegel if telling[c.value])
        typer.echo(f"  regels in {bestand}: {sum(telling.values())} ({parts or 'geen'})")
    for f in result.fouten[:20]:
        typer.echo(f"    {mask_bsns(str(f))}")
    if len(result.fouten) > 20:
        typer.echo(f"    ... en nog {len(result.fouten) - 20} (zie afstemming-fouten.csv)")
    if not onleesbaar:
        typer.echo(f"Rapporten: {out / 'afstemming.html'}, gewenste situatie: {out / 'eerste-levering.csv'}")
    if queued:
        typer.echo(queued)


def register(app: typer.Typer) -> None:
    """Add ``ieb reconcile`` (docs/migration.md) to the Typer ``app``."""
    app.command("reconcile", cls=COMMAND, epilog=_EPILOG)(reconcile_command)
