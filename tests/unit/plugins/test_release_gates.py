"""The promotion gate sensor: waits for the evaluation, then passes or fails loudly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ml_tasks.release.gates import Check, GateDecision

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "release_gates.py"


@pytest.fixture
def sensor_module():
    spec = importlib.util.spec_from_file_location("release_gates", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_defaults_are_reschedule_mode(sensor_module):
    sensor = sensor_module.PromotionGateSensor(task_id="g", gate="metrics", version="3")
    assert sensor.mode == "reschedule" and sensor.template_fields == (
        "model_name",
        "version",
        "policy_path",
    )


def test_waits_while_there_is_no_evaluation(sensor_module, monkeypatch):
    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: None)
    sensor = sensor_module.PromotionGateSensor(task_id="g", gate="metrics", version="3")
    ti = FakeTI()
    assert sensor.poke({"ti": ti}) is False and ti.pushed == {}


def test_no_fails_at_once_with_reasons_in_the_exception_and_xcom(sensor_module, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: decision(False))
    sensor = sensor_module.PromotionGateSensor(task_id="g", gate="metrics", version="3")
    ti = FakeTI()
    with pytest.raises(AirflowFailException, match=r"regression 0\.3200 > max_regression_abs"):
        sensor.poke({"ti": ti})
    pushed = ti.pushed["gate_decision"]
    assert not pushed["passed"] and pushed["checks"][0]["champion"] == pytest.approx(0.93)
    assert pushed["reasons"] == [decision(False).checks[0].message]


def test_yes_returns_the_decision_as_xcom(sensor_module, monkeypatch):
    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: decision(True))
    sensor = sensor_module.PromotionGateSensor(task_id="g", gate="metrics", version="3")
    result = sensor.poke({"ti": FakeTI()})
    assert result.is_done and result.xcom_value["passed"] is True


def test_timeout_names_the_missing_evaluation(sensor_module, monkeypatch):
    from airflow.sdk.exceptions import AirflowSensorTimeout

    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: None)
    sensor = sensor_module.PromotionGateSensor(
        task_id="g", gate="robustness", version="7", mode="poke", poke_interval=0, timeout=0
    )
    ti = FakeTI()
    with pytest.raises(AirflowSensorTimeout, match="timed out waiting for the evaluation of"):
        sensor.execute({"ti": ti})
    assert ti.pushed["gate_decision"]["passed"] is False
    assert "failure_model v7" in ti.pushed["gate_decision"]["reasons"][0]


def test_the_verdict_is_kept_on_the_version(sensor_module, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "ml_tasks.release.gates.decide", lambda *a, **k: calls.append(k) or decision(True)
    )
    sensor_module.PromotionGateSensor(task_id="g", gate="metrics", version="3").poke(
        {"ti": FakeTI()}
    )
    assert calls[0]["record"] is True  # the rollback rule reads the recorded verdicts
