"""The ``ieb`` command. Each module in this package adds its commands through ``register(app)``.

Heavy dependencies (zeep, SQLAlchemy, ...) are imported inside the command functions so that
``ieb validate`` starts quickly.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated

import typer

from ieb.cli._common import GROUP


def _plain_help_types() -> None:
    """Help without ``<bool>`` on flags and ``<list[Path]>`` on repeatable values (typer 0.2x
    prints its Python annotation; a flag takes no value, a list is the element type repeated)."""
    from typer.core import TyperArgument, TyperOption

    for cls in (TyperOption, TyperArgument):
        original = cls.display_type_rich

        def display(self: typer.core.TyperOption, ctx: object, _orig: object = original) -> str | None:
            if getattr(self, "is_flag", False):
                return None
            text = _orig(self, ctx)  # type: ignore[operator]
            if isinstance(text, str) and "list[" in text:
                inner = text.replace("<", "").replace(">", "").replace("list[", "").replace("]", "")
                inner = inner.rstrip(".")
                return f"<{inner}>..."
            return text if isinstance(text, str) or text is None else str(text)

        cls.display_type_rich = display  # type: ignore[method-assign]


_plain_help_types()

app = typer.Typer(
    cls=GROUP,
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


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_all()


def main() -> None:
    """Entry point of the ``ieb`` console script."""
    app()
