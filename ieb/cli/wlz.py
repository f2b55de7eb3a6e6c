"""``ieb wlz``: Wlz-signalen (samenloop Wmo/Wlz) from upload to the clerk's decision (issue 24).

    ieb wlz upload --out upload.csv [--gewenst gewenst.csv] [--voorzieningen v.csv]
    ieb wlz signalen signalen.csv [--verwerkingsverslag verslag.csv]
    ieb wlz lijst
    ieb wlz besluit BSN --stop 2026-05-31 | --doorlopen | --akkoord      (or --csv besluiten.csv)
    ieb wlz opschonen --ouder-dan 365

Names are never printed and BSNs always masked. See docs/wlz.md.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ieb.cli._common import (
    COMMAND,
    GROUP,
    claim_outputs,
    parse_today,
    print_problems,
    require_files,
    usage_error,
)
from ieb.cli._exchange import ConfigOption, DbOption, Format, exchange_for

if TYPE_CHECKING:  # pragma: no cover
    from ieb.exchange import Exchange
    from ieb.wlz import WlzSignalen

wlz_app = typer.Typer(
    name="wlz",
    cls=GROUP,
    help="Wlz-signalen: upload naar het Inlichtingenbureau, signalen van samenloop, voorstellen en besluiten.",
    no_args_is_help=True,
    epilog="Voorbeeld:\n\n  ieb wlz upload --out upload.csv\n  ieb wlz signalen signalen.csv\n  ieb wlz lijst\n",
)

GemeenteOption = Annotated[
    str | None,
    typer.Option(
        "--gemeente",
        metavar="CODE",
        help="Gemeente (4 cijfers); nodig bij meer dan één gemeente.",
        show_default=False,
    ),
]


def _wlz(config: Path | None, db: str | None, *, must_exist: bool = False) -> tuple[Exchange, WlzSignalen]:
    from ieb.errors import IebError
    from ieb.wlz import WlzSignalen

    ex = exchange_for(config, db, must_exist=must_exist, needs="gemeenten en database")
    try:
        return ex, WlzSignalen.for_exchange(ex)
    except IebError as exc:
        ex.close()
        print_problems(exc)
        raise typer.Exit(2) from None


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    from ieb.wlz.files import parse_date

    try:
        return parse_date(value, ["%Y-%m-%d", "%d-%m-%Y"])
    except ValueError:
        raise usage_error(f"{value[:20]!r} is geen datum (JJJJ-MM-DD of DD-MM-JJJJ)", option) from None


@wlz_app.command("upload", cls=COMMAND, epilog="Voorbeeld:\n\n  ieb wlz upload --out upload.csv\n")
def upload_command(
    out: Annotated[
        Path, typer.Option("--out", help="Het upload-CSV om te schrijven (bevat BSN's: alleen voor het IB).")
    ],
    gemeente: GemeenteOption = None,
    peildatum: Annotated[
        str | None,
        typer.Option(
            "--peildatum",
            metavar="JJJJ-MM-DD",
            help="Lopend op deze datum (standaard: vandaag).",
            show_default=False,
        ),
    ] = None,
    gewenst: Annotated[
        Path | None,
        typer.Option(
            "--gewenst",
            help="Gewenste situatie (invoer van ieb plan): ook aangevraagde voorzieningen.",
            show_default=False,
        ),
    ] = None,
    voorzieningen_file: Annotated[
        Path | None,
        typer.Option(
            "--voorzieningen",
            help="Voorzieningen met productcategorie (bsn, begindatum, einddatum, productcategorie, gemeente).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Een bestaand bestand overschrijven.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Schrijf het upload-CSV voor het Inlichtingenbureau: lopende en aangevraagde Wmo-voorzieningen, en beëindigde sinds de vorige upload."""
    from ieb.errors import IebError
    from ieb.exchange import read_desired_records
    from ieb.wlz.sources import read_voorzieningen_file

    require_files([p for p in (gewenst, voorzieningen_file) if p is not None], "--gewenst/--voorzieningen")
    claim_outputs([out], force=force)
    day = _date(peildatum, "--peildatum")
    ex, wlz = _wlz(config, db)
    try:
        g = wlz.gemeente(gemeente)
        desired = read_desired_records(gewenst) if gewenst is not None else None
        extra = (
            read_voorzieningen_file(voorzieningen_file, default_gemeente=g, gemeenten=wlz.gemeenten)
            if voorzieningen_file is not None
            else []
        )
        result = wlz.upload(out, gemeente=g, peildatum=day, desired=desired, extra=extra)
    except IebError as exc:
        print_problems(exc)
        raise typer.Exit(1) from None
    finally:
        ex.close()
    typer.echo(
        f"upload geschreven: {result.path} (gemeente {result.gemeente}, peildatum {result.peildatum}): "
        f"{result.lopend} lopend of aangevraagd, {result.beeindigd} beëindigd sinds de vorige upload, "
        f"{result.personen} personen"
    )


@wlz_app.command(
    "signalen",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb wlz signalen signalen.csv\n  ieb wlz signalen signalen.csv --format json\n",
)
def signalen_command(
    signaalbestand: Annotated[
        Path | None, typer.Argument(help="Signalenbestand van het IB (CSV).", show_default=False)
    ] = None,
    verslag: Annotated[
        Path | None,
        typer.Option(
            "--verwerkingsverslag", help="Verwerkingsverslag van de laatste upload (CSV).", show_default=False
        ),
    ] = None,
    gemeente: GemeenteOption = None,
    ontvangen: Annotated[
        str | None,
        typer.Option(
            "--ontvangen", help="Datum van ontvangst, JJJJ-MM-DD (standaard: vandaag).", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="Uitvoer voor mensen (text) of programma's (json).")
    ] = Format.text,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Lees signalen van samenloop (en het verwerkingsverslag), sla ze één keer op en toon per signaal het voorstel; er wordt niets uitgevoerd zonder besluit."""
    from ieb.errors import IebError
    from ieb.types import mask_bsns

    if signaalbestand is None and verslag is None:
        raise usage_error("geef een signalenbestand en/of --verwerkingsverslag", "SIGNAALBESTAND")
    require_files([p for p in (signaalbestand, verslag) if p is not None], "SIGNAALBESTAND")
    day = _date(ontvangen, "--ontvangen")
    ex, wlz = _wlz(config, db)
    try:
        result = wlz.signalen(signaalbestand, verslag=verslag, gemeente=gemeente, ontvangen=day)
    except IebError as exc:
        print_problems(exc, footer="er is niets opgeslagen")
        raise typer.Exit(1) from None
    finally:
        ex.close()
    if fmt == Format.json:
        typer.echo(
            json.dumps(
                {
                    "aantallen": result.counts(),
                    "nieuw": [
                        {
                            "bsn": b,
                            "gemeente": g,
                            "ingangsdatum": d.isoformat(),
                            "voorstel": p.voorstel,
                            "stopdatum": p.datum.isoformat() if p.datum else None,
                            "reden": p.reden,
                        }
                        for b, g, d, p in result.nieuw
                    ],
                    "geweigerd": [i.to_dict() for i in result.geweigerd],
                    "verwerkingsverslag": [
                        {"regel": v.regel, "melding": mask_bsns(v.melding)} for v in result.verslag
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for b, g, d, p in result.nieuw:
            what = {"stop": f"stop op {p.datum}", "doorlopen": "laten doorlopen", "geen": "niets te doen"}[
                p.voorstel
            ]
            typer.echo(f"Bsn {b} ({g}), Wlz vanaf {d}: voorstel {what} - {p.reden}")
        for v in result.verslag:
            typer.echo(mask_bsns(f"verwerkingsverslag: upload-regel {v.regel or '?'} geweigerd: {v.melding}"))
        c = result.counts()
        typer.echo(
            f"{len(result.nieuw)} nieuw signaal/signalen: {c['stop']} stop, {c['doorlopen']} doorlopen, "
            f"{c['geen']} zonder eigen bijdrage; {c['dubbel']} al eerder ontvangen; {c['geweigerd']} regel(s) geweigerd"
        )
    if result.geweigerd:
        for issue in result.geweigerd:
            typer.echo(f"  geweigerd: {issue.describe(result.bestand)}", err=True)
        typer.echo("de overige regels zijn opgeslagen; herstel de geweigerde regels bij het IB", err=True)
        raise typer.Exit(1)


@wlz_app.command(
    "lijst", cls=COMMAND, epilog="Voorbeeld:\n\n  ieb wlz lijst\n  ieb wlz lijst --format json\n"
)
def lijst_command(
    gemeente: GemeenteOption = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="Uitvoer voor mensen (text) of programma's (json).")
    ] = Format.text,
    today: Annotated[
        str | None,
        typer.Option("--today", metavar="JJJJ-MM-DD", help="Peildatum voor de leeftijd.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Toon de open Wlz-signalen met hun voorstel en leeftijd (Bsn gemaskeerd)."""
    ex, wlz = _wlz(config, db, must_exist=True)
    try:
        data = wlz.summary(today=parse_today(today), gemeente=gemeente)
    finally:
        ex.close()
    if fmt == Format.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for x in data["open_list"]:
        when = f" op {x['voorstel_datum']}" if x["voorstel_datum"] else ""
        typer.echo(
            f"Bsn {x['bsn']} ({x['gemeente']}), Wlz vanaf {x['ingangsdatum']}, {x['leeftijd_dagen']} dagen open: "
            f"voorstel {x['voorstel']}{when} - {x['reden']}"
        )
    typer.echo(f"{data['open']} open, {data['besloten']} besloten, {data['geen_actie']} zonder actie")


@wlz_app.command(
    "besluit",
    cls=COMMAND,
    epilog="Voorbeeld:\n\n  ieb wlz besluit 999900006 --stop 2026-11-30\n  ieb wlz besluit 999900018 --doorlopen\n",
)
def besluit_command(
    bsn: Annotated[str | None, typer.Argument(help="BSN van de cliënt.", show_default=False)] = None,
    stop: Annotated[
        str | None,
        typer.Option("--stop", help="Stop de eigen bijdrage op deze datum (JJJJ-MM-DD).", show_default=False),
    ] = None,
    doorlopen: Annotated[
        bool, typer.Option("--doorlopen", help="De eigen bijdrage loopt door naast de Wlz.")
    ] = False,
    akkoord: Annotated[bool, typer.Option("--akkoord", help="Neem het voorstel over zoals het is.")] = False,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Besluiten uit een bestand: bsn, besluit (stop|doorlopen|akkoord), stopdatum, gemeente.",
            show_default=False,
        ),
    ] = None,
    gemeente: GemeenteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Leg het besluit over een Wlz-signaal vast; een stop gaat daarna mee in elke ieb plan."""
    from ieb.errors import IebError

    if (bsn is None) == (csv_file is None):
        raise usage_error("geef een BSN of --csv BESTAND (niet beide)", "BSN")
    if csv_file is not None:
        require_files([csv_file], "--csv")
    day = _date(stop, "--stop")
    ex, wlz = _wlz(config, db, must_exist=True)
    try:
        if csv_file is not None:
            results = wlz.besluiten_csv(csv_file)
        else:
            assert bsn is not None
            results = [wlz.besluit(bsn, stop=day, doorlopen=doorlopen, akkoord=akkoord, gemeente=gemeente)]
    except IebError as exc:
        print_problems(exc)
        raise typer.Exit(1) from None
    finally:
        ex.close()
    for r in results:
        what = f"stop op {r.stopdatum}" if r.besluit == "stop" else "doorlopen"
        typer.echo(f"besluit vastgelegd: Bsn {r.bsn} ({r.gemeente}): {what} ({r.signalen} signaal/signalen)")
    if any(r.besluit == "stop" for r in results):
        typer.echo("de stop(s) gaan mee in de volgende ieb plan")


@wlz_app.command("opschonen", cls=COMMAND, epilog="Voorbeeld:\n\n  ieb wlz opschonen --ouder-dan 365\n")
def opschonen_command(
    ouder_dan: Annotated[
        str | None,
        typer.Option(
            "--ouder-dan",
            metavar="DAGEN",
            help="Aantal dagen (minstens 365) of een datum (JJJJ-MM-DD); standaard [wlz.beleid] "
            "bewaartermijn_dagen uit ieb.toml (365).",
            show_default=False,
        ),
    ] = None,
    ook_open: Annotated[
        bool, typer.Option("--ook-open", help="Ook signalen zonder besluit verwijderen.")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option("--today", metavar="JJJJ-MM-DD", help="Datum van vandaag.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Verwijder opgeslagen signalen (met namen) en oude uploads na de bewaartermijn; besluiten blijven."""
    from ieb.cli.opschonen import cutoff_date, refuse_future_today

    day = parse_today(today) or dt.date.today()
    refuse_future_today(day)
    ex, wlz = _wlz(config, db, must_exist=True)
    try:
        cutoff = cutoff_date(
            ouder_dan,
            wlz.settings.beleid.bewaartermijn_dagen,
            day,
            setting="[wlz.beleid] bewaartermijn_dagen",
        )
        result = wlz.opschonen(cutoff, ook_open=ook_open)
    finally:
        ex.close()
    typer.echo(
        f"verwijderd: {result.signalen} signaal/signalen ontvangen voor {cutoff}, {result.uploads} oude upload(s)"
    )
    if result.open_bewaard:
        typer.echo(
            f"bewaard: {result.open_bewaard} open signaal/signalen zonder besluit (besluit eerst, of --ook-open)"
        )


def register(app: typer.Typer) -> None:
    """Add the ``wlz`` command group to the ``ieb`` app."""
    app.add_typer(wlz_app, name="wlz")
