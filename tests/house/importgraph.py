"""The import graph of a package read with :mod:`ast` (no code of the package is run).

Every ``import`` and ``from ... import`` inside the package counts, at module level or inside a
function, except those under ``if TYPE_CHECKING:`` (they never run). ``from ieb.a import b`` is an
edge to ``ieb.a.b`` when that is a module, else to ``ieb.a``. Used by ``test_import_cycles.py``
and by ``python -m tests.house.importgraph [ROOT]``, which prints the figures of issue 19 (modules
and lines per floor, import cycles, share of function-level imports).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Edge:
    """One import statement's target: ``source`` imports ``target``; ``nested`` when inside a def."""

    source: str
    target: str
    line: int
    nested: bool


@dataclass(slots=True)
class Graph:
    """Modules (dotted name -> file) and the internal import edges between them."""

    modules: dict[str, Path] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def targets(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {name: set() for name in self.modules}
        for edge in self.edges:
            if edge.target != edge.source:
                out[edge.source].add(edge.target)
        return out


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with "is it inside a function", skipping ``if TYPE_CHECKING:``."""

    def walk(node: ast.AST, nested: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk(other, nested)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, nested
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inner)

    yield from walk(tree, False)


def build(root: Path) -> Graph:
    """The graph of the package at ``root`` (a folder with ``__init__.py``)."""
    graph = Graph()
    package = root.name
    for path in sorted(root.rglob("*.py")):
        graph.modules[_module_name(root, path)] = path
    for name, path in graph.modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, nested in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    base = base[: len(base) - drop] if drop else base
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = []
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in graph.modules else module)
            for target in targets:
                if target != package and not target.startswith(package + "."):  # outside the package
                    continue
                while target not in graph.modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in graph.modules:
                    graph.edges.append(Edge(name, target, node.lineno, nested))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    succ = graph.targets()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        item = stack.pop()
                        on_stack.discard(item)
                        component.append(item)
                        if item == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for name in sorted(succ):
        if name not in index:
            visit(name)
    return sorted(found)


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """One shortest import loop inside ``component`` (for a readable test failure)."""
    succ = graph.targets()
    members = set(component)
    best: list[str] = []
    for start in component:
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for child in sorted(succ[node] & members):
                if child == start:
                    loop = paths[node] + [start]
                    if not best or len(loop) < len(best):
                        best = loop
                    queue = []
                    break
                if child not in paths:
                    paths[child] = paths[node] + [child]
                    queue.append(child)
    return best


def floor_of(module: str) -> str:
    """The top-level part of ``ieb`` a module belongs to (``ieb.ledger.store`` -> ``ledger``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def figures(root: Path) -> str:
    """The figures of issue 19 as text."""
    graph = build(root)
    per_floor: dict[str, tuple[int, int]] = {}
    for name, path in graph.modules.items():
        lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        modules, total = per_floor.get(floor_of(name), (0, 0))
        per_floor[floor_of(name)] = (modules + 1, total + lines)
    out = [f"{'floor':<14}{'modules':>8}{'lines':>8}"]
    out += [f"{floor:<14}{m:>8}{n:>8}" for floor, (m, n) in sorted(per_floor.items())]
    out.append(f"{'total':<14}{len(graph.modules):>8}{sum(n for _, n in per_floor.values()):>8}")
    nested = sum(1 for edge in graph.edges if edge.nested)
    out.append(
        f"internal imports: {len(graph.edges)}, inside functions: {nested} "
        f"({100 * nested / max(1, len(graph.edges)):.0f} %)"
    )
    found = cycles(graph)
    out.append(f"import cycles (components): {len(found)}, modules in a cycle: {sum(map(len, found))}")
    for component in found:
        out.append("  " + " -> ".join(shortest_cycle(graph, component)) + f"   ({len(component)} modules)")
    return "\n".join(out)


if __name__ == "__main__":
    print(figures(Path(sys.argv[1] if len(sys.argv) > 1 else "ieb").resolve()))
