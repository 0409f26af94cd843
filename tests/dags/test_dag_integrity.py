"""DAG integrity: every DAG imports, is documented and owned, and parses cheaply with no I/O."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAGs found"


def _is_wait_sensor(task) -> bool:
    return task.task_id.startswith("wait_for_")


def test_every_dag_is_documented_owned_tagged_and_retried(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 100, f"{dag_id} lacks doc_md"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id}: no owner"
            if not _is_wait_sensor(task):  # wait-for-data sensors: see the test below
                assert task.retries >= 1, f"{dag_id}.{task.task_id}: no retries"


def test_alert_titles_are_plain_text(dagbag):
    """Notifiers render no templates (see ml_platform_airflow.notifiers): a ``{{ }}`` in a title
    would reach the alert verbatim. The task, run and interval are fields of the alert."""
    from ml_platform_airflow.notifiers import PlatformAlertNotifier

    checked = 0
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            for name in ("on_failure_callback", "on_success_callback"):
                callbacks = getattr(task, name) or []
                for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
                    if isinstance(callback, PlatformAlertNotifier):
                        assert "{" not in callback.title, f"{dag_id}.{task.task_id}: {name}"
                        checked += 1
    assert checked, "no alerting callbacks found"


DAILY_DAGS = ("elt_telemetry", "monitor_drift", "refresh_embeddings")


@pytest.mark.parametrize("dag_id", (*DAILY_DAGS, "train_failure_model"))
def test_daily_dag_starts_by_waiting_for_its_data_quietly(dagbag, dag_id):
    """The first task waits for the day's data: reschedule mode, a poke every 5 minutes, the
    timeout from settings, never a retry or a soft fail (after the timeout: one failure, one
    alert through the DAG's failure callback)."""
    from airflow.sdk import BaseSensorOperator

    from ml_tasks.settings import get_settings

    dag = dagbag.dags[dag_id]
    roots = [t for t in dag.tasks if not t.upstream_task_ids]
    assert len(roots) == 1 and _is_wait_sensor(roots[0]), [t.task_id for t in roots]
    sensor = roots[0]
    assert isinstance(sensor, BaseSensorOperator)
    assert sensor.mode == "reschedule"
    assert sensor.poke_interval == 300
    assert sensor.timeout == get_settings().landing_wait_seconds == 6 * 3600
    assert sensor.retries == 0
    assert sensor.soft_fail is False
    assert sensor.on_failure_callback, "the timeout must alert"
    assert set(dag.tasks) - {sensor} <= {*sensor.get_flat_relatives(upstream=False)}


@pytest.mark.parametrize("dag_id", DAILY_DAGS)
def test_daily_dag_runs_for_day_d_cover_day_d_however_created(dagbag, dag_id):
    """One date rule: the scheduler's run for day D and a manual run (UI/API trigger, dag.test)
    at any time on day D have the same data interval [D, D+1), so they are the same day."""
    from datetime import UTC, datetime, timedelta

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = coerce_to_core_timetable(dagbag.dags[dag_id].timetable)
    inner = getattr(timetable, "timetable", timetable)  # AssetOrTimeSchedule wraps it
    day = datetime(2026, 10, 2, tzinfo=UTC)
    scheduled = inner.next_dagrun_info(
        last_automated_data_interval=DataInterval(day - timedelta(days=1), day),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert scheduled.logical_date == day
    assert scheduled.data_interval == DataInterval(day, day + timedelta(days=1))
    for at in (day, day + timedelta(hours=5, minutes=30), day + timedelta(hours=23, minutes=59)):
        manual = timetable.infer_manual_data_interval(run_after=at)
        assert manual == scheduled.data_interval, (at, manual)


def test_every_dag_has_a_one_line_description(dagbag):
    """The DAG list in the UI shows ``description``: one short line, not the doc_md."""
    for dag_id, dag in dagbag.dags.items():
        text = (dag.description or "").strip()
        assert text, f"{dag_id} has no description"
        assert "\n" not in text and len(text) <= 120, f"{dag_id}: description is not one line"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_does_no_io_and_is_fast(path):
    """Parse with DB queries, Variables and Connections forbidden; time the parse."""
    from airflow.sdk import Connection, Variable
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    queries: list[str] = []

    def count(conn, cursor, statement, *args):
        queries.append(statement)

    forbidden = mock.Mock(side_effect=AssertionError("parse-time Variable/Connection access"))
    event.listen(Engine, "before_cursor_execute", count)
    try:
        with (
            mock.patch.object(Variable, "get", forbidden),
            mock.patch.object(Connection, "get", forbidden),
        ):
            spec = importlib.util.spec_from_file_location(f"parse_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            started = time.perf_counter()
            spec.loader.exec_module(module)
            elapsed = time.perf_counter() - started
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert queries == []
    assert elapsed < 1.0, f"{path.name} took {elapsed:.2f} s to parse"


# Libraries a DAG file must leave to its task bodies (STYLE: nothing heavy at parse time).
HEAVY = frozenset(
    {
        "pandas",
        "pyarrow",
        "numpy",
        "ray",
        "xgboost",
        "sklearn",
        "torch",
        "mlflow",
        "evidently",
        "feast",
        "deltalake",
        "duckdb",
        "lancedb",
        "sentence_transformers",
        "kubernetes",
    }
)


def _is_dag_function(node: ast.AST) -> bool:
    """A ``@dag``-decorated function: its body runs when the file is parsed (it is called there)."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        if name == "dag":
            return True
    return False


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def parse_time_imports(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every import that runs when the file is parsed.

    Every ``import``/``from`` statement that is not inside a function: at module level, in
    top-level ``if``/``try``/``with``/``for`` blocks and class bodies, every name of a multi-name
    import; also the body of a ``@dag`` function (the file calls it), though not the task
    functions nested in it. ``if TYPE_CHECKING:`` bodies never run. Relative imports are
    skipped (DAG files have no package).
    """
    found: list[tuple[int, str]] = []

    def visit(nodes: list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module:
                    found.append((node.lineno, node.module.split(".")[0]))
            elif _is_type_checking(node):
                visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                if _is_dag_function(node):
                    visit(node.body)
            else:
                visit(list(ast.iter_child_nodes(node)))

    visit(ast.parse(source).body)
    return found


def heavy_imports(source: str) -> list[str]:
    """``line N: package`` for each parse-time import of a :data:`HEAVY` library."""
    return [f"line {line}: {name}" for line, name in parse_time_imports(source) if name in HEAVY]


def test_the_import_check_sees_every_parse_time_import():
    source = """
import os, pandas
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import torch
else:
    import numpy
try:
    import mlflow.client
except ImportError:
    from ray import train
if True:
        import xgboost
with open(__file__):
    import pyarrow.parquet as pq
class Settings:
    import duckdb
def helper():
    import feast  # a function body: runs only when called
@dag(schedule=None)
def pipeline():
    import deltalake  # the DAG body runs at parse

    @task
    def work():
        import evidently  # a task body: runs in the worker
"""
    assert heavy_imports(source) == [
        "line 2: pandas",
        "line 7: numpy",
        "line 9: mlflow",
        "line 11: ray",
        "line 13: xgboost",
        "line 15: pyarrow",
        "line 17: duckdb",
        "line 22: deltalake",
    ]
    assert (2, "os") in parse_time_imports(source)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_no_heavy_imports_at_parse_time(path):
    assert heavy_imports(path.read_text()) == [], f"{path.name} imports heavy libraries at parse"


def test_parsing_every_dag_loads_no_heavy_library():
    """What the files import (the adapters, ``ml_tasks``) must stay light too: parse every DAG
    file in a fresh interpreter and look at what got loaded."""
    script = f"""
import importlib.util, json, sys
from pathlib import Path
import airflow.sdk
heavy = {sorted(HEAVY)!r}
loaded = {{}}
for path in sorted(Path({str(DAGS_DIR)!r}).glob("*.py")):
    spec = importlib.util.spec_from_file_location("parse_" + path.stem, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    # Only what this file brought in (a library loaded once stays in sys.modules).
    loaded[path.name] = [n for n in heavy if n in sys.modules and n not in sum(loaded.values(), [])]
print(json.dumps(loaded))
"""
    # The repository root is the working directory, as for the Airflow processes.
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=DAGS_DIR.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(loaded) == {p.name for p in DAG_FILES}
    assert all(names == [] for names in loaded.values()), loaded


def asset_declarations(source: str) -> list[str]:
    """``line N: call`` for each ``Asset``/``AssetAlias``/``Dataset`` built in ``source``
    (``Asset(...)``, ``sdk.Asset(...)``, ``Asset.ref(...)``)."""
    kinds = {"Asset", "AssetAlias", "Dataset"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            built = func.value.id in kinds or func.attr in kinds
        else:
            built = getattr(func, "id", getattr(func, "attr", None)) in kinds
        if built:
            found.append(f"line {node.lineno}: {ast.unparse(func)}")
    return found


def test_the_asset_check_sees_every_way_to_build_one():
    source = (
        "a = Asset(name='x', uri='y')\n"
        "b = sdk.Asset('z')\n"
        "c = Asset.ref(uri='y')\n"
        "d = AssetAlias('w')\n"
        "e = assets.CURATED_TELEMETRY\n"
    )
    assert asset_declarations(source) == [
        "line 1: Asset",
        "line 2: sdk.Asset",
        "line 3: Asset.ref",
        "line 4: AssetAlias",
    ]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_no_dag_file_declares_an_asset(path):
    """Every Asset is declared once, in ``ml_platform_airflow.assets``; DAG files import it."""
    assert asset_declarations(path.read_text()) == [], path.name
