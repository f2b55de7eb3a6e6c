"""Registering the official iEb 4.0 XSD folder in ``ieb.toml`` (``release_xsd = "DIR"``).

``ieb release check DIR`` calls :func:`register_in_config` after a passing check, so that building
and validating under ``release = "ieb-4.0"`` use the official XSDs instead of the stand-in. The
edit is textual (comments and layout of the file are kept): an existing top-level ``release_xsd``
line is replaced, otherwise the line goes before the first table header.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ieb.errors import ConfigurationError

__all__ = ["KEY", "register_in_config", "registered_folder"]

#: The top-level key of ``ieb.toml`` that holds the registered official XSD folder.
KEY = "release_xsd"
_LINE = re.compile(rf"^{KEY}\s*=.*$", re.M)
_TABLE = re.compile(r"^\s*\[", re.M)


def _toml_string(path: Path) -> str:
    text = str(path)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def register_in_config(config: Path, folder: Path) -> None:
    """Write ``release_xsd = "<absolute folder>"`` into the ``ieb.toml`` at ``config``.

    Raises :class:`ConfigurationError` when the file cannot be read or written, or when the result
    would not be valid TOML (the file is then left unchanged)."""
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{config} is niet te lezen: {exc}", code="CONFIG") from exc
    line = f"{KEY} = {_toml_string(folder.resolve())}"
    header = _TABLE.search(text)
    existing = [m for m in _LINE.finditer(text) if header is None or m.start() < header.start()]
    if existing:
        match = existing[0]
        new = text[: match.start()] + line + text[match.end() :]
    elif header is not None:
        before = text[: header.start()].rstrip("\n")
        new = before + ("\n" if before else "") + line + "\n\n" + text[header.start() :]
    else:
        new = text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{config}: {KEY} kan niet worden toegevoegd ({exc})", code="CONFIG"
        ) from exc
    try:
        config.write_text(new, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{config} is niet te schrijven: {exc}", code="CONFIG") from exc


def registered_folder(config: Path | None) -> Path | None:
    """The folder registered in the ``ieb.toml`` at ``config`` (relative to the file), or None."""
    if config is None or not config.is_file():
        return None
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    value = data.get(KEY)
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else config.parent / path
