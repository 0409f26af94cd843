"""Models registered without Ray, through the platform's real registration path.

:func:`register_booster` trains a booster with plain ``xgboost.train`` on the rows before the
plan's split and registers it with :func:`ml_tasks.training.tracking.log_and_register` (signature,
lineage, sha256, ``@challenger``), so ``evaluate_model`` and ``promote_model`` treat it exactly
like a version the Ray pipeline trained. The demo uses it for a deliberately bad model (trained
on shuffled labels: a regression the gates must stop); the tests for their tiny models. Demo
code: the platform itself has no switch that spoils a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings

ROUNDS = 30


def register_booster(
    ref: Any,
    *,
    run_id: str,
    settings: Settings,
    rounds: int,
    params: dict[str, Any],
    shuffle_labels: bool = False,
    storage_path: str | None = None,
) -> dict[str, Any]:
    """Train on ``ref``'s training rows (labels permuted if asked) and register the booster.

    The registered lineage points at the real training set either way, so the holdout a
    shuffled-label model is evaluated on is the real one. Returns the registration summary.
    """
    import numpy as np
    import pyarrow.parquet as pq
    import xgboost as xgb

    from ml_tasks.training import data, pipeline, tracking
    from ml_tasks.training.runner import TrainResult

    storage = Path(storage_path or settings.ray_storage_path)
    plan = pipeline.plan_training(
        ref, run_id=run_id, settings=settings, storage_path=str(storage), rounds=rounds
    )
    filesystem, files = data.parquet_files(ref.path)
    frame = pq.read_table(files, filesystem=filesystem).to_pandas()
    stamps = frame[ref.timestamp].astype("int64").to_numpy() // 1000  # ns -> us
    train = frame[stamps < plan.split.train_end_us]
    labels = train[ref.label].to_numpy()
    if shuffle_labels:
        labels = np.random.default_rng(0).permutation(labels)
    cols = list(plan.features)
    matrix = xgb.DMatrix(train[cols].astype("float32"), label=labels, feature_names=cols)
    booster = xgb.train(params, matrix, rounds)
    checkpoint = storage / plan.run_name / "checkpoint_final"
    checkpoint.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(checkpoint / "model.ubj"))
    result = TrainResult(
        run_name=plan.run_name,
        checkpoint_uri=str(checkpoint),
        rounds_requested=rounds,
        rounds_trained=rounds,
        best_iteration=None,
        best_score=None,
        stop_metric="aucpr",
        stopped_early=False,
        history=[{"round": rounds, "valid-aucpr": 0.0}],
        attempts=[{"start_round": 0}],
    )
    return tracking.log_and_register(plan, result, settings)


def register_shuffled_label_model(base_version: str, settings: Settings) -> str:
    """Train on ``base_version``'s training set with shuffled labels; the new version."""
    from ml_tasks.registry.models import get_version
    from ml_tasks.training.spec import TrainConfig, TrainingSetRef

    base = get_version("failure_model", base_version, settings=settings)
    params = {**TrainConfig.from_settings(settings).xgb_params(), "nthread": 2}
    params.pop("eval_metric", None)
    registered = register_booster(
        TrainingSetRef.from_dict(base.training_set),
        run_id=f"demo-shuffled-labels-of-v{base_version}",
        settings=settings,
        rounds=ROUNDS,
        params=params,
        shuffle_labels=True,
    )
    return str(registered["version"])
