"""Monitoring on the demo data set: injected drift flagged, clean days quiet, the real DAG.

One module-scoped data set is the demo's (`make run`): 30 days x 100 machines from 2026-10-01,
seed 7, 2 % bad records, plant P2's pressure and temperature recalibrated from day 24
(2026-10-24), curated by the ELT and turned into offline features. On it:

- every day of the range through ``run_monitoring``: the first drift day is flagged on P2's
  pressure and temperature columns, every drift day is flagged, no clean day is (the
  false-positive count is printed);
- ``monitor_drift`` with ``dag.test()``: a clean day skips the alarm; a drift day alerts through
  the notifier (webhook), emits the ``drift_alarm`` asset event, logs to MLflow and closes the
  promotion gate; a later day after the sensor is recalibrated back clears it and reopens the gate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from ml_platform_demo.orchestration import interval_run_time

pytestmark = pytest.mark.integration

START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(30)]
DRIFT_START = START + timedelta(days=23)  # as in ml_platform_demo/run.py: start + days - 7
AFTER = DAYS[-1] + timedelta(days=1)  # a day with the sensors recalibrated back
DRIFTED = {f"{s}_{x}_1h" for s in ("pressure_bar", "temperature_c") for x in ("mean", "min", "max")}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory, airflow_db):
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.features.compute import compute_features
    from ml_tasks.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLATFORM_HOME", str(tmp_path_factory.mktemp("monitoring") / "platform"))
        s = get_settings()
        generate(
            START,
            30,
            100,
            seed=7,
            bad_rate=0.02,
            drift_start=DRIFT_START,
            landing_dir=s.landing_dir,
        )
        for day in DAYS:
            run_elt(day, settings=s, run_id=f"test__{day}")
        compute_features(DAYS[0], DAYS[-1], settings=s, run_id="test")
        yield s


@pytest.fixture(scope="module")
def monitor_dag(demo_home):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag("monitor_drift", demo_home)
    for task in dag.tasks:
        task.retries = 0
    return dag


def _asset_events() -> list[dict]:
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


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_demo_range_flags_the_first_drift_day_and_no_clean_day(demo_home):
    from ml_platform_demo.steps.monitoring import score_days
    from ml_tasks.monitoring.pipeline import run_monitoring
    from ml_tasks.monitoring.policy import load_policy

    policy = load_policy()
    # The repository's thresholds, without the HTML charts (the DAG test below renders them).
    fast = replace(policy, reports=replace(policy.reports, html="none"))
    results = {
        day: run_monitoring(day, settings=demo_home, policy=fast, log_mlflow=False) for day in DAYS
    }
    rows = {day.isoformat(): {"breached": r.breached} for day, r in results.items()}
    score = score_days(rows, DAYS, DRIFT_START)
    print(
        f"\nmonitoring over the demo range: alarm days {[str(d) for d in score['alarm_days']]}, "
        f"false positives {len(score['false_positives'])} of {score['clean_days']} clean days"
    )
    assert score["false_positives"] == []
    assert score["missed"] == []
    assert score["first_drift_day_flagged"]

    first = results[DRIFT_START]
    assert first.kinds == ["feature_drift"]
    # The recalibrated plant, on the recalibrated sensors and nothing else.
    assert set(first.drifted_columns["plant_id=P2"]) == DRIFTED
    assert set(first.drifted_columns) <= {"plant_id=P2", "all"}
    for result in results.values():
        for columns in result.drifted_columns.values():
            assert set(columns) <= DRIFTED
    # Before any champion: the fixed window, and prediction drift reported as not available.
    assert first.reference_id == "window:2026-10-01..2026-10-07"
    assert not first.prediction_available


def test_dag_alerts_emits_the_asset_event_and_closes_the_gate(monitor_dag, demo_home, webhook):
    from ml_tasks.monitoring import store
    from ml_tasks.monitoring.status import promotion_gate

    before = len(_asset_events())
    clean = monitor_dag.test(logical_date=interval_run_time(DRIFT_START - timedelta(days=1)))
    assert str(clean.state) == "success"
    assert _states(clean) == {
        "wait_for_features": "success",
        "check_drift": "success",
        "raise_alarm": "skipped",
        "request_retraining": "skipped",
    }
    assert webhook.received == [] and len(_asset_events()) == before

    run = monitor_dag.test(logical_date=interval_run_time(DRIFT_START))
    assert str(run.state) == "success"
    assert set(_states(run).values()) == {"success"}
    [alert] = webhook.received
    assert alert["title"] == f"Monitoring breach: failure_model {DRIFT_START}"
    assert alert["interval"] == str(DRIFT_START) and alert["kinds"] == ["feature_drift"]
    assert alert["retrain_requested"] is True
    assert any(r.startswith("feature drift in plant_id=P2") for r in alert["reasons"])
    events = _asset_events()
    assert len(events) == before + 1 and events[-1]["interval"] == str(DRIFT_START)

    [row] = [
        r
        for r in store.read_rows("failure_model", demo_home)
        if r["interval_start"] == str(DRIFT_START)
    ]
    assert row["breached"] and row["mlflow_run_id"]
    assert (
        demo_home.reports_dir
        / "drift"
        / str(DRIFT_START)
        / "failure_model-no-champion"
        / "plant_id=P2.html"
    ).exists()
    assert not promotion_gate("failure_model", demo_home).open


def test_recalibrating_back_clears_the_alarm_and_reopens_the_gate(monitor_dag, demo_home):
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.features.compute import compute_features
    from ml_tasks.monitoring.status import drift_status, promotion_gate

    generate(
        AFTER, 1, 100, seed=7, bad_rate=0.02, drift_start=None, landing_dir=demo_home.landing_dir
    )
    run_elt(AFTER, settings=demo_home, run_id="test__after")
    compute_features(AFTER, AFTER, settings=demo_home, run_id="test")
    run = monitor_dag.test(logical_date=interval_run_time(AFTER))
    assert str(run.state) == "success"
    assert _states(run)["raise_alarm"] == "skipped"
    status = drift_status("failure_model", demo_home)
    assert status["latest_interval"] == str(AFTER) and not status["in_alarm"]
    assert promotion_gate("failure_model", demo_home).open
