"""A deliberately bad model for the demo: trained on shuffled labels, registered like any other.

The lifecycle story needs a regression the gates must stop. This trains a booster on the
champion's own training set with the labels permuted (a model that learned nothing), then logs
and registers it through the platform's real path (:func:`ml_tasks.training.tracking.
log_and_register`: signature, lineage, sha256, ``@challenger``), so ``evaluate_model`` and
``promote_model`` treat it exactly like a trained version. Demo code: the platform itself has no
switch that spoils a model.
"""

from __future__ import annotations

from pathlib import Path

from ml_tasks.settings import Settings

ROUNDS = 30


def register_shuffled_label_model(base_version: str, settings: Settings) -> str:
    """Train on ``base_version``'s training set with shuffled labels; the new version."""
    import numpy as np
    import pyarrow.parquet as pq
    import xgboost as xgb

    from ml_tasks.registry.models import get_version
    from ml_tasks.training import data, pipeline, tracking
    from ml_tasks.training.runner import TrainResult
    from ml_tasks.training.spec import TrainingSetRef

    base = get_version("failure_model", base_version, settings=settings)
    ref = TrainingSetRef.from_dict(base.training_set)
    storage = Path(settings.ray_storage_path)
    plan = pipeline.plan_training(
        ref,
        run_id=f"demo-shuffled-labels-of-v{base_version}",
        settings=settings,
        storage_path=str(storage),
        rounds=ROUNDS,
    )
    filesystem, files = data.parquet_files(ref.path)
    frame = pq.read_table(files, filesystem=filesystem).to_pandas()
    stamps = frame[ref.timestamp].astype("int64").to_numpy() // 1000  # ns -> us
    train = frame[stamps < plan.split.train_end_us]
    labels = np.random.default_rng(0).permutation(train[ref.label].to_numpy())
    cols = list(plan.features)
    matrix = xgb.DMatrix(train[cols].astype("float32"), label=labels, feature_names=cols)
    params = {**plan.config.xgb_params(), "nthread": 2}
    params.pop("eval_metric", None)
    booster = xgb.train(params, matrix, ROUNDS)
    checkpoint = storage / plan.run_name / "checkpoint_final"
    checkpoint.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(checkpoint / "model.ubj"))
    result = TrainResult(
        run_name=plan.run_name,
        checkpoint_uri=str(checkpoint),
        rounds_requested=ROUNDS,
        rounds_trained=ROUNDS,
        best_iteration=None,
        best_score=None,
        stop_metric="aucpr",
        stopped_early=False,
        history=[{"round": ROUNDS, "valid-aucpr": 0.0}],
        attempts=[{"start_round": 0}],
    )
    registered = tracking.log_and_register(plan, result, settings)
    return str(registered["version"])
