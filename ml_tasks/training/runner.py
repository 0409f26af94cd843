"""Run a :class:`~ml_tasks.training.spec.TrainingPlan` on Ray Train.

Where Ray runs is configuration only: with ``RAY_ADDRESS`` set (a KubeRay cluster, the
RayJob's own cluster, where KubeRay sets it for the entrypoint, or the embedded default's local
head, ``python -m ml_platform_demo`` starts one) the trainer connects to it, which takes about a
second instead of the in-process start-up; otherwise Ray starts in-process with ``ray_num_cpus``
CPUs and no dashboard, and is shut down again when the run ends. The same run name and storage
path make a second ``fit()`` resume.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ml_tasks.reachability import require_reachable
from ml_tasks.settings import Settings, get_settings
from ml_tasks.training import storage
from ml_tasks.training.spec import TrainingPlan

log = logging.getLogger(__name__)

# The Train controller polls its workers at this interval and every report waits for a poll:
# 2 s (Ray's default) per checkpoint is most of the run time on a small data set.
HEALTH_CHECK_INTERVAL_S = "0.2"


@dataclass(frozen=True)
class TrainResult:
    """What a finished run left in storage (serialised as ``result.json`` in the run folder).

    The training stage's result; :meth:`summary` is what goes through XCom."""

    run_name: str
    checkpoint_uri: str
    rounds_requested: int
    rounds_trained: int
    best_iteration: int | None
    best_score: float | None
    stop_metric: str
    stopped_early: bool
    history: list[dict[str, float]]
    attempts: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainResult:
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """Small enough for XCom: no per-round history; NaN metrics become ``None``."""
        best = None
        if self.best_iteration is not None and self.history:
            best = next(
                (h for h in self.history if h["round"] == self.best_iteration + 1),
                self.history[-1],
            )
        return finite(
            {
                "run_name": self.run_name,
                "checkpoint_uri": self.checkpoint_uri,
                "rounds_requested": self.rounds_requested,
                "rounds_trained": self.rounds_trained,
                "best_iteration": self.best_iteration,
                "stop_metric": self.stop_metric,
                "best_score": self.best_score,
                "stopped_early": self.stopped_early,
                "attempts": [a["start_round"] for a in self.attempts],
                "best_metrics": {k: v for k, v in (best or {}).items() if k != "round"},
                "timings": self.timings,
            }
        )


def finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by ``None`` (JSON, XCom, MLflow tags).

    An AUC is NaN when a window holds only one class, which small or young data sets do.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def is_loopback(address: str | None) -> bool:
    """Whether a Ray address names a head on this machine (``127.0.0.1:6380``, ``localhost``)."""
    if not address:
        return False
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def configure_env(*, local: bool = False) -> None:
    """Environment Ray Train reads at start-up (set only where the operator did not).

    ``local``: for a Ray started in this process or a head on this machine, where nothing can be
    preempted and nobody else connects.
    """
    # Read by the Train controller, which Ray starts with the driver's values of these.
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", HEALTH_CHECK_INTERVAL_S)
    if local:
        # Auth tokens guard multi-user clusters; an in-process Ray is private to this process.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # One actor process less to start per run: no node of a local Ray is ever drained.
        os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")


@contextmanager
def ray_session(
    settings: Settings | None = None, num_cpus: int | None = None
) -> Generator[bool, None, None]:
    """Connect to Ray for the duration of the block; yields whether Ray started here.

    An already initialised Ray (a test session, a notebook) is used as is and left running.
    """
    import ray

    s = settings or get_settings()
    configure_env(local=not s.ray_address or is_loopback(s.ray_address))
    if ray.is_initialized():
        yield False
        return
    started = time.perf_counter()
    if s.ray_address:
        # ray.init on a dead address waits for the GCS and ends in a timeout about "the GCS".
        require_reachable("Ray head", s.ray_address, "RAY_ADDRESS")
        ray.init(address=s.ray_address, log_to_driver=True)
        log.info(
            "connected to the Ray cluster at %s in %.1f s",
            s.ray_address,
            time.perf_counter() - started,
        )
    else:
        cpus = num_cpus or s.ray_num_cpus or os.cpu_count() or 1
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=True)
        log.info(
            "started in-process Ray with %d CPUs in %.1f s", cpus, time.perf_counter() - started
        )
    try:
        yield True
    finally:
        ray.shutdown()


def check_local_resources(plan: TrainingPlan) -> None:
    """Fail fast when an in-process Ray cannot fit the workers (nothing would ever free up)."""
    import ray

    cfg = plan.config
    have = ray.cluster_resources()
    need = {"CPU": cfg.workers * cfg.cpus_per_worker, "GPU": cfg.workers if cfg.use_gpu else 0}
    short = {k: (v, have.get(k, 0)) for k, v in need.items() if v > have.get(k, 0)}
    if short:
        detail = ", ".join(f"{k}: need {n:g}, have {h:g}" for k, (n, h) in short.items())
        raise ValueError(
            f"{cfg.workers} worker(s) x {cfg.cpus_per_worker} CPU(s) do not fit this Ray"
            f" ({detail}); lower the workers or PLATFORM_TRAINING_CPUS_PER_WORKER, or raise"
            " PLATFORM_RAY_NUM_CPUS"
        )


def _latest_checkpoint_round(plan: TrainingPlan) -> int | None:
    """Rounds in the newest checkpoint a previous attempt left in storage, if any."""
    snapshot = storage.join(plan.run_dir, "checkpoint_manager_snapshot.json")
    if not storage.exists(snapshot):
        return None
    try:
        payload = storage.read_json(snapshot)
        latest = payload.get("latest_checkpoint_result") or {}
        return int(latest.get("metrics", {}).get("rounds_done"))
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def fit(plan: TrainingPlan, *, fault: dict[str, Any] | None = None) -> TrainResult:
    """Train (or resume) the plan's run on the connected Ray; returns what the run left."""
    from ray.train import (
        CheckpointConfig,
        FailureConfig,
        LoggingConfig,
        RunConfig,
        ScalingConfig,
    )
    from ray.train.xgboost import XGBoostTrainer

    from ml_tasks.training.loop import TrainState, train_loop_per_worker

    cfg = plan.config
    resources: dict[str, float] = {"CPU": cfg.cpus_per_worker}
    if cfg.use_gpu:
        resources["GPU"] = 1
    previous = _latest_checkpoint_round(plan)
    if previous is not None:
        log.info(
            "run %s has a checkpoint at round %d in %s: resuming from it",
            plan.run_name,
            previous,
            plan.run_dir,
        )
    trainer = XGBoostTrainer(
        train_loop_per_worker,
        train_loop_config={
            "path": plan.training_set.path,
            "features": list(plan.features),
            "label": plan.training_set.label,
            "timestamp": plan.training_set.timestamp,
            "split": plan.to_dict()["split"],
            "train_config": cfg.to_dict(),
            "fault": fault,
        },
        scaling_config=ScalingConfig(
            num_workers=cfg.workers, use_gpu=cfg.use_gpu, resources_per_worker=resources
        ),
        run_config=RunConfig(
            name=plan.run_name,
            storage_path=plan.storage_path,
            checkpoint_config=CheckpointConfig(num_to_keep=cfg.num_to_keep),
            failure_config=FailureConfig(max_failures=cfg.max_failures),
            # Ray Train logs every report and checkpoint at INFO; ours say what matters.
            # Ray picks Train v2's RunConfig at import time; mypy sees v1's, without the field.
            logging_config=LoggingConfig(log_level="WARNING"),  # type: ignore[call-arg]
        ),
    )
    started = time.time()
    result = trainer.fit()
    ended = time.time()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray run {plan.run_name} finished without a checkpoint")
    with result.checkpoint.as_directory() as folder:
        state = TrainState.load(folder)

    attempt = state.attempts[-1] if state.attempts else {}
    timings = {
        "fit_started_at": started,
        "fit_ended_at": ended,
        "fit_s": ended - started,
    }
    if attempt.get("started_at"):
        timings["worker_start_s"] = attempt["started_at"] - started
        timings["data_load_s"] = attempt["data_ready_at"] - attempt["started_at"]
        if attempt.get("trained_at"):
            timings["train_loop_s"] = attempt["trained_at"] - attempt["started_at"]
            timings["boosting_s"] = attempt["trained_at"] - attempt["data_ready_at"]
        timings["shutdown_s"] = ended - attempt.get("trained_at", ended)
        # Checkpoints before the final one (which a run needs anyway), on worker 0.
        timings["checkpoint_s"] = attempt.get("checkpoint_s", 0.0)
    out = TrainResult(
        run_name=plan.run_name,
        checkpoint_uri=storage.to_uri(result.checkpoint.filesystem, result.checkpoint.path),
        rounds_requested=cfg.rounds,
        rounds_trained=state.rounds_done,
        best_iteration=state.best_iteration,
        best_score=state.best_score,
        stop_metric=f"valid-{cfg.stop_metric}",
        stopped_early=state.stopped_early,
        history=state.history,
        attempts=state.attempts,
        timings=timings,
        resumed=previous is not None or len(state.attempts) > 1,
    )
    log.info(
        "run %s: %d of %d rounds, best %s %.4f at round %s, attempts started at rounds %s",
        plan.run_name,
        out.rounds_trained,
        out.rounds_requested,
        out.stop_metric,
        out.best_score if out.best_score is not None else float("nan"),
        None if out.best_iteration is None else out.best_iteration + 1,
        [a["start_round"] for a in out.attempts],
    )
    return out
