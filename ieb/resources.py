"""Where the shipped schemas and data files are, for a wheel install and for a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import ieb
from ieb.errors import ConfigurationError

__all__ = ["data_path", "schemas_dir"]

_PKG = Path(ieb.__file__).resolve().parent


@cache
def schemas_dir() -> Path:
    """The folder with the project's own XSD/WSDL files (``ieb/_schemas`` in a wheel, ``schemas/`` in git)."""
    for candidate in (_PKG / "_schemas", _PKG.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError(
        "de meegeleverde schema's (schemas/) zijn niet gevonden; installatie is onvolledig"
    )


def data_path(name: str) -> Path:
    """A data file shipped inside the package (``ieb/data/<name>``)."""
    path = _PKG / "data" / name
    if not path.is_file():
        raise ConfigurationError(f"meegeleverd gegevensbestand {name} ontbreekt in {path.parent}")
    return path
