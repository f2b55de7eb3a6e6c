"""The binding of the ieb-4.0 models to XSD element paths, read from ``binding.toml`` (data).

Shape of the file: one table per message (``[WMO405]``) with ``root`` (the root element's local
name) and one line per model field: ``field = { path = "Header/Afzender", type = "string" }``; see
the comment at the top of ``binding.toml`` for the optional keys ``repeat`` and ``fill``. Each
:class:`Bound` remembers its file and line, so a mismatch found by :func:`ieb.releases.ieb_4_0.check`
names the line to change.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from ieb.errors import ConfigurationError

__all__ = ["BINDING_FILE", "RELEASE", "Bound", "MessageBinding", "load_binding"]

#: The release name of this pack.
RELEASE = "ieb-4.0"

#: The binding file shipped with the pack.
BINDING_FILE = Path(__file__).with_name("binding.toml")

ValueType = Literal["string", "integer", "date"]
_TYPES: frozenset[str] = frozenset({"string", "integer", "date"})
_KEYS = frozenset({"path", "type", "repeat", "fill"})


@dataclass(frozen=True)
class Bound:
    """One binding line: model ``field`` of message ``bericht`` <-> the element at ``path`` (local
    names below the root), written and read as ``type``; ``repeat`` for a repeating element (a tuple
    in the model); ``fill`` = ``"pattern"`` or ``"appinfo:NAME"`` when the value comes from the XSD."""

    bericht: str
    field: str
    path: tuple[str, ...]
    type: ValueType
    repeat: bool
    fill: str | None
    file: Path
    line: int

    @property
    def where(self) -> str:
        """``binding.toml:23`` (file name and line)."""
        return f"{self.file.name}:{self.line}"

    @property
    def path_text(self) -> str:
        """The path as written in the binding file (``Client/Bsn``)."""
        return "/".join(self.path)


@dataclass(frozen=True)
class MessageBinding:
    """The binding of one message: root element name and its lines by model field."""

    bericht: str
    root: str
    fields: dict[str, Bound]

    def full_path(self, bound: Bound) -> tuple[str, ...]:
        """The element path from the root element (``("Bericht", "Client", "Bsn")``)."""
        return (self.root, *bound.path)


def _line_numbers(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> 1-based line of its definition."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([A-Za-z0-9_.-]+)\s*\]", stripped)
        if header:
            section = header.group(1)
            continue
        key = re.match(r"([A-Za-z0-9_]+)\s*=", stripped)
        if key and section:
            lines.setdefault((section, key.group(1)), number)
    return lines


@cache
def _load(path: Path, mtime_ns: int) -> dict[str, MessageBinding]:
    del mtime_ns  # cache key only
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"bindingsbestand {path} is niet te lezen: {exc}") from exc
    lines = _line_numbers(text)
    result: dict[str, MessageBinding] = {}
    for bericht, table in data.items():
        if not isinstance(table, dict) or not isinstance(table.get("root"), str):
            raise ConfigurationError(f'{path.name}: [{bericht}] mist root = "..."')
        fields: dict[str, Bound] = {}
        for name, spec in table.items():
            if name == "root":
                continue
            where = f"{path.name}:{lines.get((bericht, name), 0)}"
            if not isinstance(spec, dict) or not _KEYS.issuperset(spec) or "path" not in spec:
                raise ConfigurationError(f"{where}: {bericht}.{name} moet {{ path = ..., type = ... }} zijn")
            kind = spec.get("type", "string")
            if kind not in _TYPES:
                raise ConfigurationError(
                    f"{where}: type {kind!r} onbekend; kies uit {', '.join(sorted(_TYPES))}"
                )
            element_path = tuple(p for p in str(spec["path"]).split("/") if p)
            if not element_path:
                raise ConfigurationError(f"{where}: path is leeg")
            fill = spec.get("fill")
            if fill is not None and fill != "pattern" and not str(fill).startswith("appinfo:"):
                raise ConfigurationError(f'{where}: fill moet "pattern" of "appinfo:NAAM" zijn')
            fields[name] = Bound(
                bericht=bericht,
                field=name,
                path=element_path,
                type=kind,
                repeat=bool(spec.get("repeat", False)),
                fill=fill,
                file=path,
                line=lines.get((bericht, name), 0),
            )
        result[bericht] = MessageBinding(bericht=bericht, root=table["root"], fields=fields)
    return result


def load_binding(path: str | Path | None = None) -> dict[str, MessageBinding]:
    """The bindings by message name (``"WMO405"``) from ``path`` (default: the pack's
    ``binding.toml``). Raises :class:`~ieb.errors.ConfigurationError` naming the line of a bad entry."""
    file = Path(path) if path is not None else BINDING_FILE
    try:
        mtime = file.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigurationError(f"bindingsbestand {file} bestaat niet") from exc
    return _load(file.resolve(), mtime)
