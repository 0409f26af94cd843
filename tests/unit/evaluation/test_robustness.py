"""Robustness tests are honest: what the model ignores costs nothing, what it needs costs.

Plain XGBoost boosters on the synthetic training set (heat and vibration carry the signal);
no MLflow, no Ray.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ml_platform_demo.synthetic_training import SENSORS, feature_names, write_training_set
from ml_tasks.evaluation.robustness import (
    gaussian_noise,
    missing_sensor,
    run_robustness,
    sensor_columns,
    unit_shift,
)
from ml_tasks.release.policy import NoiseSpec, RobustnessSettings, UnitShift

SPEC = RobustnessSettings(
    metric="roc_auc",
    sensors=tuple(SENSORS),
    gaussian_noise=NoiseSpec(sigma=0.1, repeats=3),
    unit_shifts=(UnitShift("temperature_in_fahrenheit", "temperature_c", 1.8, 32.0),),
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    ref = write_training_set(
        tmp_path_factory.mktemp("ts") / "d.parquet", 6_000, machines=40, seed=3
    )
    frame = pq.read_table(ref.path).to_pandas()
    cut = frame["event_timestamp"].sort_values().iloc[int(len(frame) * 0.75)]
    return frame[frame["event_timestamp"] < cut], frame[frame["event_timestamp"] >= cut]


def fit(train: pd.DataFrame, features: list[str]):
    import xgboost as xgb

    matrix = xgb.DMatrix(train[features].astype("float32"), label=train["label"])
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 2, "seed": 0},
        matrix,
        40,
    )
    return lambda frame: booster.predict(xgb.DMatrix(frame[features].astype("float32")))


def test_columns_belong_to_sensors_by_name():
    kinds = sensor_columns(feature_names(), "pressure_bar")
    assert "pressure_bar_mean_1h" in kinds["level"] and "pressure_bar_std_24h" in kinds["spread"]
    assert kinds["count"] == ["pressure_bar_out_of_range_1h", "pressure_bar_out_of_range_24h"]
    assert not any(c.startswith("power") for cs in kinds.values() for c in cs)


def test_perturbations_change_only_their_sensor():
    frame = pd.DataFrame(
        {
            "temperature_c_mean_1h": [50.0, 60.0],
            "temperature_c_std_1h": [1.0, 2.0],
            "temperature_c_out_of_range_1h": [1, 0],
            "power_kw_mean_1h": [10.0, 11.0],
        }
    )
    cols = list(frame.columns)
    gone = missing_sensor(frame, "temperature_c", cols)
    assert (
        gone["temperature_c_mean_1h"].isna().all()
        and (gone["temperature_c_out_of_range_1h"] == 0).all()
    )
    shifted = unit_shift(frame, SPEC.unit_shifts[0], cols)
    assert shifted["temperature_c_mean_1h"].tolist() == [122.0, 140.0]
    assert shifted["temperature_c_std_1h"].tolist() == pytest.approx([1.8, 3.6])
    noisy = gaussian_noise(frame, ("temperature_c",), cols, 0.5, seed=0)
    for out in (gone, shifted, noisy):
        pd.testing.assert_series_equal(out["power_kw_mean_1h"], frame["power_kw_mean_1h"])
    assert frame["temperature_c_mean_1h"].tolist() == [50.0, 60.0]  # the input is not modified


def test_unused_sensor_costs_nothing_and_the_one_it_depends_on_costs_measurably(data):
    train, holdout = data
    # A model that never saw pressure: removing pressure must cost exactly nothing.
    features = [f for f in feature_names() if not f.startswith("pressure_bar")]
    scorer = fit(train, features)
    result = run_robustness(
        scorer,
        holdout,
        holdout["label"].to_numpy(),
        features,
        SPEC,
        bootstrap_samples=60,
        confidence=0.95,
        seed=0,
    )
    unused = result["missing_sensor"]["pressure_bar"]
    assert unused["drop"] == pytest.approx(0.0, abs=0) and unused["ci"] == [0.0, 0.0]  # exactly
    # The sensor it depends on most (largest drop when missing) is a signal-carrying one, and
    # its loss is measurable: the whole confidence interval is above zero.
    top = result["summary"]["most_important_sensor"]
    assert top in ("temperature_c", "vibration_mm_s")
    worst = result["missing_sensor"][top]
    assert worst["drop"] > 0.005 and worst["ci"][0] > 0.0
    # Noise sensors (rotation, power) carry no signal: their loss costs far less.
    for sensor in ("rotation_rpm", "power_kw"):
        assert result["missing_sensor"][sensor]["drop"] < worst["drop"] / 2
    assert result["summary"]["missing_sensor"]["case"] == top


def test_drops_are_reproducible_and_noise_is_small(data):
    train, holdout = data
    features = feature_names()
    scorer = fit(train, features)
    y = holdout["label"].to_numpy()
    first, second = (
        run_robustness(
            scorer, holdout, y, features, SPEC, bootstrap_samples=30, confidence=0.9, seed=1
        )
        for _ in range(2)
    )
    assert first["summary"] == second["summary"]
    noise = first["gaussian_noise"]
    assert noise["repeats"] == 3 and abs(noise["drop"]) < 0.05
    assert np.isfinite(first["unit_shift"]["temperature_in_fahrenheit"]["drop"])
