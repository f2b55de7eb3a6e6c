"""Shared options and helpers of the exchange commands (config, database, errors); not a command module."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ieb.types import mask_bsns

if TYPE_CHECKING:  # pragma: no cover
    from ieb.exchange import Exchange

__all__ = ["ConfigOption", "DbOption", "Format", "ReleaseOption", "exchange_for", "fail"]


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
        metavar="URL",
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


ReleaseOption = Annotated[
    str | None,
    typer.Option(
        "--release",
        metavar="ieb-4.0|ieb-1.0",
        help="iEb-release; overschrijft 'release' uit ieb.toml.",
        show_default=False,
    ),
]


def exchange_for(
    config: Path | None,
    db: str | None = None,
    *,
    must_exist: bool = False,
    needs: str | None = None,
    release: str | None = None,
) -> Exchange:
    """The :class:`~ieb.exchange.Exchange` of the command (:func:`ieb.cli._retour_core.open_exchange`:
    ``--config`` / $IEB_CONFIG / ./ieb.toml, ``--db`` and ``--release`` overriding it, ``needs`` what
    the command needs from ieb.toml); a configuration error ends the command (``fout: ...``, exit 2)."""
    from ieb.cli._retour_core import open_exchange
    from ieb.cli._validate_core import Usage

    try:
        return open_exchange(config, db, must_exist=must_exist, needs=needs, release=release)
    except Usage as exc:
        typer.echo(exc.line(), err=True)
        raise typer.Exit(2) from None
