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
    try:
        app()
    except Exception as exc:  # issue 21: a full disk or broken database is a clear error, not a traceback
        text = _storage_error(exc)
        if text is None:
            raise
        typer.echo(f"fout: {text}", err=True)
        raise SystemExit(2) from None


def _storage_error(exc: BaseException) -> str | None:
    """A Dutch line for a database or disk that cannot be written (full, I/O error, read-only), or
    None for any other error (then the traceback shows as before)."""
    orig = getattr(exc, "orig", None) or exc
    name = type(exc).__name__
    if not (
        isinstance(exc, OSError)
        or (type(exc).__module__.startswith("sqlalchemy") and name == "OperationalError")
    ):
        return None
    cause = " ".join(str(orig).split())[:200]
    lowered = cause.lower()
    if not any(
        k in lowered for k in ("disk", "i/o", "full", "no space", "read-only", "readonly", "too large")
    ):
        return None
    if isinstance(exc, OSError):
        return (
            f"een bestand kon niet worden geschreven ({cause}). Oplossing: maak ruimte vrij op de schijf of "
            "controleer de rechten, en probeer het opnieuw"
        )
    return (
        f"de database kon niet worden geschreven ({cause}); de transactie is teruggedraaid, er is niets "
        "vastgelegd. Oplossing: maak ruimte vrij op de schijf of controleer de rechten, en probeer het opnieuw"
    )
