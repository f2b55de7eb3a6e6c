"""Import hygiene (issue 19, item 6): no import cycle anywhere in ieb/, counting imports inside
functions, and every top-level module of ieb/ sits in a floor of the import-linter layers contract.

The graph is read with :mod:`ast` (tests/house/importgraph.py), so no module of ieb is imported.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.house.importgraph import build, cycles, shortest_cycle
from tests.reference import ROOT

PACKAGE = ROOT / "ieb"

#: Known cycles, each with the change that removes it. The test fails when one disappears too,
#: so the entry goes with it. (None today: the last one, the ieb.transport.pki alias of the test
#: PKI, was removed in issue 19 item 8.)
KNOWN: set[tuple[str, ...]] = set()


def test_no_import_cycle_in_ieb() -> None:
    graph = build(PACKAGE)
    found = {tuple(c) for c in cycles(graph)}
    new = found - KNOWN
    loops = ["  " + " -> ".join(shortest_cycle(graph, list(c))) for c in sorted(new)]
    assert not new, "import cycles (imports inside functions count):\n" + "\n".join(loops)
    assert not KNOWN - found, f"gone, remove from KNOWN: {sorted(KNOWN - found)}"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def late():\n    from pkg.c import x\n    return x\n",
            "pkg/c.py": "from .a import b as x\n",
            "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import e\n",
            "pkg/e.py": "import pkg.d\n",
        },
    )
    graph = build(pkg)
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]  # d <-> e only under TYPE_CHECKING: no cycle
    assert shortest_cycle(graph, ["pkg.a", "pkg.b", "pkg.c"])[0] == "pkg.a"
    nested = [(e.source, e.target) for e in graph.edges if e.nested]
    assert nested == [("pkg.b", "pkg.c")]


def _floors() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return {name.strip().strip("()") for layer in layers for name in layer.split(":")}


def test_every_module_of_ieb_is_in_a_floor() -> None:
    floors = _floors()
    top = {
        f"ieb.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()
    }
    assert not top - floors, f"in no floor of pyproject.toml's layers contract: {sorted(top - floors)}"
    assert {"ieb.iwmo", "ieb.wlz"} <= floors  # coming packages have their floor already
