"""One daily monitoring run end to end on synthetic offline features and a fake champion.

Covers both references: the fixed window before a champion exists (prediction drift not
available) and the champion's training set with its predictions (prediction drift measured),
plus the files, the drift-table row, idempotent reruns and the alarm status.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_tasks.features.layout import write_partition
from ml_tasks.monitoring import store
from ml_tasks.monitoring.champion import Champion
from ml_tasks.monitoring.pipeline import run_monitoring
from ml_tasks.monitoring.status import drift_status, promotion_gate
from tests.monitoring_frames import machine_hours

START = date(2026, 10, 1)
CLEAN, DRIFTED = date(2026, 10, 8), date(2026, 10, 9)  # Thursday, Friday
SHIFT = {("P2", "pressure_bar"): 2.5, ("P2", "temperature_c"): 4.0}


def _write_day(settings, day, shift=None):
    frame = machine_hours(day, seed=day.toordinal(), shift=shift)
    sensors = [c for c in frame.columns if c.endswith("_1h")]
    views = {
        "telemetry_stats": frame[["machine_id", "feature_ts", *sensors]],
        "maintenance_history": frame[["machine_id", "feature_ts"]].assign(failures_30d=0),
        "machine_attributes": frame[frame.feature_ts.dt.hour == 0][
            ["machine_id", "feature_ts", "plant_id", "line_id", "machine_model"]
        ],
    }
    for view, part in views.items():
        write_partition(settings, view, day, pa.Table.from_pandas(part, preserve_index=False))
    return frame


@pytest.fixture
def offline(platform_home):
    for i in range(8):
        _write_day(platform_home, START + timedelta(days=i))
    _write_day(platform_home, DRIFTED, shift=SHIFT)
    return platform_home


@pytest.fixture
def window_policy(policy):
    # No manifest in this test: pin the window's start instead of "the first curated day".
    return replace(policy, reference=replace(policy.reference, start=START))


@pytest.fixture
def fast_policy(window_policy):
    # No HTML: Evidently's charts (~1.5 s per slice) only for what a finding needs.
    return replace(window_policy, reports=replace(window_policy.reports, html="none"))


class _NoChampion:
    def champion(self, model_name):
        return None


class _FakeChampion:
    """A "model" that scores pressure: its predictions drift with the P2 recalibration."""

    def __init__(self, training_set_path):
        self.path = training_set_path

    def champion(self, model_name):
        def predict(frame):
            z = (frame["pressure_bar_mean_1h"].to_numpy() - 9.0) / 2.0
            return 1 / (1 + np.exp(-z))

        return Champion(model_name, "3", str(self.path), "7", ("pressure_bar_mean_1h",), predict)


def _run(day, settings, policy, source):
    return run_monitoring(
        day, settings=settings, policy=policy, champion_source=source, log_mlflow=False
    )


def test_fixed_window_reference_flags_the_drifted_plant_and_writes_everything(
    offline, window_policy, fast_policy
):
    s = offline
    clean = _run(CLEAN, s, fast_policy, _NoChampion())
    assert not clean.breached and clean.kinds == []
    assert clean.reference_kind == "fixed_window" and clean.model_version == "none"
    assert clean.reference_id == "window:2026-10-01..2026-10-07"
    assert not clean.prediction_available

    drifted = _run(DRIFTED, s, window_policy, _NoChampion())
    assert drifted.breached and drifted.retrain and drifted.kinds == ["feature_drift"]
    p2 = drifted.drifted_columns["plant_id=P2"]
    assert set(p2) == {
        f"{s}_{x}_1h" for s in ("pressure_bar", "temperature_c") for x in ("mean", "min", "max")
    }
    assert all(k in ("all", "plant_id=P2") for k in drifted.drifted_columns)

    folder = s.reports_dir / "drift" / str(DRIFTED) / "failure_model-no-champion"
    assert drifted.report_dir == str(folder)
    assert {p.name for p in folder.glob("*.html")} == {"all.html", "plant_id=P2.html"}
    assert {p.name for p in folder.glob("*.json")} >= {
        "summary.json",
        "all.json",
        "plant_id=P1.json",
    }
    summary = json.loads((folder / "summary.json").read_text())  # strict JSON: no NaN
    assert summary["prediction"] == "not available: no champion model yet"
    assert summary["reference"]["days"][0] == "2026-10-01"

    status = drift_status("failure_model", s)
    assert status["in_alarm"] and status["since"] == str(DRIFTED)
    assert not promotion_gate("failure_model", s).open

    again = _run(DRIFTED, s, fast_policy, _NoChampion())  # rerun: same verdict, one row
    assert again.drifted_columns == drifted.drifted_columns
    assert [r["interval_start"] for r in store.read_rows("failure_model", s)] == [
        str(CLEAN),
        str(DRIFTED),
    ]


def test_a_day_inside_the_window_is_compared_without_itself(offline, fast_policy):
    result = _run(START + timedelta(days=2), offline, fast_policy, _NoChampion())
    assert result.reference_id == "window:2026-10-01..2026-10-07 without 2026-10-03"
    assert not result.breached


def test_champion_reference_measures_prediction_drift(offline, fast_policy, tmp_path):
    s = offline
    training = machine_hours(START, seed=1).rename(columns={"feature_ts": "event_timestamp"})
    training = training.assign(label=0).drop(columns=["day_type"])
    folder = tmp_path / "training_sets" / "v0007"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(training, preserve_index=False), folder / "data.parquet")
    source = _FakeChampion(folder)

    # Every slice may alarm: the P2 shift moves P2's scores past the threshold.
    per_slice = replace(
        fast_policy, prediction=replace(fast_policy.prediction, alarm_on="every_slice")
    )
    result = _run(DRIFTED, s, per_slice, source)
    assert result.reference_kind == "champion_training_set"
    assert result.model_version == "3" and result.prediction_available
    assert result.reference_id == "training_set:7@failure_model-v3"
    assert set(result.kinds) == {"feature_drift", "prediction_drift"}
    assert any("prediction drift in plant_id=P2" in r for r in result.reasons)
    # The policy's default: only the fleet's scores alarm; P2's drift is reported, not alarmed
    # (the fleet, a quarter of it shifted, stays under the threshold here).
    fleet_only = _run(DRIFTED, s, fast_policy, source)
    assert fast_policy.prediction.alarm_on == "fleet"
    assert set(fleet_only.kinds) == {"feature_drift"}
    p2 = json.loads((Path(fleet_only.report_dir) / "plant_id=P2.json").read_text())
    [score] = [
        m["value"]
        for m in p2["metrics"]
        if m["metric_name"].startswith("ValueDrift(column=prediction")
    ]
    assert score >= fast_policy.prediction.threshold
    # The scored reference sample is cached per model version.
    cached = list((s.platform_home / "monitoring" / "reference").glob("failure_model-v3-*.parquet"))
    assert len(cached) == 1

    clean = _run(CLEAN, s, fast_policy, source)
    assert "prediction_drift" not in clean.kinds
    rows = store.read_rows("failure_model", s)
    assert {(r["interval_start"], r["model_version"]) for r in rows} == {
        (str(DRIFTED), "3"),
        (str(CLEAN), "3"),
    }


def test_a_candidate_check_needs_the_alias_and_never_asks_for_retraining(
    offline, fast_policy, tmp_path
):
    training = machine_hours(START, seed=1).rename(columns={"feature_ts": "event_timestamp"})
    folder = tmp_path / "v0007"
    folder.mkdir()
    table = pa.Table.from_pandas(training.drop(columns=["day_type"]), preserve_index=False)
    pq.write_table(table, folder / "data.parquet")
    with pytest.raises(LookupError, match="failure_model@challenger"):
        run_monitoring(
            DRIFTED,
            settings=offline,
            policy=fast_policy,
            champion_source=_NoChampion(),
            alias="challenger",
            log_mlflow=False,
        )
    result = run_monitoring(
        DRIFTED,
        settings=offline,
        policy=fast_policy,
        champion_source=_FakeChampion(folder),
        alias="challenger",
        log_mlflow=False,
    )
    assert result.breached and not result.retrain
    [row] = store.read_rows("failure_model", offline)
    assert row["alias"] == "challenger" and row["model_version"] == "3"
