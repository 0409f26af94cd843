"""Sensor-dropout augmentation: only training rows, the robustness check's columns, the share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_tasks.evaluation.robustness import missing_sensor
from ml_tasks.training.data import Shard, sensor_dropout
from ml_tasks.training.spec import TrainConfig

FEATURES = [
    "temperature_c_mean_1h",
    "temperature_c_std_1h",
    "vibration_mm_s_max_24h",
    "vibration_mm_s_std_24h",
    "vibration_mm_s_out_of_range_24h",
    "hours_since_maintenance",
]
SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar")


def _shard(rows: int = 200) -> Shard:
    rng = np.random.default_rng(1)
    x = rng.uniform(1.0, 2.0, size=(rows, len(FEATURES))).astype(np.float32)
    y = (rng.uniform(size=rows) < 0.2).astype(np.float32)
    return Shard(x, y, x[:50].copy(), y[:50].copy())


def test_appends_the_configured_share_of_masked_training_rows_only() -> None:
    shard = _shard()
    out = sensor_dropout(shard, FEATURES, SENSORS, 0.3, seed=7)
    assert out.rows == (260, 50)
    np.testing.assert_array_equal(out.x_train[:200], shard.x_train)
    np.testing.assert_array_equal(out.x_valid, shard.x_valid)  # validation as served
    np.testing.assert_array_equal(out.y_valid, shard.y_valid)
    # Every appended row is a training row with exactly one sensor silenced, as the
    # missing_sensor robustness check silences it, and keeps that row's label.
    frame = pd.DataFrame(shard.x_train, columns=FEATURES)
    silenced = {s: missing_sensor(frame, s, FEATURES).to_numpy(np.float32) for s in SENSORS[:2]}
    seen = set()
    for row, label in zip(out.x_train[200:], out.y_train[200:], strict=True):
        matches = [
            (s, i)
            for s, masked in silenced.items()
            for i in np.flatnonzero(
                (np.isclose(masked, row) | (np.isnan(masked) & np.isnan(row))).all(axis=1)
            )
        ]
        assert matches, row
        sensor, i = matches[0]
        assert label == shard.y_train[i]
        seen.add(sensor)
    assert seen == {"temperature_c", "vibration_mm_s"}  # pressure has no features: never drawn
    assert not np.isnan(out.x_train[200:, FEATURES.index("hours_since_maintenance")]).any()


def test_is_deterministic_per_seed_and_a_no_op_at_share_zero() -> None:
    shard = _shard()
    a = sensor_dropout(shard, FEATURES, SENSORS, 0.3, seed=7)
    b = sensor_dropout(shard, FEATURES, SENSORS, 0.3, seed=7)
    c = sensor_dropout(shard, FEATURES, SENSORS, 0.3, seed=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train, equal_nan=True)
    assert sensor_dropout(shard, FEATURES, SENSORS, 0.0, seed=7) is shard


def test_share_is_part_of_the_config_and_the_model_fingerprint() -> None:
    base = TrainConfig()
    assert not base.sensor_dropout  # a bare config is not augmented; settings set the share
    augmented = TrainConfig(sensor_dropout=0.3)
    assert augmented.fingerprint(FEATURES) != base.fingerprint(FEATURES)
    assert TrainConfig.from_dict(augmented.to_dict()) == augmented
    with pytest.raises(ValueError, match="sensor_dropout"):
        TrainConfig(sensor_dropout=1.5)
