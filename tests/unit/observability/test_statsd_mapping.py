"""The statsd_exporter mapping turns every templated Airflow metric name into a labelled one."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from tests.statsd_mapping import DROPPED, load_rules, map_name

# Airflow's own list of the metrics it emits (the docs' metrics table is built from it).
TEMPLATE = (
    Path(*(importlib.util.find_spec("airflow").submodule_search_locations or ["."])[:1])
    / "_shared"
    / "observability"
    / "metrics"
    / "metrics_template.yaml"
)
# Values with the awkward characters real ones have: a task group's dot, a file's ".py".
EXAMPLES = {
    "dag_id": "elt_telemetry",
    "task_id": "curate.telemetry",
    "state": "failed",
    "job_name": "SchedulerJob",
    "job_id": "42",
    "return_code": "1",
    "operator_name": "PythonDecoratedOperator",
    "task_type": "PythonDecoratedOperator",
    "file_name": "elt_telemetry.py",
    "dag_file": "elt_telemetry.py",
    "bundle_name": "dags-folder",
    "executor_class_name": "LocalExecutor",
    "pool_name": "default_pool",
    "hostname": "triggerer-0",
    "queue": "default",
    "event_type": "START",
    "transport_type": "http",
    "worker_name": "edge-1",
}


def _templated_names() -> list[str]:
    names = []
    for metric in yaml.safe_load(TEMPLATE.read_text())["metrics"]:
        for key in ("name", "legacy_name"):
            value = metric.get(key) or "-"
            if "{" in value:
                names.append("airflow." + value.format(**EXAMPLES))
    return names


def test_airflow_still_declares_the_names_the_mapping_was_written_for() -> None:
    names = _templated_names()
    assert "airflow.dagrun.duration.failed.elt_telemetry" in names
    assert "airflow.ti.finish.elt_telemetry.curate.telemetry.failed" in names
    assert len(names) > 40


@pytest.mark.parametrize("statsd_name", _templated_names())
def test_every_templated_name_is_mapped_or_dropped(statsd_name: str) -> None:
    """A name carrying ids must never pass through as is: one metric name per DAG or task."""
    mapped = map_name(statsd_name, load_rules())
    assert mapped.matched, f"{statsd_name} passes through as {mapped.name}"
    if mapped.name != DROPPED:
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", mapped.name), mapped.name
        assert not any("{" in v or "$" in v for v in mapped.labels.values()), mapped.labels


@pytest.mark.parametrize(
    ("statsd_name", "name", "labels"),
    [
        (
            "airflow.dagrun.duration.failed.elt_telemetry",
            "airflow_dagrun_duration_seconds",
            {"state": "failed", "dag_id": "elt_telemetry"},
        ),
        (
            "airflow.ti.finish.train_failure_model.train.success",
            "airflow_ti_finish_total",
            {"dag_id": "train_failure_model", "task_id": "train", "state": "success"},
        ),
        (
            "airflow.ti.finish.elt_telemetry.curate.telemetry.up_for_retry",
            "airflow_ti_finish_total",
            {"dag_id": "elt_telemetry", "task_id": "curate.telemetry", "state": "up_for_retry"},
        ),
        (
            "airflow.dag.monitor_drift.monitor.duration",
            "airflow_task_duration_seconds",
            {"dag_id": "monitor_drift", "task_id": "monitor"},
        ),
        (
            "airflow.SchedulerJob_heartbeat_failure",
            "airflow_job_heartbeat_failure_total",
            {"job": "SchedulerJob"},
        ),
        (
            "airflow.operator_failures_PythonDecoratedOperator",
            "airflow_operator_failures_total",
            {"operator": "PythonDecoratedOperator"},
        ),
        # The id-less twins of labelled metrics: dropped, not counted twice.
        ("airflow.dagrun.duration.failed", DROPPED, {}),
        ("airflow.ti.finish", DROPPED, {}),
        ("airflow.task.duration", DROPPED, {}),
    ],
)
def test_names_become_labelled_metrics(statsd_name: str, name: str, labels: dict) -> None:
    mapped = map_name(statsd_name, load_rules())
    assert (mapped.name, mapped.labels) == (name, labels)


@pytest.mark.parametrize(
    ("statsd_name", "name"),
    [
        ("airflow.scheduler_heartbeat", "airflow_scheduler_heartbeat"),
        ("airflow.ti_failures", "airflow_ti_failures"),
        ("airflow.dag_processing.import_errors", "airflow_dag_processing_import_errors"),
    ],
)
def test_names_without_ids_pass_through(statsd_name: str, name: str) -> None:
    mapped = map_name(statsd_name, load_rules())
    assert (mapped.name, mapped.matched) == (name, False)
