"""No import cycles among sandlot's modules.

Every import statement counts: at module level, under ``if TYPE_CHECKING:``, and inside
functions. A function-local or type-only import still ties two modules together (one
cannot be understood, moved or replaced without the other), and those are exactly the
cycles that hide. Importing ``a.b.c`` counts as depending on ``a.b.c`` only, not on the
packages around it (Python runs their ``__init__`` first, but that is not a design tie).
"""

from __future__ import annotations

import ast
from pathlib import Path

import sandlot

SRC = Path(sandlot.__file__).parent

# Cycles other work items cut; remove an entry once its cut is merged (the test then
# fails, to say so, if the entry is stale). None is left.
ALLOWED: set[frozenset[str]] = set()


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the sandlot modules it imports anywhere in its text."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in mods.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:  # `from pkg import module` imports the module
                    full = f"{source}.{alias.name}"
                    targets.add(full if full in mods else source)
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def describe(graph: dict[str, set[str]], component: frozenset[str]) -> str:
    edges = [f"{a} -> {b}" for a in sorted(component) for b in sorted(graph[a] & component)]
    return "{" + ", ".join(edges) + "}"


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "sandlot._jobs._records" in graph["sandlot._jobs._manager"]  # module level
    assert "sandlot._jobs" in graph["sandlot._sandbox"]  # function-local and TYPE_CHECKING
    assert "sandlot._backends" in graph["sandlot._sandbox"]  # function-local only
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    new = [describe(graph, c) for c in found if c not in ALLOWED]
    stale = [sorted(c) for c in ALLOWED if c not in found]
    assert not new, f"import cycles: {new}"
    assert not stale, f"no longer cycles, remove them from ALLOWED: {stale}"
