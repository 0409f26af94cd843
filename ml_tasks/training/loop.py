"""The per-worker training loop and its checkpoint callback (runs inside Ray Train workers).

Resume and exact round counts: a checkpoint holds the booster and ``train_state.json`` (rounds
done, per-round validation metrics, the early-stopping state and one entry per attempt). A
restarted worker loads the latest checkpoint and trains only ``rounds - rounds_done`` more, so
the final model has exactly the rounds an uninterrupted run would have (the legacy trainer
trained ``num_boost_round`` more on resume, ray-project/ray#33468). Round numbers are global
(``booster.num_boosted_rounds()``), so checkpoint cadence and early stopping survive a resume.

Reporting cost: every ``ray.train.report`` is a barrier that waits for the controller's poll
(``RAY_TRAIN_HEALTH_CHECK_INTERVAL_S``, 2 s by default). The stock ``RayTrainReportCallback``
reports every round; this one reports only when it checkpoints and keeps the per-round metrics
in the checkpoint instead.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ray.train.xgboost import RayTrainReportCallback

from ml_tasks.training import storage

log = logging.getLogger(__name__)

MODEL_FILE = RayTrainReportCallback.CHECKPOINT_NAME  # "model.ubj"
STATE_FILE = "train_state.json"


class InjectedFailure(RuntimeError):
    """Raised once by :class:`FaultInjection` to prove that training resumes."""


@dataclass(frozen=True)
class FaultInjection:
    """Chaos hook: worker 0 raises once, after round ``at_round`` (and its checkpoint).

    ``marker`` (a path or URI) records that the fault fired, so the restarted worker, or the
    retried Airflow task, runs through.
    """

    at_round: int
    marker: str

    def maybe_fail(self, rounds_done: int, rank: int) -> None:
        if rank != 0 or rounds_done != self.at_round or storage.exists(self.marker):
            return
        storage.write_json(
            self.marker, {"round": rounds_done, "pid": os.getpid(), "at": time.time()}
        )
        log.warning("chaos: injected worker failure after round %d", rounds_done)
        raise InjectedFailure(f"injected failure after round {rounds_done}")


@dataclass
class TrainState:
    """What a checkpoint knows besides the booster."""

    total_rounds: int
    rounds_done: int = 0
    best_iteration: int | None = None
    best_score: float | None = None
    finished: bool = False
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def record(self, rounds_done: int, metrics: dict[str, float], key: str, maximize: bool) -> None:
        self.rounds_done = rounds_done
        self.history.append({"round": rounds_done, **metrics})
        score = metrics.get(key)
        if score is None or math.isnan(score):  # e.g. an AUC on a one-class window
            return
        better = self.best_score is None or (
            score > self.best_score if maximize else score < self.best_score
        )
        if better:
            self.best_score, self.best_iteration = score, rounds_done - 1

    def rounds_without_improvement(self) -> int:
        return 0 if self.best_iteration is None else self.rounds_done - 1 - self.best_iteration

    @classmethod
    def load(cls, folder: str | Path) -> TrainState:
        return cls(**json.loads((Path(folder) / STATE_FILE).read_text()))


class CheckpointReportCallback(RayTrainReportCallback):
    """Checkpoint every ``frequency`` rounds and report to Ray Train only then.

    Also: early stopping whose state survives a resume, the per-round history kept in the
    checkpoint, and an optional :class:`FaultInjection`.
    """

    def __init__(
        self,
        *,
        frequency: int,
        state: TrainState,
        stop_key: str,
        maximize: bool,
        patience: int | None,
        fault: FaultInjection | None = None,
    ) -> None:
        super().__init__(frequency=frequency, checkpoint_at_end=True)
        self.state = state
        self.stop_key = stop_key
        self.maximize = maximize
        self.patience = patience
        self.fault = fault
        self._checkpointed_round: int | None = None

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        import ray.train

        done = model.num_boosted_rounds()
        latest = {
            f"{data}-{metric}": float(values[-1])
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        }
        self.state.record(done, latest, self.stop_key, self.maximize)
        patience = self.patience or 0
        stop = bool(patience) and self.state.rounds_without_improvement() >= patience
        last = done >= self.state.total_rounds
        if stop or last or (self._frequency and done % self._frequency == 0):
            self.state.finished = stop or last
            self.state.stopped_early = stop and not last
            if self.state.finished and self.state.attempts:
                self.state.attempts[-1]["trained_at"] = time.time()
            self._save_and_report_checkpoint(self._report_dict(), model)
        if self.fault:
            self.fault.maybe_fail(done, ray.train.get_context().get_world_rank())
        return stop

    def after_training(self, model: Any) -> Any:
        # Nothing left to do on a resumed run, or the last round was checkpointed already.
        if self._checkpointed_round != model.num_boosted_rounds() and not self.state.finished:
            self.state.finished = True
            if self.state.attempts:
                self.state.attempts[-1]["trained_at"] = time.time()
            self._save_and_report_checkpoint(self._report_dict(), model)
        return model

    def _report_dict(self) -> dict[str, Any]:
        latest = self.state.history[-1] if self.state.history else {}
        return {
            **latest,
            "rounds_done": self.state.rounds_done,
            "best_iteration": self.state.best_iteration,
            "best_score": self.state.best_score,
            "finished": self.state.finished,
        }

    def _save_and_report_checkpoint(self, report_dict: dict, model: Any) -> None:
        import ray.train

        started = time.perf_counter()
        self._checkpointed_round = model.num_boosted_rounds()
        if ray.train.get_context().get_world_rank() != 0:
            ray.train.report(report_dict, checkpoint=None)
            return
        attempt = self.state.attempts[-1] if self.state.attempts else {}
        with tempfile.TemporaryDirectory() as folder:
            model.save_model(str(Path(folder) / MODEL_FILE))
            (Path(folder) / STATE_FILE).write_text(json.dumps(asdict(self.state)))
            ray.train.report(report_dict, checkpoint=ray.train.Checkpoint(folder))
        # Time spent checkpointing (saved with the next checkpoint): the overhead, measured.
        attempt["checkpoint_s"] = attempt.get("checkpoint_s", 0.0) + time.perf_counter() - started
        attempt["checkpoints"] = attempt.get("checkpoints", 0) + 1


def _quiet_reports() -> None:
    """Ray logs every report (with its metrics) at INFO from a logger named after its file."""
    from ray.train.v2._internal.execution import context

    logging.getLogger(context.__file__).setLevel(logging.WARNING)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point on every worker: read the shard, resume, train, checkpoint."""
    import ray.train
    import xgboost as xgb

    from ml_tasks.training import data
    from ml_tasks.training.spec import SplitSpec, TrainConfig

    started = time.time()
    _quiet_reports()
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    cfg = TrainConfig.from_dict(config["train_config"])
    features = list(config["features"])
    shard = data.load_shard(
        config["path"],
        features,
        label=config["label"],
        timestamp=config["timestamp"],
        split=SplitSpec(**config["split"]),
        rank=rank,
        world_size=world,
    )
    params = cfg.xgb_params()
    if cfg.sensor_dropout:
        # Seeded per rank: a restarted worker rebuilds the same augmented rows.
        seed = int(params.get("seed", 0)) * 1000 + rank
        shard = data.sensor_dropout(
            shard, features, cfg.dropout_sensors, cfg.sensor_dropout, seed=seed
        )
    nthread, max_bin = params["nthread"], params.get("max_bin", 256)
    dtrain = xgb.QuantileDMatrix(
        shard.x_train, shard.y_train, feature_names=features, nthread=nthread, max_bin=max_bin
    )
    dvalid = xgb.QuantileDMatrix(
        shard.x_valid, shard.y_valid, ref=dtrain, feature_names=features, nthread=nthread
    )
    data_ready = time.time()

    booster, state = None, TrainState(total_rounds=cfg.rounds)
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            state = TrainState.load(folder)
            booster = xgb.Booster(model_file=str(Path(folder) / MODEL_FILE))
        state.total_rounds = cfg.rounds
    if rank == 0:
        if booster is None:
            log.info("training from scratch: %d rounds on %d worker(s)", cfg.rounds, world)
        else:
            log.info(
                "resuming from checkpoint at round %d of %d: %d rounds to go (attempt %d)",
                state.rounds_done,
                cfg.rounds,
                cfg.rounds - state.rounds_done,
                len(state.attempts) + 1,
            )
    state.attempts.append(
        {
            "start_round": state.rounds_done,
            "started_at": started,
            "data_ready_at": data_ready,
            "world_size": world,
            "rows_train_rank0": shard.rows[0],
            "rows_valid_rank0": shard.rows[1],
        }
    )
    remaining = cfg.rounds - state.rounds_done
    if state.finished or remaining <= 0:
        log.info("rank %d: run already finished at round %d", rank, state.rounds_done)
        return
    fault = FaultInjection(**config["fault"]) if config.get("fault") else None
    callback = CheckpointReportCallback(
        frequency=cfg.checkpoint_every,
        state=state,
        stop_key=f"valid-{cfg.stop_metric}",
        maximize=cfg.maximize,
        patience=cfg.early_stopping_rounds,
        fault=fault,
    )
    evals = [(dtrain, "train"), (dvalid, "valid")] if cfg.eval_train else [(dvalid, "valid")]
    xgb.train(
        params,
        dtrain,
        num_boost_round=remaining,
        evals=evals,
        xgb_model=booster,
        callbacks=[callback],
        verbose_eval=False,
    )
