"""What a training run is: the training set it reads, its configuration and its identity.

Everything here is plain data (frozen dataclasses that round-trip through JSON), so the same plan
travels through XCom, a ``plan.json`` next to the checkpoints and a RayJob entrypoint.

The run identity is what makes resume work: the Ray run name is derived from the Airflow run id,
the training-set version and a fingerprint of everything that changes the model. A retried task
(or a RayJob started again after a spot preemption) computes the same name and storage path, so
Ray Train finds the latest checkpoint and continues from it; a different training set or a
different configuration gets a fresh run and never resumes from a foreign checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ml_tasks.settings import Settings
from ml_tasks.training import storage
from ml_tasks.training.trigger import TrainingTrigger

MODEL_NAME = "failure_model"
LABEL = "label"
ENTITY = "machine_id"
TIMESTAMP = "event_timestamp"

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    # The last metric is the early-stopping metric unless TrainConfig.stop_metric says otherwise.
    "eval_metric": ["logloss", "auc", "aucpr"],
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "max_bin": 256,
    "seed": 0,
}

# The sensors whose features sensor-dropout augmentation masks (those of the feature views).
SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar", "rotation_rpm", "power_kw")


@dataclass(frozen=True)
class TrainingSetRef:
    """A versioned training set: parquet file(s) plus where their rows came from.

    ``lineage`` maps each source dataset to its version (e.g. ``{"telemetry": 41}``); it is
    recorded on the MLflow run and the registered model version.
    """

    path: str
    version: str
    lineage: dict[str, Any] = field(default_factory=dict)
    feature_service: str | None = None
    features: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    label: str = LABEL
    entity: str = ENTITY
    timestamp: str = TIMESTAMP
    row_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSetRef:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["features"] = tuple(kwargs.get("features") or ())
        kwargs["lineage"] = dict(kwargs.get("lineage") or {})
        return cls(**kwargs)


@dataclass(frozen=True)
class TrainConfig:
    """Knobs of one training run. Those in :meth:`fingerprint` define the model."""

    rounds: int = 200
    checkpoint_every: int = 20
    early_stopping_rounds: int | None = 30
    stop_metric: str = "aucpr"
    validation_fraction: float = 0.2
    # Rows whose label window (24 h ahead) reaches into the validation period are left out of
    # the training part, so no validation failure leaks into a training label.
    gap_hours: float = 24.0
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    workers: int = 1
    cpus_per_worker: int = 1
    use_gpu: bool = False
    max_failures: int = 2
    num_to_keep: int = 2
    eval_train: bool = False
    # Sensor dropout: ``sensor_dropout * rows`` training rows are copied with one sensor's
    # features masked as the feature views emit them while it is silent (level and spread
    # missing, out-of-range counts 0), so the model learns to fall back on the other sensors.
    # Training rows only; validation stays as served.
    sensor_dropout: float = 0.0
    dropout_sensors: tuple[str, ...] = SENSORS

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.workers < 1 or self.cpus_per_worker < 1:
            raise ValueError("workers and cpus_per_worker must be >= 1")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must be in (0, 1)")
        if self.num_to_keep < 1:
            raise ValueError("num_to_keep must be >= 1")
        if not 0.0 <= self.sensor_dropout <= 1.0:
            raise ValueError(f"sensor_dropout must be in [0, 1], got {self.sensor_dropout}")
        object.__setattr__(self, "dropout_sensors", tuple(self.dropout_sensors))

    @property
    def maximize(self) -> bool:
        """Whether a larger value of :attr:`stop_metric` is better."""
        return self.stop_metric.startswith(("auc", "aucpr", "map", "ndcg", "pre"))

    def xgb_params(self) -> dict[str, Any]:
        """XGBoost parameters as the workers use them (threads and device set per worker)."""
        params = dict(self.params)
        metrics = list(params.get("eval_metric") or [])
        if self.stop_metric not in metrics:
            metrics.append(self.stop_metric)
        params["eval_metric"] = metrics
        params["nthread"] = self.cpus_per_worker
        if self.use_gpu:
            params["device"] = "cuda"
        return params

    def fingerprint(self, features: list[str] | tuple[str, ...]) -> str:
        """Hash of what changes the trained model (not of workers, CPUs or checkpoint cadence)."""
        key: dict[str, Any] = {
            "rounds": self.rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
            "stop_metric": self.stop_metric,
            "validation_fraction": self.validation_fraction,
            "gap_hours": self.gap_hours,
            "params": self.params,
            "features": list(features),
        }
        if self.sensor_dropout:  # keeps the fingerprints of un-augmented runs as they were
            key["sensor_dropout"] = [self.sensor_dropout, list(self.dropout_sensors)]
        blob = json.dumps(key, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainConfig:
        """Defaults from the settings (workers, CPUs, GPU, failures); ``None`` overrides ignored."""
        import os

        workers = overrides.pop("workers", None) or settings.training_workers
        cpus = overrides.pop("cpus_per_worker", None) or settings.training_cpus_per_worker
        if cpus is None:
            cores = settings.ray_num_cpus or os.cpu_count() or 1
            cpus = max(1, cores // workers)
        base = cls(
            workers=workers,
            cpus_per_worker=cpus,
            use_gpu=bool(settings.training_use_gpu),
            max_failures=settings.training_max_failures,
            sensor_dropout=settings.training_sensor_dropout,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class SplitSpec:
    """The time-based split: training rows before ``train_end``, validation from ``valid_start``.

    Times are microseconds since the epoch (UTC) so workers compare integers.
    """

    train_start_us: int
    train_end_us: int
    valid_start_us: int
    valid_end_us: int
    rows_train: int
    rows_valid: int
    rows_gap: int
    positives_train: int
    positives_valid: int

    def describe(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        def iso(us: int) -> str:
            return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat()

        return {
            "train_window": [iso(self.train_start_us), iso(self.train_end_us)],
            "valid_window": [iso(self.valid_start_us), iso(self.valid_end_us)],
            "rows_train": self.rows_train,
            "rows_valid": self.rows_valid,
            "rows_gap": self.rows_gap,
            "positives_train": self.positives_train,
            "positives_valid": self.positives_valid,
        }


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:limit] or "run"


def run_name(run_id: str, training_set_version: str, fingerprint: str) -> str:
    """Ray run name for an Airflow run (or CLI run id) on one training-set version.

    Stable across retries of the same run; readable in the storage listing.
    """
    return (
        f"{MODEL_NAME}__{_slug(run_id, 60)}__ts-{_slug(training_set_version, 40)}"
        f"__{fingerprint[:10]}"
    )


def k8s_name(name: str) -> str:
    """A DNS-1123 name (short enough for KubeRay's derived cluster and pod names)."""
    return "fm-train-" + hashlib.sha256(name.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a training run needs, resolved once and stored as ``plan.json``."""

    run_name: str
    storage_path: str
    training_set: TrainingSetRef
    config: TrainConfig
    features: tuple[str, ...]
    split: SplitSpec
    run_id: str
    dropped_columns: tuple[str, ...] = ()
    # Why the run started (schedule, new features, a drift alarm...): recorded with the model,
    # not part of its identity (the run name does not depend on it).
    trigger: TrainingTrigger | None = None

    @property
    def run_dir(self) -> str:
        return storage.join(self.storage_path, self.run_name)

    @property
    def plan_uri(self) -> str:
        return storage.join(self.run_dir, "plan.json")

    @property
    def result_uri(self) -> str:
        return storage.join(self.run_dir, "result.json")

    @property
    def k8s_name(self) -> str:
        return k8s_name(self.run_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_name": self.run_name,
            "storage_path": self.storage_path,
            "training_set": self.training_set.to_dict(),
            "config": self.config.to_dict(),
            "features": list(self.features),
            "split": asdict(self.split),
            "run_id": self.run_id,
            "dropped_columns": list(self.dropped_columns),
            "trigger": self.trigger.to_dict() if self.trigger else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingPlan:
        return cls(
            run_name=data["run_name"],
            storage_path=data["storage_path"],
            training_set=TrainingSetRef.from_dict(data["training_set"]),
            config=TrainConfig.from_dict(data["config"]),
            features=tuple(data["features"]),
            split=SplitSpec(**data["split"]),
            run_id=data["run_id"],
            dropped_columns=tuple(data.get("dropped_columns") or ()),
            trigger=TrainingTrigger.from_dict(data["trigger"]) if data.get("trigger") else None,
        )
