"""The import graph of ``ml_tasks``: no cycles, and nothing from Airflow or the sibling packages.

Every import counts, function-local ones included (a cycle hidden inside a function is still a
cycle: the two modules cannot be understood, tested or moved apart). Parsed with :mod:`ast`, so
nothing is imported and the test takes well under a second.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ml_tasks

PACKAGE_DIR = Path(ml_tasks.__file__).parent
# ml_tasks is the platform: the Airflow adapters and the demo sit on top of it, never below.
FORBIDDEN = ("airflow", "ml_platform_airflow", "ml_platform_demo")


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package ``__init__``) of every module of ``ml_tasks``."""
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ["ml_tasks", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def imported_names(path: Path, module: str, is_package: bool) -> set[str]:
    """Every dotted name the module imports (absolute; ``from x import y`` gives ``x.y`` too)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def _own_module(name: str) -> str | None:
    """The ``ml_tasks`` module a dotted name lives in (None: outside ml_tasks)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``ml_tasks`` modules it imports."""
    graph = {}
    for module, (path, is_package) in MODULES.items():
        targets = {_own_module(n) for n in imported_names(path, module, is_package)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path back to its start) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, c) for c in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside it."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of two or more has one


def test_the_graph_sees_every_kind_of_import(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "import os, ml_tasks.settings\n"
        "from . import sibling\n"
        "from ..elt import lake\n"
        "def f():\n"
        "    if True:\n"
        "        from ml_tasks.features.layout import VIEWS\n"
    )
    names = imported_names(source, "ml_tasks.features.mod", is_package=False)
    assert {
        "ml_tasks.settings",
        "ml_tasks.features.sibling",
        "ml_tasks.elt.lake",
        "ml_tasks.features.layout.VIEWS",
    } <= names


def test_cycles_are_found_and_named():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_ml_tasks_has_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles in ml_tasks:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_ml_tasks_does_not_import(forbidden):
    offenders = sorted(
        f"{module} imports {name}"
        for module, (path, is_package) in MODULES.items()
        for name in imported_names(path, module, is_package)
        if name == forbidden or name.startswith(forbidden + ".")
    )
    assert not offenders, "\n".join(offenders)
