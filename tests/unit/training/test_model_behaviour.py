"""Behavioural tests of a model trained with sensor dropout on the tiny synthetic set.

Directional: rising vibration or temperature raises the failure risk, also while the other of
the two sensors is silent (masked as the ``missing_sensor`` robustness check masks it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml_platform_demo.synthetic_training import SENSORS, feature_names, make_frame
from ml_tasks.evaluation.robustness import missing_sensor, sensor_columns
from ml_tasks.training.data import Shard, sensor_dropout
from ml_tasks.training.spec import DEFAULT_PARAMS, LABEL

xgb = pytest.importorskip("xgboost")
FEATURES = feature_names()


@pytest.fixture(scope="module")
def model() -> Any:
    table = make_frame(6000, machines=60, seed=3)
    x = np.column_stack([table.column(f).to_numpy().astype(np.float32) for f in FEATURES])
    y = table.column(LABEL).to_numpy().astype(np.float32)
    shard = sensor_dropout(Shard(x, y, x[:0], y[:0]), FEATURES, tuple(SENSORS), 0.3, seed=0)
    params = {**DEFAULT_PARAMS, "eval_metric": "logloss", "nthread": 2, "max_depth": 4}
    dtrain = xgb.DMatrix(shard.x_train, shard.y_train, feature_names=FEATURES)
    return xgb.train(params, dtrain, num_boost_round=60)


def _typical_row() -> pd.DataFrame:
    table = make_frame(2000, machines=40, seed=11)
    frame = table.select(FEATURES).to_pandas().astype("float64")
    return frame.median().to_frame().T


def _risk(model: Any, frame: pd.DataFrame) -> float:
    return float(model.predict(xgb.DMatrix(frame[FEATURES], feature_names=FEATURES))[0])


def _raise(frame: pd.DataFrame, sensor: str, sds: float) -> pd.DataFrame:
    out = frame.copy()
    for name in sensor_columns(FEATURES, sensor)["level"]:
        out[name] = out[name] + sds * SENSORS[sensor][1]
    return out


@pytest.mark.parametrize(
    ("sensor", "silent"),
    [
        ("vibration_mm_s", None),
        ("temperature_c", None),
        ("vibration_mm_s", "temperature_c"),
        ("temperature_c", "vibration_mm_s"),
    ],
)
def test_rising_sensor_raises_the_risk(model: Any, sensor: str, silent: str | None) -> None:
    base = _typical_row()
    if silent:
        base = missing_sensor(base, silent, FEATURES)
    assert _risk(model, _raise(base, sensor, 3.0)) > _risk(model, base) + 0.05
