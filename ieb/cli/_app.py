"""The typer application of ``ieb`` and its lazy command modules, made by :func:`build`.

:mod:`ieb.cli` calls :func:`build` once, on first use of ``ieb.cli.app`` / ``ieb.cli.LOADER`` or when
:func:`ieb.cli.main` needs typer (every command line but the plain ``ieb validate ...`` ones,
:mod:`ieb.cli._validate_core`), and passes its own name, path and ``COMMANDS`` table (so this
module does not import :mod:`ieb.cli`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ieb.cli._lazy import LazyGroup, Loader, Table

__all__ = ["build"]


def _version(value: bool) -> None:
    if value:
        from ieb import __version__

        typer.echo(f"ieb {__version__}")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Toon de versie en stop.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """iEb: berichten bouwen, valideren, versturen en ontvangen voor de Wmo eigen bijdrage (CAK)."""


def build(package: str, path: list[str], table: Table) -> tuple[typer.Typer, Loader]:
    """The ``ieb`` typer app and the :class:`~ieb.cli._lazy.Loader` of its command modules: ``package``
    (``ieb.cli``) and ``path`` name the command modules, ``table`` is ``ieb.cli.COMMANDS``. The modules
    the table does not name are loaded at once (their commands work, only not lazily)."""
    loader = Loader(package, path, table)

    class _Group(LazyGroup):
        pass

    _Group.loader = loader
    app = typer.Typer(
        cls=_Group,
        name="ieb",
        help="iEb: berichten bouwen, valideren, versturen en ontvangen voor de Wmo eigen bijdrage (CAK).",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(_main)
    loader.load(loader.unlisted_modules())
    return app, loader
