"""MLflow: log a finished training run, register it as ``failure_model``, alias it ``challenger``.

Tracking and registry default to SQLite with local artifacts under ``PLATFORM_HOME/mlflow``; in
production ``MLFLOW_TRACKING_URI`` points at the server. Registration is idempotent per Ray run:
a retried task that finds a version registered from the same run only moves the alias.

Each version carries, as tags, the training-set version and every source dataset version, the
feature service, the code version, the Ray run it came from, why the run started (``trigger.*``:
the reason, the window and, for a drift alarm, its day, columns, plants and kinds) and
``model_sha256``, a digest of the logged model's files, verified again on the registered files
before the ``challenger`` alias moves (and at every later release step). Clients, digests and
alias moves are :mod:`ml_tasks.registry`'s.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ml_tasks.registry.aliases import ReleaseContext, move_alias, verify_or_quarantine
from ml_tasks.registry.digest import DIGEST_TAG, model_digest
from ml_tasks.registry.models import CHALLENGER, client, experiment_location
from ml_tasks.settings import REPO_ROOT, Settings, get_settings
from ml_tasks.training.runner import TrainResult, finite
from ml_tasks.training.spec import MODEL_NAME, TrainingPlan

log = logging.getLogger(__name__)

EXPERIMENT = "failure_model"
RUN_TAG = "ray_run_name"


def code_version(repo_root: Path = REPO_ROOT) -> str:
    """The git commit of the code (``PLATFORM_CODE_VERSION`` wins, e.g. in images without .git).

    Reads ``.git`` directly: no git binary, no subprocess. ``"unknown"`` when neither exists.
    """
    pinned = os.environ.get("PLATFORM_CODE_VERSION", "").strip()
    if pinned:
        return pinned
    git = repo_root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(None, 1)[1]
        if (git / ref).exists():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def _experiment_id(mlflow_client: Any, settings: Settings) -> str:
    found = mlflow_client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    location = experiment_location(settings.mlflow_artifact_root, EXPERIMENT)
    return mlflow_client.create_experiment(EXPERIMENT, artifact_location=location)


def _make_challenger(
    mlflow_client: Any, version: str, plan: TrainingPlan, settings: Settings
) -> None:
    """Verify the registered files (the release's digest checkpoint), then alias them challenger.

    A mismatch quarantines the version and raises (see ``verify_or_quarantine``); the alias move
    is recorded in the audit history like every other (nothing is recorded when a retry finds
    the alias already there).
    """
    context = ReleaseContext(actor="training", run_id=plan.run_id)
    verify_or_quarantine(
        mlflow_client,
        MODEL_NAME,
        version,
        stage="challenger registration",
        context=context,
        settings=settings,
    )
    move_alias(
        mlflow_client,
        MODEL_NAME,
        CHALLENGER,
        version,
        reason=f"registered from training run {plan.run_name}",
        context=context,
        settings=settings,
    )


def _ensure_registered_model(mlflow_client: Any) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(MODEL_NAME)
    except MlflowException:
        mlflow_client.create_registered_model(
            MODEL_NAME, description="Probability that a machine fails within 24 hours"
        )


def _existing_version(mlflow_client: Any, run_name: str) -> Any | None:
    try:
        versions = mlflow_client.search_model_versions(
            f"name = '{MODEL_NAME}' and tag.{RUN_TAG} = '{run_name}'"
        )
    except Exception:  # registry without the model yet
        return None
    return max(versions, key=lambda v: int(v.version)) if versions else None


def _importance_figure(booster: Any, top: int = 20) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gains = sorted(booster.get_score(importance_type="gain").items(), key=lambda kv: kv[1])
    gains = gains[-top:]
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(gains), 4) + 1))
    ax.barh([k for k, _ in gains], [v for _, v in gains], color="#3b6ea5")
    ax.set_xlabel("mean gain per split")
    ax.set_title(f"{MODEL_NAME}: top {len(gains)} features by gain")
    fig.tight_layout()
    return fig


def _load_booster(checkpoint_uri: str) -> Any:
    import xgboost as xgb

    from ml_tasks.training import storage

    with tempfile.TemporaryDirectory() as tmp:
        storage.download_dir(checkpoint_uri, tmp)
        return xgb.Booster(model_file=str(Path(tmp) / "model.ubj"))


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("xgboost", "mlflow", "pandas", "numpy")]


def _log_history(mlflow_client: Any, run_id: str, history: list[dict[str, float]]) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [
        Metric(key=key, value=float(value), timestamp=now, step=int(row["round"]))
        for row in history
        for key, value in row.items()
        if key != "round"
    ]
    for i in range(0, len(metrics), 1000):  # the tracking API takes 1000 metrics per batch
        mlflow_client.log_batch(run_id, metrics=metrics[i : i + 1000])


def log_and_register(
    plan: TrainingPlan, result: TrainResult, settings: Settings | None = None
) -> dict[str, Any]:
    """Log the run to MLflow, register a ``failure_model`` version, alias it ``challenger``."""
    import mlflow
    import xgboost as xgb
    from mlflow.models import infer_signature

    from ml_tasks.training import data

    s = settings or get_settings()
    c = client(s)
    existing = _existing_version(c, plan.run_name)
    if existing is not None:
        _make_challenger(c, str(existing.version), plan, s)
        log.info(
            "%s v%s was already registered from run %s: alias %s set",
            MODEL_NAME,
            existing.version,
            plan.run_name,
            CHALLENGER,
        )
        return _summary(existing.version, existing.run_id, existing.tags, result)

    booster = _load_booster(result.checkpoint_uri)
    if (
        result.best_iteration is not None
        and result.best_iteration + 1 < booster.num_boosted_rounds()
    ):
        # Early stopping: the registered model ends at the best validation round.
        booster = booster[: result.best_iteration + 1]
    features = list(plan.features)
    example = data.input_example(plan.training_set, features)
    signature = infer_signature(example, booster.predict(xgb.DMatrix(example)))
    ts = plan.training_set
    lineage_tags = {f"dataset.{name}.version": str(v) for name, v in sorted(ts.lineage.items())}
    tags = {
        RUN_TAG: plan.run_name,
        "airflow_run_id": plan.run_id,
        "training_set.version": ts.version,
        "training_set.path": ts.path,
        "feature_service": ts.feature_service or "",
        "code_version": code_version(),
        "checkpoint_uri": result.checkpoint_uri,
        # On the version too, so its model card can say how it learned to cope with a silent
        # sensor without reading the run's params.
        "training.sensor_dropout": str(plan.config.sensor_dropout),
        **lineage_tags,
        # Why the run started (a drift alarm: its day, columns, plants, kinds).
        **(plan.trigger.tags() if plan.trigger else {}),
    }
    cfg = plan.config
    params = {
        **{f"xgb.{k}": v for k, v in cfg.xgb_params().items()},
        "rounds_requested": cfg.rounds,
        "rounds_trained": result.rounds_trained,
        "best_iteration": result.best_iteration,
        "early_stopping_rounds": cfg.early_stopping_rounds,
        "stop_metric": result.stop_metric,
        "checkpoint_every": cfg.checkpoint_every,
        "workers": cfg.workers,
        "cpus_per_worker": cfg.cpus_per_worker,
        "use_gpu": cfg.use_gpu,
        "validation_fraction": cfg.validation_fraction,
        "gap_hours": cfg.gap_hours,
        "sensor_dropout": cfg.sensor_dropout,
        "sensor_dropout.sensors": ",".join(cfg.dropout_sensors),
        "n_features": len(features),
        "training_set.start": ts.start,
        "training_set.end": ts.end,
    }
    experiment_id = _experiment_id(c, s)
    with mlflow.start_run(experiment_id=experiment_id, run_name=plan.run_name, tags=tags) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        _log_history(c, run.info.run_id, result.history)
        best = result.summary()["best_metrics"]
        mlflow.log_metrics({f"best.{k}": v for k, v in best.items() if v is not None})
        mlflow.log_metrics({f"time.{k}": v for k, v in result.timings.items() if k.endswith("_s")})
        mlflow.log_dict(
            {
                "features": features,
                "dropped_columns": list(plan.dropped_columns),
                "training_set": ts.to_dict(),
                "split": plan.split.describe(),
                "attempts": result.attempts,
                "trigger": plan.trigger.to_dict() if plan.trigger else None,
            },
            "training/lineage.json",
        )
        try:
            from mlflow.data.dataset_source_registry import resolve_dataset_source
            from mlflow.data.meta_dataset import MetaDataset

            with warnings.catch_warnings():
                # A local path matches two equivalent source types; either is right.
                warnings.simplefilter("ignore", UserWarning)
                source = resolve_dataset_source(ts.path)
            # mlflow declares Dataset.profile abstract but MetaDataset (no ABCMeta) leaves it out.
            dataset = MetaDataset(source, name="training_set", digest=ts.version)  # type: ignore[abstract]
            mlflow.log_input(dataset, context="training")
        except Exception as err:  # the source type is informative only
            log.warning("training set not logged as an MLflow dataset input: %s", err)
        fig = _importance_figure(booster)
        mlflow.log_figure(fig, "plots/feature_importance.png")
        import matplotlib.pyplot as plt

        plt.close(fig)
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            signature=signature,
            input_example=example,
            model_format="ubj",
            # Pinned, not inferred: inference loads the model in a subprocess (seconds) and
            # its result can vary with whatever else is imported.
            pip_requirements=_requirements(),
        )
        digest = model_digest(info.model_uri)
        mlflow.set_tag(DIGEST_TAG, digest)
        run_id = run.info.run_id
    # The version is created with its tags in one call: a crash can leave an unregistered
    # run behind (a retry logs a new one) but never a version without its lineage or digest.
    version_tags = {**tags, DIGEST_TAG: digest, "mlflow_run_id": run_id}
    _ensure_registered_model(c)
    mv = c.create_model_version(
        MODEL_NAME,
        source=info.model_uri,
        run_id=run_id,
        tags={k: str(v) for k, v in version_tags.items()},
        model_id=info.model_id,
    )
    version = str(mv.version)
    _make_challenger(c, version, plan, s)
    log.info(
        "registered %s v%s (run %s, %s %.4f), alias %s",
        MODEL_NAME,
        version,
        run_id,
        result.stop_metric,
        result.best_score or float("nan"),
        CHALLENGER,
    )
    return _summary(version, run_id, version_tags, result)


def _summary(
    version: str, run_id: str, tags: dict[str, str], result: TrainResult
) -> dict[str, Any]:
    return finite(
        {
            "model_name": MODEL_NAME,
            "version": str(version),
            "alias": CHALLENGER,
            "model_uri": f"models:/{MODEL_NAME}@{CHALLENGER}",
            "mlflow_run_id": run_id,
            "model_sha256": tags.get(DIGEST_TAG),
            "training_set_version": tags.get("training_set.version"),
            "rounds_trained": result.rounds_trained,
            "best_iteration": result.best_iteration,
            "metrics": result.summary()["best_metrics"],
        }
    )
