"""The scorer on a tiny booster: feature order, NaN for missing, alert and sensor flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
import yaml

from ml_tasks.serving.scorer import ModelLoadError, load_model, parse_threshold, read_mlmodel

FEATURES = ["temperature_c_mean_1h", "temperature_c_std_1h", "temperature_c_out_of_range_1h", "age"]


def _model_folder(folder: Path, *, signature: bool = True) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(FEATURES)))
    y = (x[:, 0] + 0.1 * rng.normal(size=300) > 0).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=FEATURES),
        10,
    )
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / "model.ubj"))
    meta: dict = {"flavors": {"xgboost": {"data": "model.ubj", "model_format": "ubj"}}}
    if signature:
        # A different order than training's: the signature decides the column order.
        columns = [{"type": "double", "name": n, "required": True} for n in FEATURES]
        meta["signature"] = {"inputs": json.dumps(columns)}
    (folder / "MLmodel").write_text(yaml.safe_dump(meta))
    return folder


def test_scores_in_the_signature_order_with_nan_for_missing(tmp_path):
    model = load_model(
        _model_folder(tmp_path / "m"),
        version="7",
        sha256="x",
        threshold=0.5,
        sensors=["temperature_c"],
    )
    assert model.features == tuple(FEATURES)
    rows = [
        {"temperature_c_mean_1h": 2.0, "temperature_c_std_1h": 1.0, "age": 3.0},
        {"temperature_c_mean_1h": -2.0, "temperature_c_std_1h": None, "age": 3.0},
        {},
    ]
    matrix = model.matrix(rows)
    assert matrix.dtype == np.float64 and np.isnan(matrix[0, 2]) and np.isnan(matrix[1, 1])
    scores = model.score(matrix)
    expected = model.booster.inplace_predict(matrix)
    assert scores.tolist() == pytest.approx(expected.tolist())
    assert scores[0] > 0.5 > scores[1]
    assert model.alert(float(scores[0])) is True and model.alert(float(scores[1])) is False
    # The sensor is silent when its level and spread are missing (counts do not count).
    assert model.sensor_columns == {"temperature_c": (0, 1)}
    assert [model.missing_sensors(r) for r in matrix] == [[], [], ["temperature_c"]]


def test_without_threshold_there_is_no_alert_decision(tmp_path):
    model = load_model(_model_folder(tmp_path / "m"), version="1", sha256="x", threshold=None)
    assert model.alert(0.99) is None


def test_features_fall_back_to_the_booster_names(tmp_path):
    folder = _model_folder(tmp_path / "m", signature=False)
    assert read_mlmodel(folder) == (folder / "model.ubj", ())
    model = load_model(folder, version="1", sha256="x", threshold=None)
    assert model.features == tuple(FEATURES)


def test_bad_files_raise_model_load_error(tmp_path):
    folder = _model_folder(tmp_path / "m")
    (folder / "model.ubj").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="not a booster"):
        load_model(folder, version="1", sha256="x", threshold=None)
    with pytest.raises(ModelLoadError, match="no MLmodel"):
        read_mlmodel(tmp_path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.73", 0.73), ("1", 1.0), (None, None), ("", None), ("x", None), ("1.5", None)],
)
def test_threshold_tag_parsing(raw, expected):
    assert parse_threshold(raw) == expected
