"""One model version ready to score: the booster, its feature order, its alert threshold.

The booster is loaded from the verified files of the MLflow xgboost flavour (the model file the
``MLmodel`` yaml names; no pyfunc, whose DataFrame round trip costs more than the model call),
set to one thread once (requests run in parallel on the server's threads; a booster fanning
each tiny batch out to every core only adds contention) and scored with ``inplace_predict`` on a
float64 numpy matrix in the signature's feature order, NaN for a missing value (the C call
``inplace_predict`` makes, bound once: :mod:`ml_tasks.serving.dense_predict`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

THRESHOLD_TAG = "serving.alert_threshold"
MLMODEL = "MLmodel"


class ModelLoadError(RuntimeError):
    """The files of a model version cannot be turned into a booster."""


@dataclass(frozen=True)
class LoadedModel:
    """A warmed booster of one model version (shared by every slot that points at it)."""

    version: str
    sha256: str
    booster: Any = field(repr=False)
    features: tuple[str, ...]
    threshold: float | None
    loaded_at: datetime
    # Sensor -> the column indexes of its level and spread statistics (NaN when it is silent).
    sensor_columns: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    _predict: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from ml_tasks.serving.dense_predict import dense_predictor

        # inplace_predict's C call bound once (dense_predict.py: its per-call setup cost
        # as much as the rest of a request).
        object.__setattr__(self, "_predict", dense_predictor(self.booster))

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        """float64 rows in this model's feature order; NaN for a missing value."""
        import numpy as np

        names = self.features
        out = np.full((len(rows), len(names)), np.nan, dtype=np.float64)
        for i, row in enumerate(rows):
            out[i] = [np.nan if (v := row.get(n)) is None else v for n in names]
        return out

    def score(self, matrix: Any) -> Any:
        """Positive-class probability per row (float64)."""
        output = self._predict(matrix)
        if output.ndim == 2:  # class probabilities: the positive class is the last column
            output = output[:, -1]
        return output

    def alert(self, score: float) -> bool | None:
        """The alert decision at the version's threshold (None: the version has none)."""
        return None if self.threshold is None else bool(score >= self.threshold)

    def missing_sensors(self, row: Any) -> list[str]:
        """Sensors whose level and spread features are all missing in this matrix row."""
        import numpy as np

        return [
            s for s, idx in self.sensor_columns.items() if idx and np.isnan(row[list(idx)]).all()
        ]


def read_mlmodel(folder: Path) -> tuple[Path, tuple[str, ...]]:
    """The xgboost flavour's model file and the input names of the signature (may be empty)."""
    import yaml

    meta_path = folder / MLMODEL
    if not meta_path.exists():
        raise ModelLoadError(f"no {MLMODEL} file in {folder}")
    meta = yaml.safe_load(meta_path.read_text()) or {}
    flavor = (meta.get("flavors") or {}).get("xgboost")
    if not flavor or not flavor.get("data"):
        raise ModelLoadError(f"{meta_path} names no xgboost flavour model file")
    inputs = (meta.get("signature") or {}).get("inputs")
    names: tuple[str, ...] = ()
    if inputs:
        columns = json.loads(inputs) if isinstance(inputs, str) else inputs
        names = tuple(str(c["name"]) for c in columns if c.get("name"))
    return folder / str(flavor["data"]), names


def parse_threshold(raw: str | None) -> float | None:
    """The ``serving.alert_threshold`` tag as a float in [0, 1] (None: absent or unusable)."""
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def load_model(
    folder: Path,
    *,
    version: str,
    sha256: str,
    threshold: float | None,
    sensors: Sequence[str] = (),
) -> LoadedModel:
    """Load, configure (one thread) and warm up the booster from a verified model folder."""
    import numpy as np
    import xgboost as xgb

    model_file, features = read_mlmodel(folder)
    booster = xgb.Booster()
    try:
        booster.load_model(str(model_file))
    except xgb.core.XGBoostError as err:
        raise ModelLoadError(f"v{version}: {model_file.name} is not a booster: {err}") from err
    booster.set_param({"nthread": 1})
    if not features:
        features = tuple(booster.feature_names or ())
    if not features:
        raise ModelLoadError(f"v{version}: neither the signature nor the booster names features")
    model = LoadedModel(
        version=version,
        sha256=sha256,
        booster=booster,
        features=features,
        threshold=threshold,
        loaded_at=datetime.now(UTC),
        sensor_columns=_sensor_columns(features, sensors),
    )
    # Warm-up: the first prediction allocates the booster's predictor; do it before traffic.
    model.score(np.full((1, len(features)), np.nan))
    return model


def _sensor_columns(features: Sequence[str], sensors: Sequence[str]) -> dict[str, tuple[int, ...]]:
    from ml_tasks.evaluation.robustness import sensor_columns

    out = {}
    for sensor in sensors:
        kinds = sensor_columns(list(features), sensor)
        names = set(kinds["level"] + kinds["spread"])
        idx = tuple(i for i, name in enumerate(features) if name in names)
        if idx:
            out[sensor] = idx
    return out
