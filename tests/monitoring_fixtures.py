"""Fixtures for the monitoring tests (unit and component): the drift policy as shipped, and a
day's result in breach (:func:`breach_day`).

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``); a test module that
means another policy (evaluation, release, search) defines its own ``policy`` fixture.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ml_tasks.monitoring.results import MonitoringDay


@pytest.fixture
def policy():
    """The monitoring policy from ``include/policies`` (a fresh load per test)."""
    from ml_tasks.monitoring.policy import load_policy

    return load_policy()


def breach_day(**changes: Any) -> MonitoringDay:
    """A monitored day in breach (feature drift on plant P2 against the champion v3), as
    :meth:`~ml_tasks.monitoring.pipeline.Monitor.run` returns it; ``changes`` replace fields."""
    from ml_tasks.monitoring.results import MonitoringDay

    day = MonitoringDay(
        interval="2026-10-09",
        model_name="failure_model",
        model_version="3",
        alias="champion",
        reference_kind="champion_training_set",
        reference_id="training_set:7@failure_model-v3",
        breached=True,
        retrain=True,
        kinds=["feature_drift"],
        reasons=[
            "feature drift in plant_id=P2: 33% of columns drifted: "
            "pressure_bar_mean_1h (wasserstein 0.41 >= 0.1)"
        ],
        drifted_columns={"plant_id=P2": ["pressure_bar_mean_1h"]},
        share_drifted=0.05,
        prediction_available=True,
        rows={"current": 2400, "compared": 2400, "reference": 20000},
        report_dir="/tmp/reports/drift/2026-10-09/failure_model-v3",
        html_reports=["/tmp/reports/drift/2026-10-09/failure_model-v3/all.html"],
        mlflow_run_id=None,
        timings={"champion": 0.01, "total": 1.5},
    )
    return replace(day, **changes)
