"""``ieb opschonen``: remove message contents and logs past the retention term (``[bewaren] dagen``
in ieb.toml, or ``--ouder-dan``), keeping what the ledger needs; ``--dry-run`` only counts. See
:mod:`ieb.store.retention` and docs/bewaren.md. (``ieb wlz opschonen`` does the Wlz signals.)"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ieb.cli._common import COMMAND, parse_today, usage_error
from ieb.cli._exchange import ConfigOption, DbOption, exchange_for, fail
from ieb.config import MIN_BEWAARDAGEN

#: the shortest term accepted (as ``[bewaren] dagen``): a typo such as ``7`` cannot wipe the year
MIN_DAGEN = MIN_BEWAARDAGEN


def refuse_future_today(day: dt.date, *, dry_run: bool = False) -> None:
    """A usage error (exit 2, names ``--today``) when ``day`` lies after the real date and this is
    no ``--dry-run``: the term is counted back from today, so a typo (2062 for 2026) would cut past
    the whole term. Shared by ``ieb opschonen`` and ``ieb wlz opschonen``."""
    if day > dt.date.today() and not dry_run:
        raise usage_error(
            f"{day.isoformat()} ligt na vandaag ({dt.date.today().isoformat()}); de bewaartermijn wordt "
            "vanaf vandaag teruggerekend, er is niets verwijderd (alleen met --dry-run mag een latere datum)",
            "--today",
        )


def cutoff_date(ouder_dan: str | None, default_days: int, today: dt.date, *, setting: str) -> dt.date:
    """The cut-off date of ``--ouder-dan DAGEN|JJJJ-MM-DD`` (also ``DD-MM-JJJJ``): ``today`` minus
    DAGEN, or the date given; without the option ``today`` minus ``default_days`` (the setting
    named ``setting``, e.g. ``[bewaren] dagen``). The one parser of ``ieb opschonen`` and
    ``ieb wlz opschonen``. Whatever the source, the cut-off lies at least :data:`MIN_DAGEN` days
    before ``today``; otherwise a usage error (Dutch, exit 2) naming ``--ouder-dan`` or the setting."""
    if ouder_dan is None:
        if default_days < MIN_DAGEN:
            raise usage_error(
                f"{default_days} dagen is korter dan de kortste bewaartermijn ({MIN_DAGEN} dagen)", setting
            )
        return today - dt.timedelta(days=default_days)
    text = ouder_dan.strip()
    if text.isdigit() and len(text) < 6:
        days = int(text)
        if days < MIN_DAGEN:
            raise usage_error(
                f"{days} dagen is korter dan de kortste bewaartermijn ({MIN_DAGEN} dagen, als {setting})",
                "--ouder-dan",
            )
        return today - dt.timedelta(days=days)
    day = _date(text)
    if day is None:
        raise usage_error(f"{text[:20]!r} is geen aantal dagen en geen datum (JJJJ-MM-DD)", "--ouder-dan")
    if (today - day).days < MIN_DAGEN:
        raise usage_error(
            f"{day} ligt minder dan {MIN_DAGEN} dagen voor vandaag ({today}); de kortste bewaartermijn "
            f"is {MIN_DAGEN} dagen (als {setting})",
            "--ouder-dan",
        )
    return day


def _date(text: str) -> dt.date | None:
    for form in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


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
        str | None,
        typer.Option("--today", metavar="JJJJ-MM-DD", help="Datum van vandaag.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Verwijder berichtinhoud en logregels ouder dan de bewaartermijn; het grootboek blijft compleet."""
    from sqlalchemy.exc import SQLAlchemyError

    from ieb.errors import IebError
    from ieb.store.retention import opschonen

    day = parse_today(today) or dt.date.today()
    refuse_future_today(day, dry_run=dry_run)
    ex = exchange_for(config, db, must_exist=True, needs="database")
    try:
        voor = cutoff_date(ouder_dan, ex.config.bewaren.dagen, day, setting="[bewaren] dagen")
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
