"""Runs created with the orchestration helper (``make run``) look right in the Airflow UI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import clean_env, run_python

pytestmark = pytest.mark.integration

SCRIPT = """
import datetime as d, json
from ml_platform_demo.generate import generate
from ml_platform_demo.orchestration import init_airflow_db, test_dag_for_days
day = d.date(2026, 10, 1)
generate(day, 1, 10, interval_minutes=60)
init_airflow_db()
print('RESULT', json.dumps([str(s) for _, s in test_dag_for_days('elt_telemetry', [day])]))
"""


def test_dag_test_runs_have_real_durations_and_task_logs_where_the_ui_reads(tmp_path: Path):
    home = tmp_path / "platform"
    env = clean_env(home) | {"AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
    result = run_python(["-c", SCRIPT], env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'RESULT ["success"]' in result.stdout, result.stdout[-3000:]

    import sqlite3

    db = sqlite3.connect(home / "airflow" / "airflow.db")
    ((run_id, start, end),) = db.execute(
        "SELECT run_id, julianday(start_date), julianday(end_date) FROM dag_run"
    ).fetchall()
    # The run took seconds; dag.test() used to date its start at the logical date (weeks ago).
    assert 0 <= (end - start) * 86400 < 3600, (end - start) * 86400
    template = db.execute("SELECT filename FROM log_template ORDER BY id DESC LIMIT 1").fetchone()[
        0
    ]
    assert template.startswith("dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id=")
    query = "SELECT task_id FROM task_instance WHERE run_id = ?"
    tasks = [task_id for (task_id,) in db.execute(query, (run_id,))]
    assert {"wait_for_landing", "load_machines", "curate_telemetry"} <= set(tasks)
    logs = home / "airflow" / "logs" / "dag_id=elt_telemetry" / f"run_id={run_id}"
    for task_id in tasks:
        path = logs / f"task_id={task_id}" / "attempt=1.log"
        assert path.is_file(), f"no task log at {path}"
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert all("event" in line and "timestamp" in line for line in lines), path
        if task_id == "curate_telemetry":
            assert any("Returned value was" in line["event"] for line in lines), lines
