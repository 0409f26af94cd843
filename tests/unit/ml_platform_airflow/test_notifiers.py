"""The notifiers turn a callback's context into one platform alert (no webhook here)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from ml_platform_airflow.notifiers import DriftAlarmNotifier, PlatformAlertNotifier
from tests.monitoring_fixtures import breach_day


@pytest.fixture
def sent(monkeypatch):
    payloads: list[dict] = []
    monkeypatch.setattr("ml_tasks.alerts.send_alert", payloads.append)
    return payloads


class FakeTI:
    task_id = "raise_alarm"

    def __init__(self, summary: dict | None = None) -> None:
        self.summary = summary

    def xcom_pull(self, task_ids: str) -> dict | None:
        assert task_ids == self.task_id  # the alarm task's own return value
        return self.summary


def _context(ti: FakeTI, **more) -> dict:
    return {"dag": SimpleNamespace(dag_id="monitor_drift"), "ti": ti, "run_id": "r1", **more}


def test_a_failure_alert_names_the_task_run_error_and_interval(sent):
    context = _context(
        FakeTI(),
        exception=ValueError("bad day"),
        data_interval_start=datetime(2026, 10, 2, tzinfo=UTC),
    )
    PlatformAlertNotifier(title="ELT failed").notify(context)
    (alert,) = sent
    assert alert["title"] == "ELT failed"
    assert (alert["dag_id"], alert["task_id"], alert["run_id"]) == (
        "monitor_drift",
        "raise_alarm",
        "r1",
    )
    assert alert["error"] == "bad day"
    assert alert["interval_start"] == "2026-10-02T00:00:00+00:00"


def test_a_drift_alarm_carries_the_breach_from_the_tasks_summary(sent):
    # What check_drift pushes (and raise_alarm returns): the day's result as a dict.
    summary = breach_day(
        interval="2026-10-24", reasons=["feature drift: 5 of 12 columns"]
    ).to_dict()
    DriftAlarmNotifier(title="Drift alarm").notify(_context(FakeTI(summary)))
    (alert,) = sent
    assert alert["title"] == "Drift alarm: failure_model 2026-10-24"
    assert alert["error"] is None
    assert alert["kind"] == "monitoring_breach" and alert["retrain_requested"] is True
    assert alert["reasons"] == summary["reasons"] and alert["model_version"] == "3"


def test_the_notifiers_keep_no_template_fields():
    # Rendering in place would freeze the first run's values on a shared instance.
    assert PlatformAlertNotifier.template_fields == DriftAlarmNotifier.template_fields == ()
