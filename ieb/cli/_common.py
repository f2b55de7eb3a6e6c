"""Small helpers shared by the command modules (not a command module itself)."""

from __future__ import annotations

import datetime as dt

import typer

__all__ = ["parse_today"]


def parse_today(value: str | None, option: str = "--today") -> dt.date | None:
    """Parse a ``--today`` style option (``JJJJ-MM-DD``); a usage error (exit 2) when it is no date."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is geen datum JJJJ-MM-DD", param_hint=option) from None
