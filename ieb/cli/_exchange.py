"""Shared options and helpers of the exchange commands (config, database, errors); not a command module."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ieb.config import find_config
from ieb.errors import IebError
from ieb.types import mask_bsns

if TYPE_CHECKING:  # pragma: no cover
    from ieb.exchange import Exchange

__all__ = ["ConfigOption", "DbOption", "Format", "exchange_for", "fail"]


class Format(str, enum.Enum):
    """Output format."""

    text = "text"
    json = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuratiebestand (standaard $IEB_CONFIG of ./ieb.toml).",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database (SQLAlchemy-URL of SQLite-bestand); overschrijft 'database' uit ieb.toml.",
        show_default=False,
    ),
]


def fail(message: str, details: list[str] | tuple[str, ...] | None = None, code: int = 1) -> NoReturn:
    """Print ``fout: message`` and the details on stderr and exit with ``code``."""
    typer.echo(f"fout: {mask_bsns(message)}", err=True)
    for line in details or []:
        typer.echo(f"  - {mask_bsns(str(line))}", err=True)
    raise typer.Exit(code)


def exchange_for(
    config: Path | None, db: str | None = None, *, must_exist: bool = False, needs: str | None = None
) -> Exchange:
    """The :class:`~ieb.exchange.Exchange` of the command: ``--config`` / $IEB_CONFIG / ./ieb.toml,
    with ``--db`` overriding the database. Configuration errors end the command (exit 2).
    ``needs`` (what the command needs from ieb.toml): without any ieb.toml, ``--db`` or ``IEB_*``
    setting the command ends with "geen ieb.toml gevonden ...; maak er een met `ieb init`"."""
    from ieb.exchange import Exchange  # late: the facade pulls in SQLAlchemy, lxml, the transport

    if needs is not None and db is None:
        try:
            found = find_config(config)
        except IebError as exc:
            fail(str(exc), code=2)
        settings = [k for k in os.environ if k.upper().startswith("IEB_") and k.upper() != "IEB_CONFIG"]
        if found is None and not settings:
            fail(
                f"geen ieb.toml gevonden (niet in {Path.cwd()}, geen --config of IEB_CONFIG); maak er een met "
                f"`ieb init` (nodig: {needs})",
                code=2,
            )

    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["database"] = db if "://" in db else "sqlite:///" + str(Path(db).resolve())
    try:
        ex = Exchange.from_config(config, must_exist=must_exist, **overrides)
        if must_exist:
            _ = ex.engine
        return ex
    except IebError as exc:
        fail(str(exc), code=2)
