"""Lazy command modules for the ``ieb`` group (issue 22: ``ieb --help`` and ``ieb validate`` start fast).

The root group knows every command's name, the modules that register it and its one-line summary
from a table (``ieb.cli.COMMANDS``); a command module is imported, and its ``register(app)`` called,
only when one of its commands is run or asked for (``ieb validate ...``, ``ieb simulate --help``).
``ieb --help`` shows the summaries from the table without importing any command module.

A command module that is not in the table is loaded at start (as before: it still works, only not
lazily), and a name the table does not know loads every module before it is refused, so a command
is never lost; ``tests/cli/test_lazy_commands.py`` fails, printing the table to paste, when the table
differs from what the modules register.

Only public typer/click API is used: ``typer.main.get_command`` on a private ``typer.Typer`` that
collects the loaded modules' commands, and click's ``Group.commands`` as a ``MutableMapping``.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
import typer.main

from ieb.cli._help import IebGroup

__all__ = ["LazyCommands", "LazyGroup", "Loader"]

#: command name -> (modules that register it, summary shown by ``ieb --help``)
Table = Mapping[str, tuple[tuple[str, ...], str]]


class Loader:
    """Imports command modules on demand and turns what they register into click commands.

    ``package``: the package of the command modules (``ieb.cli``); ``table``: see :data:`Table`."""

    def __init__(self, package: str, path: list[str], table: Table) -> None:
        self.package = package
        self.path = path
        self.table = table
        self._lock = threading.RLock()
        self._collector = typer.Typer(cls=IebGroup, add_completion=False)
        self._collector.callback()(_nothing)
        self._modules: list[str] = []  # loaded, in order
        self._registered: dict[str, tuple[list[str], list[str]]] = {}  # module -> (commands, groups)
        self.built: dict[str, Any] = {}  # name -> click command of the loaded modules

    def all_modules(self) -> list[str]:
        """Every command module of the package (``ieb.cli.validate``, ...), sorted by name."""
        return [
            f"{self.package}.{info.name}"
            for info in sorted(pkgutil.iter_modules(self.path), key=lambda m: m.name)
            if not info.name.startswith("_")
        ]

    def unlisted_modules(self) -> list[str]:
        """Command modules the table does not name (loaded at start, so their commands work)."""
        listed = {m for modules, _ in self.table.values() for m in modules}
        return [m for m in self.all_modules() if m not in listed]

    def load(self, modules: tuple[str, ...] | list[str]) -> None:
        """Import ``modules`` (once each) and register their commands; rebuilds :attr:`built`."""
        with self._lock:
            new = [m for m in modules if m not in self._modules]
            if not new:
                return
            for name in new:
                module = importlib.import_module(name)
                register = getattr(module, "register", None)
                if callable(register):
                    register(self._collector)
                self._modules.append(name)
                before = self.built
                group = typer.main.get_command(self._collector)
                self.built = dict(group.commands)  # type: ignore[attr-defined]
                added = [n for n in self.built if n not in before]
                self._registered[name] = (
                    [n for n in added if not hasattr(self.built[n], "commands")],
                    [n for n in added if hasattr(self.built[n], "commands")],
                )

    def load_all(self) -> None:
        """Load every command module of the package."""
        self.load(self.all_modules())

    def eager_order(self) -> list[str]:
        """The names in the order typer lists them when every module registers into one app in
        module order: commands first, then groups (call after :meth:`load_all`)."""
        mods = sorted(self._registered)
        return [c for m in mods for c in self._registered[m][0]] + [
            g for m in mods for g in self._registered[m][1]
        ]

    def modules_of(self, name: str) -> list[str]:
        """The loaded modules that registered the top-level ``name``."""
        return [m for m, (cs, gs) in sorted(self._registered.items()) if name in cs or name in gs]


def _nothing() -> None:
    """(the collector's callback: makes typer build a group even for one command)"""


class LazyCommands(MutableMapping[str, Any]):
    """``Group.commands`` whose values are made when first asked for (see the module text)."""

    def __init__(self, loader: Loader, given: Mapping[str, Any]) -> None:
        self.loader = loader
        self.own: dict[str, Any] = dict(given)  # added to this group itself (add_command)

    def loaded(self, name: str) -> bool:
        """True when ``name`` can be given without importing a module."""
        return name in self.own or name in self.loader.built

    def __getitem__(self, name: str) -> Any:
        if name in self.own:
            return self.own[name]
        loader = self.loader
        if name not in loader.built:
            entry = loader.table.get(name)
            if entry is not None:
                loader.load(entry[0])
            if name not in loader.built:
                loader.load_all()  # a name the table does not know: look everywhere first
        return loader.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.own[name] = command

    def __delitem__(self, name: str) -> None:
        del self.own[name]

    def __iter__(self) -> Iterator[str]:
        seen = dict.fromkeys(self.loader.table)
        seen.update(dict.fromkeys(self.own))
        seen.update(dict.fromkeys(self.loader.built))
        return iter(list(seen))

    def __len__(self) -> int:
        return len(list(iter(self)))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True


class LazyGroup(IebGroup):
    """The ``ieb`` group: commands come from :class:`LazyCommands` (class attribute ``loader``)."""

    loader: Loader | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.loader is not None:
            self.commands = LazyCommands(self.loader, self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command name, in the order of the table (no module is imported)."""
        return list(self.commands)

    def summary(self, ctx: Any, name: str) -> tuple[str, bool] | None:
        """The table's summary of a command whose module is not loaded (else the command's own)."""
        commands = self.commands
        if self.loader is not None and isinstance(commands, LazyCommands) and not commands.loaded(name):
            entry = self.loader.table.get(name)
            if entry is not None:
                return entry[1], False
        return super().summary(ctx, name)
