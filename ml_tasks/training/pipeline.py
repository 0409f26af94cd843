"""Training stages as plain functions: the DAG's tasks and the CLI call these.

1. :func:`build_training_set` - the point-in-time training set for a date range (feature store);
2. :func:`plan_training` - features, time split, configuration and the run identity, stored as
   ``plan.json`` next to the checkpoints (a reference XCom and the RayJob entrypoint can carry);
3. :func:`train` - Ray Train (in-process or on ``RAY_ADDRESS``), resuming when the run has
   checkpoints; writes ``result.json``; a finished run is not trained again;
4. :func:`register` - MLflow logging, a new ``failure_model`` version, alias ``challenger``.

:func:`run_training` chains them (CLI, demo). Chaos testing: with ``PLATFORM_CHAOS_FAIL_AT_ROUND``
set, worker 0 fails once after that round (see :class:`~ml_tasks.training.loop.FaultInjection`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ml_tasks.observability import platform_metrics
from ml_tasks.settings import Settings, get_settings
from ml_tasks.training import data, storage
from ml_tasks.training.spec import TrainConfig, TrainingPlan, TrainingSetRef, run_name
from ml_tasks.training.trigger import TrainingTrigger, resolve_trigger

if TYPE_CHECKING:
    from ml_tasks.training.runner import TrainResult

log = logging.getLogger(__name__)

CHAOS_ENV = "PLATFORM_CHAOS_FAIL_AT_ROUND"


def build_training_set(
    start: date, end: date, *, run_id: str, settings: Settings | None = None
) -> TrainingSetRef:
    """The feature store's point-in-time training set for ``[start, end]``, as a reference."""
    try:
        from ml_tasks.features import training as feature_training
    except ImportError as err:
        raise RuntimeError(
            "ml_tasks.features.training is not available yet: build the training set with the"
            " feature store first, or pass an existing one (CLI: --training-set)"
        ) from err
    built = feature_training.build_training_set(
        start, end, run_id=run_id, settings=settings or get_settings()
    )
    return as_ref(built)


def training_window(
    start: str | date | None,
    end: str | date | None,
    window_days: int,
    run_after: datetime | date,
) -> tuple[date, date]:
    """The days to train on: explicit bounds, or ``window_days`` ending the day before the run.

    A run without triggering events; :func:`ml_tasks.training.trigger.resolve_trigger` also
    reads them (a drift alarm moves the window's end to its day).
    """
    return resolve_trigger(
        None, start=start, end=end, window_days=window_days, run_after=run_after
    ).window


def as_ref(built: Any) -> TrainingSetRef:
    """Adapt what the feature store returns (a dataclass, a dict, a ref) to a TrainingSetRef."""
    if isinstance(built, TrainingSetRef):
        return built
    payload = built if isinstance(built, dict) else getattr(built, "__dict__", {})
    if hasattr(built, "to_dict"):
        payload = built.to_dict()
    path = payload.get("path") or payload.get("uri")
    version = payload.get("version") or payload.get("version_id")
    if not path or version is None:
        raise TypeError(f"cannot read a training-set reference from {built!r}")
    lineage = payload.get("lineage") or payload.get("source_versions") or {}
    return TrainingSetRef.from_dict(
        {
            **payload,
            "path": str(path),
            "version": str(version),
            "lineage": dict(lineage),
            "features": list(payload.get("features") or payload.get("feature_columns") or ()),
            "start": str(payload["start"]) if payload.get("start") else None,
            "end": str(payload["end"]) if payload.get("end") else None,
        }
    )


def plan_training(
    training_set: TrainingSetRef,
    *,
    run_id: str,
    settings: Settings | None = None,
    storage_path: str | None = None,
    trigger: TrainingTrigger | dict[str, Any] | None = None,
    **overrides: Any,
) -> TrainingPlan:
    """Resolve features, split and configuration; name the run; write ``plan.json``.

    ``overrides`` are :class:`~ml_tasks.training.spec.TrainConfig` fields (``None`` = default);
    ``trigger`` (why the run started) is recorded with the model.
    """
    if isinstance(trigger, dict):
        trigger = TrainingTrigger.from_dict(trigger)
    s = settings or get_settings()
    features, dropped = data.resolve_features(training_set)
    config = TrainConfig.from_settings(s, **overrides)
    split = data.compute_split(training_set, config.validation_fraction, config.gap_hours)
    if split.positives_valid == 0 and config.stop_metric != "logloss":
        # Ranking metrics (AUC, AUC-PR) are undefined on a window without failures.
        log.warning(
            "no failures in the validation window %s: stopping on logloss instead of %s",
            split.describe()["valid_window"],
            config.stop_metric,
        )
        config = replace(
            config, stop_metric="logloss", params={**config.params, "eval_metric": ["logloss"]}
        )
    plan = TrainingPlan(
        run_name=run_name(run_id, training_set.version, config.fingerprint(features)),
        storage_path=storage_path or s.ray_storage_path,
        training_set=training_set,
        config=config,
        features=tuple(features),
        split=split,
        run_id=run_id,
        dropped_columns=tuple(dropped),
        trigger=trigger,
    )
    storage.write_json(plan.plan_uri, plan.to_dict())
    log.info(
        "plan %s: %d features (%d columns left out), split %s",
        plan.run_name,
        len(features),
        len(dropped),
        split.describe(),
    )
    return plan


def plan_stage(
    training_set: dict[str, Any] | TrainingSetRef,
    *,
    run_id: str,
    mode: str = "auto",
    settings: Settings | None = None,
    trigger: TrainingTrigger | dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The DAG's plan task: the plan, the resolved mode and, for Kubernetes, the RayJob.

    ``mode="auto"`` follows ``PLATFORM_TRAINING_MODE``. In ``kubernetes`` mode the Ray workers
    take the worker group's shape (its GPUs unless ``use_gpu`` or ``PLATFORM_TRAINING_USE_GPU``
    says otherwise, its CPUs less one for Ray's own processes)
    and the RayJob manifest is rendered and validated here, before anything is submitted.
    """
    from ml_tasks.training import kuberay

    s = settings or get_settings()
    ref = training_set if isinstance(training_set, TrainingSetRef) else as_ref(training_set)
    resolved = s.training_mode if mode in ("auto", "", None) else mode
    if resolved not in ("local", "kubernetes"):
        raise ValueError(f"training mode must be local or kubernetes, got {resolved!r}")
    if resolved == "kubernetes":
        template = kuberay.load_manifest(kuberay.RAYJOB_TEMPLATE)
        shape = kuberay.worker_shape(template)
        group = template["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
        if overrides.get("use_gpu") is None:
            # An explicit choice (CLI/Param, PLATFORM_TRAINING_USE_GPU) wins over the template's.
            gpu = s.training_use_gpu
            overrides["use_gpu"] = shape["gpus"] > 0 if gpu is None else gpu
        overrides["cpus_per_worker"] = max(1, shape["cpus"] - 1)
        overrides["workers"] = overrides.get("workers") or int(group["replicas"])
    plan = plan_training(ref, run_id=run_id, settings=s, trigger=trigger, **overrides)
    out: dict[str, Any] = {
        "mode": resolved,
        "plan": plan.to_dict(),
        "plan_uri": plan.plan_uri,
        "k8s_name": plan.k8s_name,
        "namespace": s.kuberay_namespace,
        "rayjob": None,
    }
    if resolved == "kubernetes":
        out["rayjob"] = kuberay.validate(kuberay.render_rayjob(plan, settings=s))
    return out


def load_plan(uri: str) -> TrainingPlan:
    """A plan written by :func:`plan_training` (the RayJob entrypoint reads it this way)."""
    return TrainingPlan.from_dict(storage.read_json(uri))


def chaos_from_env(plan: TrainingPlan) -> dict[str, Any] | None:
    """The fault to inject, from ``PLATFORM_CHAOS_FAIL_AT_ROUND`` (once per run)."""
    value = os.environ.get(CHAOS_ENV, "").strip()
    if not value:
        return None
    at_round = int(value)
    return {"at_round": at_round, "marker": storage.join(plan.run_dir, f"chaos-{at_round}.json")}


def train(
    plan: TrainingPlan,
    *,
    settings: Settings | None = None,
    fault: dict[str, Any] | None = None,
) -> TrainResult:
    """Train the plan on Ray (resuming from its checkpoints); returns the TrainResult.

    Idempotent: a run whose ``result.json`` exists is returned as it is.
    """
    from ml_tasks.training import runner

    if storage.exists(plan.result_uri):
        result = runner.TrainResult.from_dict(storage.read_json(plan.result_uri))
        log.info("run %s finished before (%s): not training again", plan.run_name, plan.result_uri)
        return result
    s = settings or get_settings()
    with runner.ray_session(s):
        if not s.ray_address:
            runner.check_local_resources(plan)
        result = runner.fit(plan, fault=fault or chaos_from_env(plan))
    storage.write_json(plan.result_uri, result.to_dict())
    platform_metrics.push_training(result, s)
    return result


def load_result(plan: TrainingPlan) -> TrainResult:
    """The TrainResult a finished run stored (for registration after a remote RayJob)."""
    from ml_tasks.training.runner import TrainResult

    if not storage.exists(plan.result_uri):
        raise FileNotFoundError(f"run {plan.run_name} has no result yet ({plan.result_uri})")
    return TrainResult.from_dict(storage.read_json(plan.result_uri))


def register(plan: TrainingPlan, *, settings: Settings | None = None) -> dict[str, Any]:
    """Log the finished run to MLflow and register it as the ``challenger``."""
    from ml_tasks.training import tracking

    return tracking.log_and_register(plan, load_result(plan), settings)


def run_training(
    start: date | None,
    end: date | None,
    *,
    run_id: str,
    training_set: TrainingSetRef | None = None,
    settings: Settings | None = None,
    trigger: TrainingTrigger | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Build (or take) a training set, plan, train and register: the CLI's ``train``."""
    s = settings or get_settings()
    if training_set is None:
        if start is None or end is None:
            raise ValueError("give a date range or an existing training set")
        training_set = build_training_set(start, end, run_id=run_id, settings=s)
    plan = plan_training(training_set, run_id=run_id, settings=s, trigger=trigger, **overrides)
    result = train(plan, settings=s)
    registered = register(plan, settings=s)
    return {"plan": plan.to_dict(), "result": result.summary(), "registered": registered}


def format_report(report: dict[str, Any]) -> str:
    """Human-readable summary of :func:`run_training`'s output."""
    reg, res, plan = report["registered"], report["result"], report["plan"]
    split = plan["split"]
    lines = [
        f"Registered {reg['model_name']} v{reg['version']} as @{reg['alias']}"
        f"  ({reg['model_uri']})",
        f"  training set   {plan['training_set']['version']}  ({plan['training_set']['path']})",
        f"  rows           train {split['rows_train']}  validation {split['rows_valid']}"
        f"  (positives {split['positives_train']} / {split['positives_valid']})",
        f"  rounds         {res['rounds_trained']} of {res['rounds_requested']}"
        f"  (best round {None if res['best_iteration'] is None else res['best_iteration'] + 1}"
        f"{', stopped early' if res['stopped_early'] else ''})",
        "  validation     "
        + "  ".join(
            f"{k.removeprefix('valid-')} {'n/a' if v is None else format(v, '.4f')}"
            for k, v in res["best_metrics"].items()
        ),
        f"  ray run        {res['run_name']}  (attempts from rounds {res['attempts']})",
        f"  mlflow run     {reg['mlflow_run_id']}  sha256 {str(reg['model_sha256'])[:16]}...",
    ]
    return "\n".join(lines)
