"""The champion model: who it is, what it was trained on, and its predictions.

Monitoring compares the interval with the data the serving model learned from, so the
reference follows the registry: the version behind the ``champion`` alias of the model, the
training set its version tags record (``training_set.path``, ``training_set.version``, written
by :mod:`ml_tasks.training.tracking`), and the model itself for prediction drift. Before any
champion exists there is none of this, and monitoring falls back to a fixed window of feature
days (:mod:`ml_tasks.monitoring.pipeline`) and reports prediction drift as not available.

The same code can watch another alias: ``challenger`` compares the interval with the data a
candidate was trained on (``python -m ml_tasks drift --alias challenger``), which is how a model
retrained after a drift shows that it fits the new data before the promotion gate lets it in.

The registry sits behind :class:`ChampionSource`; tests use a fake with an in-memory model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ml_tasks.monitoring.frames import DAY_TYPE
from ml_tasks.monitoring.policy import MonitoringPolicy
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
TRAINING_SET_PATH_TAG = "training_set.path"
TRAINING_SET_VERSION_TAG = "training_set.version"
TRAINING_SET_TIMESTAMP = "event_timestamp"


@dataclass(frozen=True)
class Champion:
    """The watched model version (the champion unless asked otherwise) and how to score."""

    model_name: str
    version: str
    training_set_path: str | None
    training_set_version: str | None
    features: tuple[str, ...]
    predict: Callable[[Any], Any]
    alias: str = CHAMPION_ALIAS

    def score(self, frame: Any) -> Any:
        """Predicted failure probability per row (a float64 numpy array)."""
        import numpy as np

        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise KeyError(f"{self.model_name} v{self.version} needs columns {missing}")
        output = np.asarray(self.predict(frame[list(self.features)].astype("float64")))
        if output.ndim == 2:  # class probabilities: the positive class is the last column
            output = output[:, -1]
        return output.astype("float64")


class ChampionSource(Protocol):
    """Where the champion comes from (the MLflow registry, or a fake in tests)."""

    def champion(self, model_name: str) -> Champion | None: ...


class MlflowChampionSource:
    """The model behind an alias in the MLflow registry (``models:/<name>@champion``)."""

    def __init__(self, settings: Settings | None = None, alias: str = CHAMPION_ALIAS) -> None:
        self.settings = settings or get_settings()
        self.alias = alias

    def _registry_exists(self) -> bool:
        uri = self.settings.mlflow_registry_uri or self.settings.mlflow_tracking_uri
        if uri.startswith("sqlite:///"):
            # No database yet means nothing was ever registered; do not create one to find out.
            return Path(uri.removeprefix("sqlite:///")).exists()
        return True

    def champion(self, model_name: str) -> Champion | None:
        if not self._registry_exists():
            return None
        import mlflow
        from mlflow.exceptions import MlflowException

        from ml_tasks.registry.models import client

        registry = client(self.settings)
        try:
            version = registry.get_model_version_by_alias(model_name, self.alias)
        except MlflowException as err:
            log.info("no %s@%s in the registry (%s)", model_name, self.alias, err)
            return None
        model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}")
        schema = model.metadata.get_input_schema()
        features = tuple(schema.input_names()) if schema is not None else ()
        tags = dict(version.tags or {})
        return Champion(
            model_name=model_name,
            version=str(version.version),
            training_set_path=tags.get(TRAINING_SET_PATH_TAG),
            training_set_version=tags.get(TRAINING_SET_VERSION_TAG),
            features=features,
            predict=model.predict,
            alias=self.alias,
        )


def _read_training_set(path: str, columns: list[str]) -> Any:
    """The requested columns (those that exist) of every parquet file of a training set."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ml_tasks.training.data import parquet_files

    filesystem, files = parquet_files(path)
    tables = []
    for name in files:
        with filesystem.open_input_file(name) as handle:
            parquet = pq.ParquetFile(handle)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            tables.append(parquet.read(columns=present))
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def _cache_path(settings: Settings, champion: Champion, key: str) -> Path:
    name = f"{champion.model_name}-v{champion.version}-{key}.parquet"
    return settings.platform_home / "monitoring" / "reference" / name


def reference_sample(
    champion: Champion,
    columns: list[str],
    policy: MonitoringPolicy,
    settings: Settings | None = None,
) -> tuple[Any, str]:
    """A seeded sample of the champion's training set with its predictions; and its id.

    Cached per model version (and sample definition) under ``PLATFORM_HOME/monitoring/reference``:
    the training set of a version never changes, so it is read and scored once, not every day.
    """
    import pandas as pd

    s = settings or get_settings()
    if not champion.training_set_path:
        raise ValueError(
            f"{champion.model_name} v{champion.version} has no {TRAINING_SET_PATH_TAG} tag: "
            "its training set is unknown, so there is no reference to compare with"
        )
    wanted = sorted({*columns, *champion.features, TRAINING_SET_TIMESTAMP, "machine_id"})
    spec = {"columns": wanted, "rows": policy.reference.sample_rows, "seed": 0}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    reference_id = (
        f"training_set:{champion.training_set_version or champion.training_set_path}"
        f"@{champion.model_name}-v{champion.version}"
    )
    cache = _cache_path(s, champion, key)
    if cache.exists():
        return pd.read_parquet(cache), reference_id
    frame = _read_training_set(champion.training_set_path, wanted)
    if len(frame) > policy.reference.sample_rows:
        frame = frame.sample(n=policy.reference.sample_rows, random_state=0).sort_index()
    frame = frame.reset_index(drop=True)
    stamps = pd.to_datetime(frame[TRAINING_SET_TIMESTAMP], utc=True)
    frame[DAY_TYPE] = ["weekend" if d >= 5 else "weekday" for d in stamps.dt.dayofweek]
    frame[policy.prediction.column] = champion.score(frame)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, cache)
    return frame, reference_id
