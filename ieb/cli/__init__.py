"""The ``ieb`` command. Each module in this package adds its commands through ``register(app)``.

Heavy dependencies (zeep, SQLAlchemy, ...) are imported inside the command functions so that
``ieb validate`` starts quickly.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="ieb",
    help="iEb: berichten bouwen, valideren, versturen en ontvangen voor de Wmo eigen bijdrage (CAK).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


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
