"""``ieb opschonen``: remove message contents and logs past the retention term (``[bewaren] dagen``
in ieb.toml, or ``--ouder-dan``), keeping what the ledger needs; ``--dry-run`` only counts. See
:mod:`ieb.store.retention` and docs/bewaren.md. (``ieb wlz opschonen`` does the Wlz signals.)"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ieb.cli._common import COMMAND, parse_today, usage_error
from ieb.cli._exchange import ConfigOption, DbOption, exchange_for, fail

#: the shortest term accepted (as ``[bewaren] dagen``): a typo such as ``7`` cannot wipe the year
MIN_DAGEN = 365


def _cutoff(ouder_dan: str | None, default_days: int, today: dt.date) -> dt.date:
    """The cut-off date: ``today`` minus DAGEN, or the date given (JJJJ-MM-DD), as ``ieb wlz
    opschonen`` reads ``--ouder-dan``. Raises :class:`typer.BadParameter`."""
    if ouder_dan is None:
        return today - dt.timedelta(days=default_days)
    if ouder_dan.isdigit() and len(ouder_dan) < 6:
        days = int(ouder_dan)
        if days < MIN_DAGEN:
            raise typer.BadParameter(
                f"{days} dagen is korter dan de kortste bewaartermijn ({MIN_DAGEN} dagen)",
                param_hint="--ouder-dan",
            )
        return today - dt.timedelta(days=days)
    try:
        day = dt.date.fromisoformat(ouder_dan)
    except ValueError:
        raise typer.BadParameter(
            f"{ouder_dan!r} is geen aantal dagen en geen datum (JJJJ-MM-DD)", param_hint="--ouder-dan"
        ) from None
    if (today - day).days < MIN_DAGEN:
        raise typer.BadParameter(
            f"{day} ligt minder dan {MIN_DAGEN} dagen voor vandaag ({today})", param_hint="--ouder-dan"
        )
    return day


def opschonen_command(
    ouder_dan: Annotated[
        str | None,
        typer.Option(
            "--ouder-dan",
            metavar="DAGEN",
            help=f"Aantal dagen (minstens {MIN_DAGEN}) of een datum (JJJJ-MM-DD); standaard [bewaren] dagen "
            "uit ieb.toml (2555).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Alleen tellen, niets verwijderen.")] = False,
    today: Annotated[
        str | None, typer.Option("--today", help="Datum van vandaag, JJJJ-MM-DD.", show_default=False)
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Verwijder berichtinhoud en logregels ouder dan de bewaartermijn; het grootboek blijft compleet."""
    from sqlalchemy.exc import SQLAlchemyError

    from ieb.errors import IebError
    from ieb.store.retention import opschonen

    day = parse_today(today) or dt.date.today()
    if day > dt.date.today() and not dry_run:  # a typo (2062 for 2026) would cut past the whole term
        raise usage_error(
            f"{day.isoformat()} ligt na vandaag ({dt.date.today().isoformat()}); de bewaartermijn wordt "
            "vanaf vandaag teruggerekend, er is niets verwijderd (alleen met --dry-run mag een latere datum)",
            "--today",
        )
    ex = exchange_for(config, db, must_exist=True, needs="database")
    try:
        voor = _cutoff(ouder_dan, ex.config.bewaren.dagen, day)
        result = opschonen(ex.engine, voor, dry_run=dry_run)
    except IebError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"database: {type(exc).__name__}; er is niets verwijderd")
    finally:
        ex.close()
    verb = "zou verwijderen (--dry-run, er is niets gewijzigd)" if dry_run else "verwijderd"
    typer.echo(f"Ouder dan {result.voor} ({verb}):")
    typer.echo(f"  inhoud van {result.berichten} bericht(en) met hun retour")
    typer.echo(f"  {result.outbox} verzonden envelop(pen), {result.inbox} ontvangen envelop(pen)")
    typer.echo(f"  {result.audit} regel(s) van het auditlog")
    typer.echo(
        f"Bewaard: {result.bewaard_laatste} laatst geaccepteerde bericht(en) per EbStartNummer, "
        f"{result.open_bewaard} bericht(en) zonder retour; alle nummers, datums en uitkomsten blijven."
    )


def register(app: typer.Typer) -> None:
    """Add ``ieb opschonen`` to the ``ieb`` command."""
    app.command(
        "opschonen",
        cls=COMMAND,
        epilog="Voorbeeld:\n\n  ieb opschonen --dry-run\n  ieb opschonen --ouder-dan 2555\n",
    )(opschonen_command)
