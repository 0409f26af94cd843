"""The sensors: wait for landing data and feature partitions; the promotion gates decide loudly.

(The RayJob sensor is tested with its operators, against their fake Kubernetes API.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pyarrow as pa
import pytest

from ml_platform_airflow.sensors import (
    FeaturePartitionsSensor,
    LandingDataSensor,
    PromotionGateSensor,
)
from ml_tasks.elt.readiness import landing_partition
from ml_tasks.features.layout import VIEWS, write_partition
from ml_tasks.release.gates import Check, GateDecision


def test_sensor_pokes_false_until_the_days_landing_data_is_there(platform_home, monkeypatch):
    monkeypatch.setenv("PLATFORM_LANDING_WAIT_SECONDS", "120")
    sensor = LandingDataSensor(task_id="wait_for_landing", day="2026-10-02")
    assert (sensor.mode, sensor.poke_interval, sensor.timeout) == ("reschedule", 300, 120)
    assert sensor.soft_fail is False
    assert sensor.poke({}) is False
    pokes = []
    for source, name in (("telemetry", "events.jsonl"), ("work_orders", "cdc.jsonl")):
        folder = landing_partition(platform_home.landing_dir, source, date(2026, 10, 2))
        folder.mkdir(parents=True)
        (folder / name).write_text("{}\n")
        pokes.append(sensor.poke({}))
    assert pokes == [False, True]


def test_sensor_timeout_defaults_to_six_hours(monkeypatch):
    monkeypatch.delenv("PLATFORM_LANDING_WAIT_SECONDS", raising=False)
    sensor = LandingDataSensor(task_id="wait_for_landing")
    assert sensor.timeout == 6 * 3600
    assert sensor.day is None  # the run's landing day, worked out in poke()


def test_landing_sensor_without_a_day_waits_for_the_runs_landing_day(platform_home):
    """The day comes from the data interval, or from run_after for a run triggered without a
    logical date (no data interval: the template it had before rendered "None")."""
    sensor = LandingDataSensor(task_id="wait_for_landing")
    no_interval = {
        "data_interval_start": None,
        "dag_run": SimpleNamespace(run_after=datetime(2026, 10, 3, 17, 5, tzinfo=UTC)),
    }
    with_interval = {"data_interval_start": datetime(2026, 10, 3, tzinfo=UTC)}
    assert sensor.poke(no_interval) is False
    assert sensor.poke(with_interval) is False
    for source, name in (("telemetry", "events.jsonl"), ("work_orders", "cdc.jsonl")):
        folder = landing_partition(platform_home.landing_dir, source, date(2026, 10, 3))
        folder.mkdir(parents=True)
        (folder / name).write_text("{}\n")
    assert sensor.poke(no_interval) is True
    assert sensor.poke(with_interval) is True


def test_features_sensor_pokes_until_every_view_has_the_days_partition(platform_home):
    sensor = FeaturePartitionsSensor(task_id="wait")
    assert sensor.mode == "reschedule"
    context = {"data_interval_start": datetime(2026, 10, 5, tzinfo=UTC)}
    table = pa.table({"machine_id": ["M-0001"]})
    for view in VIEWS:
        assert sensor.poke(context) is False
        write_partition(platform_home, view, date(2026, 10, 5), table)
    assert sensor.poke(context) is True


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def decision(passed: bool) -> GateDecision:
    check = Check(
        "max_regression_abs",
        "roc_auc",
        0.61,
        0.93,
        0.01,
        passed,
        "roc_auc: challenger 0.6100 vs champion 0.9300: regression 0.3200 > "
        "max_regression_abs 0.0100",
    )
    return GateDecision("metrics", "failure_model", "3", "2", passed, (check,))


def test_gate_defaults_are_reschedule_mode():
    sensor = PromotionGateSensor(task_id="g", gate="metrics", version="3")
    assert sensor.mode == "reschedule" and sensor.template_fields == (
        "model_name",
        "version",
        "policy_path",
    )


def test_gate_waits_while_there_is_no_evaluation(monkeypatch):
    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: None)
    sensor = PromotionGateSensor(task_id="g", gate="metrics", version="3")
    ti = FakeTI()
    assert sensor.poke({"ti": ti}) is False and ti.pushed == {}


def test_gate_no_fails_at_once_with_reasons_in_the_exception_and_xcom(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: decision(False))
    sensor = PromotionGateSensor(task_id="g", gate="metrics", version="3")
    ti = FakeTI()
    with pytest.raises(AirflowFailException, match=r"regression 0\.3200 > max_regression_abs"):
        sensor.poke({"ti": ti})
    pushed = ti.pushed["gate_decision"]
    assert not pushed["passed"] and pushed["checks"][0]["champion"] == pytest.approx(0.93)
    assert pushed["reasons"] == [decision(False).checks[0].message]


def test_gate_yes_returns_the_decision_as_xcom(monkeypatch):
    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: decision(True))
    sensor = PromotionGateSensor(task_id="g", gate="metrics", version="3")
    result = sensor.poke({"ti": FakeTI()})
    assert result.is_done and result.xcom_value["passed"] is True


def test_gate_timeout_names_the_missing_evaluation(monkeypatch):
    from airflow.sdk.exceptions import AirflowSensorTimeout

    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: None)
    sensor = PromotionGateSensor(
        task_id="g", gate="robustness", version="7", mode="poke", poke_interval=0, timeout=0
    )
    ti = FakeTI()
    with pytest.raises(AirflowSensorTimeout, match="timed out waiting for the evaluation of"):
        sensor.execute({"ti": ti})
    assert ti.pushed["gate_decision"]["passed"] is False
    assert "failure_model v7" in ti.pushed["gate_decision"]["reasons"][0]


def test_the_verdict_is_kept_on_the_version(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "ml_tasks.release.gates.decide", lambda *a, **k: calls.append(k) or decision(True)
    )
    PromotionGateSensor(task_id="g", gate="metrics", version="3").poke({"ti": FakeTI()})
    assert calls[0]["record"] is True  # the rollback rule reads the recorded verdicts
