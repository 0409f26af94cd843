"""The nightly chain through the real scheduler on the stack's servers (not ``dag.test``).

Each DAG run is triggered through Airflow's REST API and run by the scheduler's LocalExecutor
on Postgres; the tasks write the lake on S3 (SeaweedFS), Feast's online store on Redis, train on
the Ray head, register in the MLflow server. The tests run in file order and build on each other
(ELT, then features, then training and release, then the search index).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from ml_platform_demo.orchestration import as_of_run_time, interval_run_time
from tests.stack.servers import Stack, tail

START = date(2026, 10, 1)
DAYS = (START, START + timedelta(days=1))
MACHINES = 12
RUN_TIMEOUT_S = 600


def trigger_and_wait(
    api: Any, dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Unpause ``dag_id``, trigger one run at ``logical_date`` (``POST .../dagRuns``) and poll
    it until it finishes; a failure reports its task states and the failed tasks' log tails."""
    from ml_platform_airflow.api_client import quote

    api.set_paused(dag_id, False)
    run_id = f"stack__{logical_date:%Y-%m-%dT%H%M}"
    body = {"dag_run_id": run_id, "logical_date": logical_date.isoformat(), "conf": conf or {}}
    api.call("POST", f"/api/v2/dags/{quote(dag_id)}/dagRuns", body)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}"
    while True:
        run = dict(api.call("GET", path))
        if run["state"] in ("success", "failed"):
            break
        api.services.check_alive()
        if time.monotonic() > deadline:
            break
        time.sleep(2)
    if run["state"] != "success":
        tasks = api.all_pages(f"{path}/taskInstances", "task_instances", {})
        states = {t["task_id"]: t["state"] for t in tasks}
        logs = "\n".join(_task_log(api, dag_id, run_id, t) for t in tasks if t["state"] == "failed")
        pytest.fail(f"{dag_id} {run_id}: {run['state']}; tasks {states}\n{logs}")
    return run


def _task_log(api: Any, dag_id: str, run_id: str, task: dict[str, Any]) -> str:
    """The failed attempt's log tail (the LocalExecutor writes under AIRFLOW_HOME/logs)."""
    from ml_tasks.settings import get_settings

    folder = get_settings().airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    files = sorted(folder.glob(f"task_id={task['task_id']}/**/attempt=*.log"))
    return f"--- {task['task_id']}\n" + (tail(files[-1], 30) if files else "(no log)")


@pytest.fixture(scope="module")
def landing(airflow: Any) -> list[date]:
    """Two landing days of the demo generator's fleet, small enough for minutes."""
    from ml_platform_demo.generate import generate
    from ml_tasks.settings import get_settings

    generate(START, len(DAYS), MACHINES, seed=7, landing_dir=get_settings().landing_dir)
    return list(DAYS)


def test_elt_two_days_on_s3(stack: Stack, airflow: Any, landing: list[date]) -> None:
    from ml_tasks.elt import lake
    from ml_tasks.settings import get_settings

    for day in landing:
        trigger_and_wait(airflow, "elt_telemetry", interval_run_time(day))
    settings = get_settings()
    assert settings.lake_uri.startswith("s3://")
    versions = {
        table: lake.table_version(settings.table_uri(table), settings)
        for table in ("telemetry", "work_orders", "machines")
    }
    print("delta versions after two ELT days:", versions)
    # One commit per day at least (the day's partition replaced): version >= 1 after two days.
    assert versions["telemetry"] is not None and versions["telemetry"] >= 1
    rows = lake.read_table(settings.table_uri("telemetry"), settings, columns=["machine_id"])
    assert rows is not None and rows.num_rows > 0
    assert len(set(rows.column("machine_id").to_pylist())) == MACHINES


def test_features_materialized_to_redis(stack: Stack, airflow: Any, landing: list[date]) -> None:
    from ml_tasks.features.online import OnlineFeatureReader
    from ml_tasks.settings import get_settings

    conf = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()}
    trigger_and_wait(airflow, "features_materialize", as_of_run_time(DAYS[-1]), conf)
    settings = get_settings()
    assert settings.online_store == "redis"
    reader = OnlineFeatureReader.from_settings(settings)
    answers = reader.get(["M-0001", "M-0002"])
    print("online features:", answers)
    assert all(answers[machine] for machine in ("M-0001", "M-0002")), answers
