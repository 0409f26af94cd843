"""Tiny registered models for the evaluation and release tests, without Ray.

A small synthetic training set (``ml_platform_demo.synthetic_training``), a booster trained with
plain ``xgboost.train`` on the rows before the plan's split, and the training code's own
registration (:func:`ml_tasks.training.tracking.log_and_register`): the versions carry the same
tags, lineage artifact, signature and ``model_sha256`` digest as the ones the Ray pipeline
registers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.3,
    "nthread": 2,
    "seed": 0,
}


def make_training_set(folder: Path, rows: int = 6_000, machines: int = 40, seed: int = 3) -> Any:
    """A synthetic training set (label: failure within 24 h, driven by heat and vibration)."""
    from ml_platform_demo.synthetic_training import write_training_set

    return write_training_set(Path(folder) / "data.parquet", rows, machines=machines, seed=seed)


def train_and_register(
    ref: Any,
    *,
    run_id: str,
    settings: Any,
    rounds: int = 40,
    features: list[str] | None = None,
    shuffle_labels: bool = False,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a booster on ``ref``'s training rows and register it as the ``challenger``.

    ``features`` restricts the inputs; ``shuffle_labels`` trains on permuted labels (a model that
    learned nothing), while the registered lineage still points at the real training set, so the
    holdout it is evaluated on is the real one.
    """
    from ml_platform_demo.degraded import register_booster

    if features is not None:
        ref = dataclasses.replace(ref, features=tuple(features))
    return register_booster(
        ref,
        run_id=run_id,
        settings=settings,
        rounds=rounds,
        params={**PARAMS, **(params or {})},
        shuffle_labels=shuffle_labels,
        storage_path=str(Path(settings.platform_home) / "ray_results"),
    )


def model_artifact_dir(settings: Any, version: str) -> Path:
    """The local folder holding a registered version's model files (embedded MLflow)."""
    from ml_tasks.registry.models import client

    uri = client(settings).get_model_version_download_uri("failure_model", version)
    return Path(uri.removeprefix("file://"))
