"""docs/architecture.md matches the code: its DAG/asset diagram, its names, its import rules.

The diagram's solid arrows between a DAG and an asset must be exactly the DAGs' outlets
(DAG -> asset) and asset schedules (asset -> DAG), its dotted ones exactly the task inlets that
are not also a schedule; every DAG id and asset name must appear. So a new DAG, asset or link
cannot leave the document silently stale.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dag_fixtures import asset_names, load_dagbag

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
DAGS_DIR = ROOT / "dags"

# One edge per line: ``a --> b``, ``a -.-> b``, optionally labelled ``-->|text|``.
EDGE = re.compile(r"^\s*(\w+)\s*(-->|-\.->)\s*(?:\|[^|]*\|\s*)?(\w+)\s*$")


@pytest.fixture(scope="module")
def dagbag():
    return load_dagbag(DAGS_DIR)


def _mermaid_lines(text: str) -> Iterator[str]:
    inside = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            inside = line.strip() == "```mermaid"
            continue
        if inside:
            yield line


def code_edges(dagbag) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(outlets and schedules, inlets that are not a schedule) as (from, to) pairs."""
    solid: set[tuple[str, str]] = set()
    inlets: set[tuple[str, str]] = set()
    for dag_id, dag in dagbag.dags.items():
        condition = getattr(dag.timetable, "asset_condition", None)
        solid |= {(name, dag_id) for name in asset_names(condition)}
        for task in dag.tasks:
            solid |= {(dag_id, asset.name) for asset in task.outlets}
            inlets |= {(asset.name, dag_id) for asset in task.inlets}
    return solid, inlets - solid


def doc_edges(names: set[str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The diagram's (solid, dotted) edges whose both ends are a DAG id or an asset name."""
    solid: set[tuple[str, str]] = set()
    dotted: set[tuple[str, str]] = set()
    for line in _mermaid_lines(DOC.read_text()):
        match = EDGE.match(line)
        if match and match[1] in names and match[3] in names:
            (solid if match[2] == "-->" else dotted).add((match[1], match[3]))
    return solid, dotted


def test_the_edge_parser_reads_every_arrow_form():
    assert EDGE.match("    a --> b").groups() == ("a", "-->", "b")
    assert EDGE.match("a -.->|inlet| b").groups() == ("a", "-.->", "b")
    assert EDGE.match("a -->|Params: x, y| b").groups() == ("a", "-->", "b")
    assert EDGE.match("a --> b --> c") is None  # chains would hide an edge: one per line


def test_every_dag_id_and_asset_name_is_in_the_document(dagbag):
    from ml_platform_airflow.assets import ALL_ASSETS

    text = DOC.read_text()
    missing = [n for n in [*dagbag.dags, *(a.name for a in ALL_ASSETS)] if n not in text]
    assert missing == [], f"not in {DOC.relative_to(ROOT)}: {missing}"


def test_the_diagram_draws_exactly_the_dags_asset_links(dagbag):
    from ml_platform_airflow.assets import ALL_ASSETS

    names = set(dagbag.dags) | {a.name for a in ALL_ASSETS}
    solid, inlets = code_edges(dagbag)
    drawn_solid, drawn_dotted = doc_edges(names)
    assert solid, "no outlets or asset schedules found in the DAGs"
    assert sorted(drawn_solid - solid) == [], "drawn as outlet/schedule, not in the code"
    assert sorted(solid - drawn_solid) == [], "outlet/schedule in the code, not drawn"
    assert drawn_dotted == inlets, "dotted arrows must be the task inlets"


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _from(names: set[str], package: str) -> list[str]:
    return sorted(n for n in names if n == package or n.startswith(package + "."))


@pytest.mark.parametrize(
    "path", sorted((ROOT / "ml_platform_airflow").glob("*.py")), ids=lambda p: p.name
)
def test_the_adapters_never_import_the_demo(path):
    assert _from(_imports(path), "ml_platform_demo") == []


@pytest.mark.parametrize(
    "path",
    sorted(DAGS_DIR.glob("*.py")) + sorted((ROOT / "plugins").glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_dags_and_plugins_import_the_adapters_and_call_ml_tasks_only_inside_tasks(path):
    assert _from(_imports(path), "ml_platform_demo") == []
    assert _from(_imports(path, top_level_only=True), "ml_tasks") == []
