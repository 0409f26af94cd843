"""Why a training run started and its window: schedule, new features, a drift alarm, Params."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from ml_tasks.training import trigger
from ml_tasks.training.trigger import DriftAlarm, TrainingTrigger, asset_events, resolve_trigger

RUN_AFTER = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)  # an asset-triggered run starts "now"

# The extra monitor_drift's request_retraining writes on the drift_alarm event.
ALARM = {
    "interval": "2026-10-24",
    "model_name": "failure_model",
    "model_version": "1",
    "kinds": ["feature_drift"],
    "reasons": ["feature drift in plant_id=P2: 40% of columns drifted: ..."],
    "drifted_columns": {
        "plant_id=P2": ["temperature_c_mean_1h", "power_kw_mean_1h"],
        "all": ["power_kw_mean_1h"],
    },
    "report_dir": "/platform/reports/drift/2026-10-24/failure_model-v1",
}


def _event(extra: dict, at: str = "2026-11-30T09:14:00+00:00") -> dict:
    return {"extra": extra, "timestamp": at, "source_run_id": "manual__2026-10-24"}


def test_the_asset_names_are_the_ones_the_dags_declare():
    from ml_platform_airflow.assets import DRIFT_ALARM, FEATURES_OFFLINE

    assert trigger.DRIFT_ALARM_ASSET == DRIFT_ALARM.name
    assert trigger.FEATURES_ASSET == FEATURES_OFFLINE.name


def test_a_drift_alarm_ends_the_window_on_its_day_and_is_recorded():
    found = resolve_trigger(
        {"drift_alarm": [_event(ALARM)]},
        start=None,
        end=None,
        window_days=28,
        run_after=RUN_AFTER,
        run_type="asset_triggered",
    )
    assert found.reason == trigger.DRIFT_ALARM
    # The window includes the drifted day, 28 days back from it (not the day before "now").
    assert found.window == (date(2026, 9, 27), date(2026, 10, 24))
    assert found.days == 28
    alarm = found.alarm
    assert alarm is not None and alarm.day == "2026-10-24"
    assert alarm.columns == ("power_kw_mean_1h", "temperature_c_mean_1h")
    assert alarm.slices == ("all", "plant_id=P2") and alarm.plants == ("P2",)
    assert alarm.kinds == ("feature_drift",) and alarm.model_version == "1"
    assert alarm.source_run_id == "manual__2026-10-24"
    assert "drift alarm of 2026-10-24 (feature_drift) in plant P2" in found.describe()
    tags = found.tags()
    assert tags["trigger.reason"] == "drift_alarm"
    assert tags["trigger.alarm.day"] == "2026-10-24"
    assert tags["trigger.alarm.plants"] == "P2"
    assert tags["trigger.alarm.columns"] == "power_kw_mean_1h,temperature_c_mean_1h"
    assert all(isinstance(v, str) for v in tags.values())


def test_the_latest_of_several_queued_alarms_ends_the_window():
    later = {**ALARM, "interval": "2026-10-26"}
    found = resolve_trigger(
        {"drift_alarm": [_event(later), _event(ALARM)], "features_offline": [_event({})]},
        start=None,
        end=None,
        window_days=7,
        run_after=RUN_AFTER,
    )
    assert found.reason == trigger.DRIFT_ALARM  # the alarm wins over the features event
    assert found.window == (date(2026, 10, 20), date(2026, 10, 26))
    assert [a.day for a in found.alarms] == ["2026-10-24", "2026-10-26"]
    assert found.assets == ("drift_alarm", "features_offline")
    assert "+1 earlier alarm" in found.describe()


@pytest.mark.parametrize(
    ("events", "run_type", "reason"),
    [
        (None, "scheduled", trigger.SCHEDULE),
        ({}, "manual", trigger.MANUAL),
        ({"features_offline": [_event({"days": 1})]}, "asset_triggered", trigger.NEW_FEATURES),
    ],
)
def test_other_runs_train_on_the_days_before_the_run(events, run_type, reason):
    found = resolve_trigger(
        events, start=None, end=None, window_days=28, run_after=RUN_AFTER, run_type=run_type
    )
    assert found.reason == reason and found.alarm is None
    assert found.window == (date(2026, 11, 2), date(2026, 11, 29))
    assert "trigger.alarm.day" not in found.tags()


def test_explicit_params_win_and_a_backwards_window_is_refused():
    found = resolve_trigger(
        {"drift_alarm": [_event(ALARM)]},
        start="2026-10-01",
        end="2026-10-30",
        window_days=28,
        run_after=RUN_AFTER,
    )
    assert found.window == (date(2026, 10, 1), date(2026, 10, 30)) and found.days == 30
    assert found.reason == trigger.DRIFT_ALARM  # still recorded as what started it
    with pytest.raises(ValueError, match="starts after"):
        resolve_trigger(
            None, start="2026-10-11", end="2026-10-10", window_days=28, run_after=RUN_AFTER
        )
    with pytest.raises(ValueError, match="interval"):
        DriftAlarm.from_event({"kinds": ["feature_drift"]})


def test_airflows_accessor_and_run_type_enum_are_read_by_attribute():
    """The shapes Airflow hands a task: assets as keys, event objects, a DagRunType enum."""
    from airflow.sdk import Asset
    from airflow.sdk.api.datamodels._generated import DagRunType

    asset = Asset(name="drift_alarm", uri="platform://monitoring/drift_alarm")
    event = SimpleNamespace(
        extra=ALARM,
        timestamp=datetime(2026, 11, 30, 9, 14, tzinfo=UTC),
        source_dag_id="monitor_drift",
        source_run_id="scheduled__2026-10-25",
    )
    events = asset_events({asset: [event]})
    assert events["drift_alarm"][0]["timestamp"] == "2026-11-30T09:14:00+00:00"
    found = resolve_trigger(
        events, start=None, end=None, window_days=28, run_after=RUN_AFTER, run_type=None
    )
    assert found.alarm is not None and found.alarm.source_run_id == "scheduled__2026-10-25"
    manual = resolve_trigger(
        asset_events(None),
        start=None,
        end=None,
        window_days=3,
        run_after=RUN_AFTER,
        run_type=DagRunType.MANUAL,
    )
    assert manual.reason == trigger.MANUAL


def test_the_trigger_round_trips_through_xcom_and_the_plan():
    found = resolve_trigger(
        {"drift_alarm": [_event(ALARM)]}, start=None, end=None, window_days=28, run_after=RUN_AFTER
    )
    assert TrainingTrigger.from_dict(found.to_dict()) == found
    assert found.to_dict()["alarms"][0]["plants"] == ["P2"]
