"""``monitor_live_performance`` with ``dag.test()``: a real registered champion, its prediction
log (written by the gateway's writer) and curated work orders (``tests.live_fixtures``).

The run for day D judges day D-1: a day whose served scores hold skips the alarm; a day made bad
(inverted scores) alerts through the notifier (webhook), emits the ``drift_alarm`` asset event
with ``kind: live_performance`` and closes the promotion gate; a day whose labels are not known
yet is pending and alarms on nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ml_platform_demo.orchestration import interval_run_time
from tests import live_fixtures as lf
from tests.release_fixtures import MODEL, Registry, reset, set_aliases

pytestmark = pytest.mark.integration


@pytest.fixture
def live_env(release_registry: Registry, tmp_path, monkeypatch, airflow_db) -> Any:
    """The registry's MLflow, a lake/manifest/reports of the test's own, through the environment
    (the DAG's tasks read their settings there)."""
    from ml_tasks.settings import get_settings

    reset(release_registry)
    set_aliases(release_registry, champion=release_registry.better)
    mlflow_uri = release_registry.settings.mlflow_tracking_uri
    for key, value in {
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "MLFLOW_REGISTRY_URI": release_registry.settings.mlflow_registry_uri,
        "PLATFORM_LAKE_URI": str(tmp_path / "lake"),
        "PLATFORM_MANIFEST_PATH": str(tmp_path / "manifest.sqlite"),
        "PLATFORM_REPORTS_DIR": str(tmp_path / "reports"),
        "PLATFORM_RELEASE_HISTORY_URI": str(tmp_path / "history"),
    }.items():
        monkeypatch.setenv(key, value)
    s = get_settings()
    lf.write_curated(s)
    version = release_registry.better
    lf.write_predictions(
        s, lf.served_rows(lf.DAY_1, version, "good") + lf.served_rows(lf.DAY_2, version, "inverted")
    )
    yield s
    reset(release_registry)


def _drift_alarm_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    from ml_platform_airflow.assets import DRIFT_ALARM

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == DRIFT_ALARM.uri)
            .all()
        )
        return [dict(e.extra or {}) for e in events]


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_dag_judges_the_day_before_and_alarms_on_the_day_made_bad(live_env, webhook) -> None:
    from ml_platform_demo.orchestration import load_dag
    from ml_tasks.monitoring.status import promotion_gate

    dag = load_dag("monitor_live_performance", live_env)
    for task in dag.tasks:
        task.retries = 0
    before = len(_drift_alarm_events())

    # The run for DAY_2 judges DAY_1, whose scores hold.
    held = dag.test(logical_date=interval_run_time(lf.DAY_2))
    assert str(held.state) == "success"
    assert _states(held) == {
        "check_live_performance": "success",
        "raise_alarm": "skipped",
        "request_retraining": "skipped",
    }
    assert webhook.received == [] and len(_drift_alarm_events()) == before
    assert promotion_gate(MODEL, live_env).open

    # The run for DAY_3 judges DAY_2, made bad.
    bad = dag.test(logical_date=interval_run_time(lf.DAY_3))
    assert str(bad.state) == "success"
    assert set(_states(bad).values()) == {"success"}
    [alert] = webhook.received
    assert alert["title"] == f"Live performance drop: {MODEL} {lf.DAY_2}"
    assert alert["kind"] == "live_performance" and alert["interval"] == str(lf.DAY_2)
    assert any("ROC-AUC" in r for r in alert["reasons"])
    events = _drift_alarm_events()
    assert len(events) == before + 1
    assert events[-1]["kind"] == "live_performance" and events[-1]["interval"] == str(lf.DAY_2)
    gate = promotion_gate(MODEL, live_env)
    assert not gate.open and "live performance" in gate.reason

    # The run for DAY_4 judges DAY_3, whose labels need work orders not curated yet: pending.
    pending = dag.test(logical_date=interval_run_time(lf.DAY_3 + timedelta(days=1)))
    assert _states(pending)["raise_alarm"] == "skipped"
    assert len(webhook.received) == 1
