"""The staged-release sensor: one stage step per poke, a live breach fails without retry."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from ml_platform_airflow.live_release import DECISION_KEY, StagedReleaseSensor
from ml_tasks.release.live_walk import LiveProgress, LiveReleaseBlocked


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def context(steps=(10, 50, 100)) -> dict:
    return {
        "ti": FakeTI(),
        "dag": SimpleNamespace(dag_id="promote_model"),
        "run_id": "manual__1",
        "params": {"canary_steps": list(steps)},
    }


CHECK = {"metric": "error_rate", "passed": False, "message": "error_rate: canary 5xx share 0.2"}


def test_defaults_are_reschedule_mode_and_the_stage_is_checked():
    sensor = StagedReleaseSensor(task_id="canary", stage="canary", version="3")
    assert sensor.mode == "reschedule" and "version" in sensor.template_fields
    with pytest.raises(ValueError, match="stage must be one of"):
        StagedReleaseSensor(task_id="x", stage="blue", version="3")


def test_a_waiting_step_pokes_false_with_its_decision_in_xcom(monkeypatch):
    seen = {}

    def step(model, version, steps, *, context, policy):
        seen.update(version=version, steps=steps, run_id=context.run_id)
        return LiveProgress("canary", False, "waiting", decision={"checks": [], "ready": False})

    monkeypatch.setattr("ml_tasks.release.staged.canary_step", step)
    ctx = context([10, 100])
    sensor = StagedReleaseSensor(task_id="canary", stage="canary", version=3)
    assert sensor.poke(ctx) is False
    assert seen == {"version": "3", "steps": [10, 100], "run_id": "manual__1"}
    assert ctx["ti"].pushed[DECISION_KEY] == {"checks": [], "ready": False}


def test_a_finished_stage_returns_its_record(monkeypatch):
    record = {"stage": "shadow", "mode": "live gateway traffic", "passed": True}
    monkeypatch.setattr(
        "ml_tasks.release.staged.shadow_step",
        lambda *a, **k: LiveProgress("shadow", True, "done", result=record),
    )
    result = StagedReleaseSensor(task_id="shadow", stage="shadow", version="3").poke(context())
    assert result.is_done and result.xcom_value == record


def test_a_breach_fails_for_good_with_the_reasons_in_xcom(monkeypatch):
    decision = {"stage": "canary", "step": 10, "checks": [CHECK], "reasons": [CHECK["message"]]}

    def blocked(*a, **k):
        raise LiveReleaseBlocked("live canary step 10 %: BLOCKED: error_rate", decision)

    monkeypatch.setattr("ml_tasks.release.staged.canary_step", blocked)
    ctx = context()
    with pytest.raises(AirflowFailException, match="BLOCKED: error_rate"):
        StagedReleaseSensor(task_id="canary", stage="canary", version="3").poke(ctx)
    assert ctx["ti"].pushed[DECISION_KEY]["reasons"] == [CHECK["message"]]
