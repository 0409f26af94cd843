"""With the StatsD settings the stack sets, a real Airflow DAG run sends its metrics, and every
name it sends maps to a labelled Prometheus metric (include/monitoring/statsd/mapping.yml)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ml_tasks.settings import REPO_ROOT
from tests.helpers import clean_env, run_python
from tests.statsd_mapping import DROPPED, load_rules, map_name

pytestmark = pytest.mark.integration

# A DAG of two tasks, the second failing: success and failure metrics in one run.
PROBE_DAG = """
import datetime as d
from airflow.sdk import dag, task

@dag(schedule=None, start_date=d.datetime(2026, 1, 1, tzinfo=d.UTC), catchup=False,
     tags=["test"], default_args={"owner": "tests", "retries": 0})
def statsd_probe():
    @task
    def ok() -> int:
        return 1

    @task
    def boom(x: int) -> None:
        raise RuntimeError("expected failure")

    boom(ok())

statsd_probe()
"""

SCRIPT = """
from ml_platform_demo.orchestration import init_airflow_db, load_dag, run_dag_test
init_airflow_db()
print('RESULT', run_dag_test(load_dag('statsd_probe')).state)
"""


def _compose_metrics_env() -> dict[str, str]:
    """The AIRFLOW__METRICS__* settings docker-compose.yaml gives the Airflow services."""
    import yaml

    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    env = compose["x-airflow-common"]["environment"]
    return {k: str(v) for k, v in env.items() if k.startswith("AIRFLOW__METRICS__")}


def _received(sock: socket.socket) -> list[str]:
    sock.settimeout(1.0)
    lines: list[str] = []
    try:
        while True:
            lines += sock.recv(65535).decode().splitlines()
    except TimeoutError:
        return lines


def test_a_dag_run_sends_statsd_metrics_that_all_map(tmp_path: Path) -> None:
    metrics_env = _compose_metrics_env()
    assert metrics_env["AIRFLOW__METRICS__STATSD_ON"].lower() == "true"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "statsd_probe.py").write_text(PROBE_DAG)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        # The stack's settings, pointed at this socket instead of the statsd-exporter service.
        metrics_env |= {
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(sock.getsockname()[1]),
        }
        env = clean_env(tmp_path / "platform") | metrics_env
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
        result = run_python(["-c", SCRIPT], env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "RESULT failed" in result.stdout, result.stdout[-3000:]
        packets = _received(sock)

    names = {line.split(":", 1)[0] for line in packets}
    # Airflow's own names for what happened: a task failed, one succeeded, both were timed.
    assert {
        "airflow.ti_failures",
        "airflow.ti_successes",
        "airflow.ti.finish.statsd_probe.boom.failed",
        "airflow.ti.finish.statsd_probe.ok.success",
        "airflow.dag.statsd_probe.ok.duration",
    } <= names, sorted(names)

    rules = load_rules()
    mapped = {name: map_name(name, rules) for name in names}
    assert mapped["airflow.ti.finish.statsd_probe.boom.failed"].labels == {
        "dag_id": "statsd_probe",
        "task_id": "boom",
        "state": "failed",
    }
    # No name that carries the DAG's id passes through unmapped (one metric per DAG).
    leaked = [n for n, m in mapped.items() if "statsd_probe" in n and not m.matched]
    assert not leaked, leaked
    kept = {m.name for m in mapped.values() if m.name != DROPPED}
    assert {"airflow_ti_finish_total", "airflow_task_duration_seconds"} <= kept
