"""The typer application of ``ieb`` (:data:`app`), with its lazy command modules (:data:`LOADER`).

Imported on first use of ``ieb.cli.app`` / ``ieb.cli.LOADER`` or when :func:`ieb.cli.main` needs typer
(every command line but the plain ``ieb validate ...`` ones, :mod:`ieb.cli._validate_core`).
"""

from __future__ import annotations

from typing import Annotated

import typer

import ieb.cli as _package
from ieb.cli import COMMANDS
from ieb.cli._lazy import LazyGroup, Loader

__all__ = ["LOADER", "app"]

#: loads the command modules on demand (and the ones :data:`COMMANDS` does not name, at start)
LOADER = Loader(_package.__name__, list(_package.__path__), COMMANDS)


class _Group(LazyGroup):
    loader = LOADER


app = typer.Typer(
    cls=_Group,
    name="ieb",
    help="iEb: berichten bouwen, valideren, versturen en ontvangen voor de Wmo eigen bijdrage (CAK).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from ieb import __version__

        typer.echo(f"ieb {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Toon de versie en stop.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """iEb: berichten bouwen, valideren, versturen en ontvangen voor de Wmo eigen bijdrage (CAK)."""


LOADER.load(LOADER.unlisted_modules())  # a module not in COMMANDS still works (not lazily)
