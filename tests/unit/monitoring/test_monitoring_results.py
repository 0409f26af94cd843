"""The monitoring stage's result: its XCom payload keeps the dict shape the DAG always carried."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace

import pytest

from ml_tasks.monitoring.results import DayVerdict, MonitoringDay
from tests.monitoring_fixtures import breach_day

DAY = breach_day(verdict=DayVerdict("drift gate 2026-10-09: BREACH (feature_drift)", ["fleet: 5%"]))


def test_to_dict_is_the_payload_the_dag_tasks_and_the_cli_carry():
    payload = DAY.to_dict()
    # The keys, in this order, of the dict the stage returned before it was a dataclass.
    assert list(payload) == [
        "interval",
        "model_name",
        "model_version",
        "alias",
        "reference_kind",
        "reference_id",
        "breached",
        "retrain",
        "kinds",
        "reasons",
        "drifted_columns",
        "share_drifted",
        "prediction_available",
        "rows",
        "report_dir",
        "html_reports",
        "mlflow_run_id",
        "timings",
        "verdict",
    ]
    assert payload["verdict"] == {
        "headline": "drift gate 2026-10-09: BREACH (feature_drift)",
        "lines": ["fleet: 5%"],
    }
    assert payload["rows"] == {"current": 2400, "compared": 2400, "reference": 20000}
    # A copy: changing the payload leaves the result alone.
    payload["kinds"].append("data_quality")
    assert DAY.kinds == ["feature_drift"]


def test_from_dict_reads_back_what_xcom_returns():
    through_xcom = json.loads(json.dumps(DAY.to_dict()))
    assert MonitoringDay.from_dict(through_xcom) == DAY
    assert MonitoringDay.from_dict({**through_xcom, "added_later": 1}) == DAY
    without_verdict = {k: v for k, v in through_xcom.items() if k != "verdict"}
    assert MonitoringDay.from_dict(without_verdict) == replace(DAY, verdict=DayVerdict())
    with pytest.raises(TypeError):
        MonitoringDay.from_dict({k: v for k, v in through_xcom.items() if k != "breached"})


def test_it_is_frozen():
    with pytest.raises(FrozenInstanceError):
        DAY.breached = False  # type: ignore[misc]
