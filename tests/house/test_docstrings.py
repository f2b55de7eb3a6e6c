"""Every public name of ``ieb`` has a docstring (house order: a reader of the API is never left guessing).

Public means: a module whose dotted path has no part starting with ``_``, a name in its ``__all__``
(or, without ``__all__``, a top-level function or class defined there whose name has no leading
underscore), and the public methods and properties such a class defines itself.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import ieb

SKIP_MODULES = ("ieb.store.migrations",)


def _modules() -> list[ModuleType]:
    found = [ieb]
    for info in pkgutil.walk_packages(ieb.__path__, "ieb."):
        if any(p.startswith("_") for p in info.name.split(".")) or info.name.startswith(SKIP_MODULES):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ImportError:  # an optional extra that is not installed
            continue
    return found


def _public_names(module: ModuleType) -> list[tuple[str, object]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and getattr(v, "__module__", None) == module.__name__
        ]
    return [(n, getattr(module, n)) for n in names if hasattr(module, n)]


def _own_doc(obj: object) -> bool:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return bool(doc and doc.strip())


def missing_docstrings() -> list[str]:
    missing: set[str] = set()
    for module in _modules():
        if not (module.__doc__ or "").strip():
            missing.add(f"{module.__name__} (module)")
        for name, obj in _public_names(module):
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qual = f"{getattr(obj, '__module__', module.__name__)}.{getattr(obj, '__qualname__', name)}"
            if not _own_doc(obj):
                missing.add(qual)
            if inspect.isclass(obj) and obj.__module__.startswith("ieb"):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    target = member.fget if isinstance(member, property) else member
                    if isinstance(target, (staticmethod, classmethod)):
                        target = target.__func__
                    if inspect.isfunction(target) and not (target.__doc__ or "").strip():
                        missing.add(f"{qual}.{attr}")
    return sorted(missing)


def test_every_public_name_has_a_docstring() -> None:
    missing = missing_docstrings()
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


if __name__ == "__main__":  # pragma: no cover - a worklist for people: python -m tests.house.test_docstrings
    for line in missing_docstrings():
        print(line)
