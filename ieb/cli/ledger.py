"""``ieb plan``, ``ieb retour`` and ``ieb status``: the municipality's ledger on the command line.

``--db URL`` everywhere: a SQLAlchemy URL (``postgresql+psycopg://...``) or a SQLite file path;
default ``$IEB_DB`` or ``./ieb.sqlite``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ieb.cli._common import parse_today as _today

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database: SQLAlchemy URL or SQLite file (default $IEB_DB or ./ieb.sqlite)."),
]
TodayOption = Annotated[
    str | None, typer.Option("--today", help="Dagtekening / date of today, JJJJ-MM-DD (default: today).")
]


def _fail(message: str, details: list[str] | None = None) -> None:
    typer.echo(f"fout: {message}", err=True)
    for line in details or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(1)


def plan_command(
    desired: Annotated[
        Path, typer.Argument(help="Gewenste situatie: CSV, JSON of JSON-lines (zie docs/ledger.md).")
    ],
    afzender: Annotated[str, typer.Option("--afzender", help="Gemeentecode van de afzender (4 cijfers).")],
    out: Annotated[Path, typer.Option("--out", help="Map voor de berichtbestanden.")] = Path("."),
    db: DbOption = None,
    today: TodayOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Alleen tonen; niets vastleggen of schrijven.")
    ] = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="Plan wat kan; meld personen waarvoor het niet kan.")
    ] = False,
    gemeenten: Annotated[
        Path | None, typer.Option("--gemeenten", help="Eigen CBS-gemeentelijst (CSV).")
    ] = None,
) -> None:
    """Plan de berichten (WMO401/WMO403) die het grootboek naar de gewenste situatie brengen."""
    from ieb.errors import IebError
    from ieb.ledger.errors import PlanningError
    from ieb.ledger.planner import plan, read_desired
    from ieb.ledger.store import Ledger
    from ieb.types import Gemeentecode
    from ieb.validation.gemeenten import GemeenteLijst

    try:
        Gemeentecode(afzender)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--afzender") from None
    try:
        wanted = read_desired(desired)
        lijst = GemeenteLijst.from_csv(gemeenten) if gemeenten else None
        with Ledger.open(db) as ledger:
            result = plan(
                ledger,
                afzender,
                wanted,
                today=_today(today),
                gemeenten=lijst,
                record=not dry_run,
                partial=partial,
            )
    except PlanningError as exc:
        _fail(exc.message, exc.problems)
        return
    except IebError as exc:
        _fail(str(exc))
        return
    paths = [] if dry_run else result.write(out)
    for m in result.messages:
        target = out / m.filename if not dry_run else Path(m.filename)
        typer.echo(f"{target}: {m.delivery.describe()} - {m.reason}")
    for problem in result.problems:
        typer.echo(f"niet gepland: {problem}", err=True)
    for deferred in result.deferred:
        typer.echo(f"uitgesteld: {deferred.describe()}")
    typer.echo(
        f"{len(result.messages)} bericht(en) gepland"
        + (f", {len(result.deferred)} uitgesteld" if result.deferred else "")
        + (" (proef, niets vastgelegd)" if dry_run else f", {len(paths)} bestand(en) in {out}")
    )
    if result.problems:
        raise typer.Exit(1)


def retour_command(
    files: Annotated[list[Path], typer.Argument(help="Retourbestanden (WMO402/WMO404).")],
    db: DbOption = None,
) -> None:
    """Verwerk retouren in het grootboek (alles of niets, in één transactie)."""
    from ieb.errors import IebError
    from ieb.ledger.retour import process_retour_files
    from ieb.ledger.store import Ledger

    try:
        with Ledger.open(db) as ledger:
            results = process_retour_files(ledger, files)
    except IebError as exc:
        _fail(str(exc))
        return
    for r in results:
        note = " (dubbel ontvangen, niets gewijzigd)" if r.duplicate else ""
        codes = " ".join(r.codes) or "-"
        typer.echo(
            f"{r.source}: {r.bericht} op {r.afzender}/{r.identificatie}/{r.dagtekening}: {r.outcome} [{codes}]{note}"
        )


def _status_data(db: str | None, afzender: str | None, bsn: str | None) -> dict[str, Any]:
    from ieb.ledger.store import Ledger
    from ieb.types import RetourCode, mask_bsn

    def text(code: str) -> str:
        try:
            return RetourCode(code).omschrijving
        except ValueError:
            return ""

    with Ledger.open(db) as ledger:
        periods = ledger.periods(afzender)
        with ledger.engine.connect() as conn:
            rows = ledger.rows(conn, afzender=afzender, bsn=bsn)
    current = []
    for (afz, b), items in sorted(periods.items()):
        if bsn is not None and b != bsn:
            continue
        for p in items:
            current.append(
                {
                    "afzender": afz,
                    "bsn": mask_bsn(b),
                    "eb_start_nummer": p.eb_start_nummer,
                    "start": p.start.datum.isoformat(),
                    "stop": p.stop.datum.isoformat() if p.stop else None,
                    "kostprijs_cent": p.start.kostprijs_bedrag,
                    "kostprijs_start": p.start.kostprijs_startdatum.isoformat()
                    if p.start.kostprijs_startdatum
                    else None,
                }
            )

    def row(r: Any) -> dict[str, Any]:
        d = r.delivery
        return {
            "afzender": d.afzender,
            "identificatie": d.identificatie,
            "dagtekening": d.dagtekening.isoformat(),
            "bericht": d.bericht,
            "bsn": mask_bsn(d.bsn),
            "eb_start_nummer": d.eb_start_nummer,
            "status": d.status,
            "datum": d.datum.isoformat(),
            "outcome": r.outcome,
            "retour_codes": [{"code": c, "omschrijving": text(c)} for c in r.retour_codes],
            "detail": r.detail,
        }

    return {
        "current": current,
        "pending": [row(r) for r in rows if r.outcome == "pending"],
        "rejected": [row(r) for r in rows if r.outcome in ("rejected", "technical", "not_assessed")],
        "counts": {o: sum(1 for r in rows if r.outcome == o) for o in sorted({r.outcome for r in rows})},
    }


def status_command(
    db: DbOption = None,
    afzender: Annotated[str | None, typer.Option("--afzender", help="Alleen deze gemeente.")] = None,
    bsn: Annotated[str | None, typer.Option("--bsn", help="Alleen dit Bsn (uitvoer gemaskeerd).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text of json.")] = "text",
) -> None:
    """Toon wat actueel is, wat nog op een retour wacht en wat is afgekeurd (en waarom)."""
    from ieb.errors import IebError

    if fmt not in ("text", "json"):
        raise typer.BadParameter("kies text of json", param_hint="--format")
    try:
        data = _status_data(db, afzender, bsn)
    except IebError as exc:
        _fail(str(exc))
        return
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(f"Actueel ({len(data['current'])}):")
    for p in data["current"]:
        kp = (
            f", kostprijs {p['kostprijs_cent']} cent vanaf {p['kostprijs_start']}"
            if p["kostprijs_cent"] is not None
            else ""
        )
        typer.echo(
            f"  {p['afzender']} Bsn {p['bsn']} nr {p['eb_start_nummer']}: {p['start']} t/m {p['stop'] or 'open'}{kp}"
        )
    typer.echo(f"Wacht op retour ({len(data['pending'])}):")
    for r in data["pending"]:
        typer.echo(
            f"  {r['bericht']} {r['afzender']}/{r['identificatie']}/{r['dagtekening']} Bsn {r['bsn']} nr {r['eb_start_nummer']} status {r['status']}"
        )
    typer.echo(f"Afgekeurd ({len(data['rejected'])}):")
    for r in data["rejected"]:
        codes = "; ".join(f"{c['code']} {c['omschrijving']}" for c in r["retour_codes"]) or "-"
        typer.echo(
            f"  {r['bericht']} {r['afzender']}/{r['identificatie']}/{r['dagtekening']} Bsn {r['bsn']} nr {r['eb_start_nummer']} "
            f"status {r['status']}: {r['outcome']}: {codes}"
        )


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
    app.command("retour")(retour_command)
    app.command("status")(status_command)
