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
# Six landing days: training's time split keeps a 24 h gap before its validation fifth, so two
# days leave no training rows; the fleet is the generator's, small.
DAYS = tuple(START + timedelta(days=offset) for offset in range(6))
MACHINES = 24
RUN_TIMEOUT_S = 600


def trigger_and_wait(
    api: Any,
    dag_id: str,
    logical_date: datetime,
    conf: dict[str, Any] | None = None,
    *,
    must_succeed: bool = True,
) -> dict[str, Any]:
    """Unpause ``dag_id``, trigger one run at ``logical_date`` (``POST .../dagRuns``) and poll
    it until it finishes; a failure reports its task states and the failed tasks' log tails.
    With ``must_succeed=False`` a finished run is returned either way, its task states under
    ``"tasks"`` (a release the gates block fails by design)."""
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
    tasks = api.all_pages(f"{path}/taskInstances", "task_instances", {})
    states = {t["task_id"]: t["state"] for t in tasks}
    run["tasks"] = states
    finished = run["state"] in ("success", "failed")
    if run["state"] != "success" and (must_succeed or not finished):
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


def test_elt_every_day_on_s3(stack: Stack, airflow: Any, landing: list[date]) -> None:
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
    print(f"delta versions after {len(landing)} ELT days:", versions)
    # One commit per day at least (the day's partition replaced).
    assert versions["telemetry"] is not None and versions["telemetry"] >= len(landing) - 1
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


def test_search_index_refreshed_on_s3(stack: Stack, airflow: Any, landing: list[date]) -> None:
    from ml_tasks.search.retrieval import Searcher
    from ml_tasks.settings import get_settings
    from tests.stack.servers import s3_client

    conf = {"snapshot_date": DAYS[-1].isoformat()}
    trigger_and_wait(airflow, "refresh_embeddings", interval_run_time(DAYS[-1]), conf)
    settings = get_settings()
    assert settings.search_index_uri.startswith("s3://search/")
    listed = s3_client(stack.s3.url).list_objects_v2(Bucket="search", Prefix="index/")
    assert listed.get("KeyCount", 0) > 0, "no index objects on S3"
    hits = Searcher(settings).search("bearing temperature too high", k=3)
    print("search hits:", [(hit.get("doc_id"), hit.get("section")) for hit in hits])
    assert hits


def test_training_registration_and_release(stack: Stack, airflow: Any, landing: list[date]) -> None:
    import mlflow

    from ml_tasks.registry.models import client
    from ml_tasks.settings import get_settings
    from tests.stack.servers import s3_client

    conf = {
        "start": DAYS[0].isoformat(),
        "end": DAYS[-1].isoformat(),
        "rounds": 40,
        "checkpoint_every": 10,
        "workers": 1,
        "mode": "local",
    }
    trigger_and_wait(airflow, "train_failure_model", interval_run_time(DAYS[-1]), conf)
    settings = get_settings()
    registry = client(settings)
    versions = registry.search_model_versions("name='failure_model'")
    assert versions, "no version registered in the MLflow server"
    version = max(int(v.version) for v in versions)
    checkpoints = s3_client(stack.s3.url).list_objects_v2(Bucket="ray", Prefix="checkpoints/")
    assert checkpoints.get("KeyCount", 0) > 0, "no Ray checkpoints on S3"
    # The model back through the server's artifact proxy (mlflow-artifacts:/ -> S3).
    model = mlflow.pyfunc.load_model(f"models:/failure_model/{version}")
    assert model.metadata is not None
    trigger_and_wait(airflow, "evaluate_model", as_of_run_time(DAYS[-1]), {"version": str(version)})
    tags = registry.get_model_version("failure_model", str(version)).tags
    assert tags.get("evaluation.status") == "complete", tags
    # The gates decide: on six days of a small fleet the metric gate may block (a slice without
    # failures has no ROC-AUC); either way every gate ran and the champion alias agrees.
    promote = {"version": str(version)}
    run = trigger_and_wait(
        airflow, "promote_model", as_of_run_time(DAYS[-1]), promote, must_succeed=False
    )
    gates = {task: state for task, state in run["tasks"].items() if task.startswith("gate_")}
    aliases = registry.get_registered_model("failure_model").aliases
    print("promote:", run["state"], gates, aliases)
    assert {"gate_metrics", "gate_robustness", "gate_artifacts", "gate_drift"} <= set(gates)
    assert set(gates.values()) <= {"success", "failed"}, gates
    released = aliases.get("champion") == str(version)
    assert released == (run["state"] == "success"), (run["state"], aliases)
    source = registry.get_model_version("failure_model", str(version)).source
    experiment = registry.get_experiment_by_name("failure_model")
    location = experiment.artifact_location if experiment else None
    listed = s3_client(stack.s3.url).list_objects_v2(Bucket="mlflow")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    print("model source:", source, "experiment location:", location, "s3 keys:", keys[:10])
    assert keys, f"no MLflow artifacts on S3 (model source {source}, experiment {location})"
