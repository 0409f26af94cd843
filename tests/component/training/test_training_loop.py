"""The checkpoint callback without a Ray cluster: cadence, early stopping, exact resume."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import ray.train
import xgboost as xgb

from ml_tasks.training import data
from ml_tasks.training.loop import (
    MODEL_FILE,
    CheckpointReportCallback,
    FaultInjection,
    InjectedFailure,
    TrainState,
)

PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": ["logloss", "aucpr"],
    "tree_method": "hist",
    "eta": 0.5,
    "max_depth": 6,
    "nthread": 2,
    "seed": 0,
}


class FakeTrainSession:
    """Stands in for ``ray.train.report``/``get_context``; keeps a copy of each checkpoint."""

    def __init__(self, folder: Path, rank: int = 0) -> None:
        self.folder, self.rank, self.reports, self.saved = folder, rank, [], 0

    def report(self, metrics, checkpoint=None):
        saved = None
        if checkpoint is not None:
            self.saved += 1
            saved = self.folder / f"checkpoint_{self.saved:03d}"
            shutil.copytree(checkpoint.path, saved)
        self.reports.append((dict(metrics), saved))

    def get_context(self):
        return SimpleNamespace(get_world_rank=lambda: self.rank)

    def latest(self):
        return next(path for _, path in reversed(self.reports) if path is not None)


@pytest.fixture
def session(tmp_path, monkeypatch):
    fake = FakeTrainSession(tmp_path)
    monkeypatch.setattr(ray.train, "report", fake.report)
    monkeypatch.setattr(ray.train, "get_context", fake.get_context)
    return fake


@pytest.fixture(scope="module")
def matrices(training_set):
    features, _ = data.resolve_features(training_set)
    split = data.compute_split(training_set, 0.2, 24)
    shard = data.load_shard(
        training_set.path,
        features,
        label="label",
        timestamp="event_timestamp",
        split=split,
        rank=0,
        world_size=1,
    )
    # A slice keeps these in-process tests quick; the logic does not depend on the size.
    x, y, xv, yv = shard.x_train[:6000], shard.y_train[:6000], shard.x_valid, shard.y_valid
    dtrain = xgb.QuantileDMatrix(x, y, feature_names=features)
    dvalid = xgb.QuantileDMatrix(xv, yv, ref=dtrain, feature_names=features)
    return dtrain, dvalid, xgb.DMatrix(xv, feature_names=features)


def _train(matrices, state, rounds, *, every=5, patience=None, booster=None, fault=None):
    dtrain, dvalid, _ = matrices
    callback = CheckpointReportCallback(
        frequency=every,
        state=state,
        stop_key="valid-aucpr",
        maximize=True,
        patience=patience,
        fault=fault,
    )
    return xgb.train(
        PARAMS,
        dtrain,
        num_boost_round=rounds,
        evals=[(dvalid, "valid")],
        xgb_model=booster,
        callbacks=[callback],
        verbose_eval=False,
    )


def _resume(folder):
    return TrainState.load(folder), xgb.Booster(model_file=str(folder / MODEL_FILE))


def test_reports_only_on_checkpoint_rounds_with_every_round_in_the_state(session, matrices):
    booster = _train(matrices, TrainState(total_rounds=12), 12, every=5)
    rounds = [m["rounds_done"] for m, _ in session.reports]
    assert rounds == [5, 10, 12]  # every 5th round, plus the last
    assert all(path is not None for _, path in session.reports)
    state, saved = _resume(session.latest())
    assert state.finished and not state.stopped_early
    assert [h["round"] for h in state.history] == list(range(1, 13))
    assert {"valid-logloss", "valid-aucpr"} <= set(state.history[0])
    assert saved.num_boosted_rounds() == booster.num_boosted_rounds() == 12


def test_resumed_training_ends_with_the_same_model_and_round_count(session, matrices):
    _, _, valid = matrices
    whole = _train(matrices, TrainState(total_rounds=20), 20, every=5)
    first_reports = len(session.reports)
    # An interrupted run: it got to round 13; its latest checkpoint holds round 10.
    _train(matrices, TrainState(total_rounds=20), 13, every=5)
    checkpoint = session.reports[first_reports + 1][1]
    state, booster = _resume(checkpoint)
    assert state.rounds_done == 10
    resumed = _train(matrices, state, 20 - state.rounds_done, every=5, booster=booster)
    assert resumed.num_boosted_rounds() == 20  # not 10 + 20 (ray-project/ray#33468)
    np.testing.assert_array_equal(resumed.predict(valid), whole.predict(valid))
    rounds_after_resume = [m["rounds_done"] for m, _ in session.reports[first_reports + 3 :]]
    assert rounds_after_resume == [15, 20]  # the cadence continues on global round numbers
    final, _ = _resume(session.latest())
    assert [h["round"] for h in final.history] == list(range(1, 21))


def test_early_stopping_survives_a_resume(session, matrices):
    whole = _train(matrices, TrainState(total_rounds=300), 300, every=2, patience=5)
    stopped, _ = _resume(session.latest())
    assert stopped.stopped_early and stopped.finished
    assert stopped.rounds_done == whole.num_boosted_rounds() < 300
    assert stopped.rounds_done - 1 - stopped.best_iteration == 5
    # Same run, interrupted after the first checkpoint past the best round.
    resume_at = (stopped.best_iteration // 2 + 1) * 2
    assert resume_at < stopped.rounds_done
    session.reports.clear()
    _train(matrices, TrainState(total_rounds=300), resume_at, every=2, patience=5)
    state, booster = _resume(session.latest())
    assert state.rounds_done == resume_at and not state.finished
    _train(matrices, state, 300 - resume_at, every=2, patience=5, booster=booster)
    again, _ = _resume(session.latest())
    assert (again.rounds_done, again.best_iteration, again.stopped_early) == (
        stopped.rounds_done,
        stopped.best_iteration,
        True,
    )


def test_injected_failure_fires_once_on_worker_zero_after_the_checkpoint(
    session, matrices, tmp_path
):
    fault = FaultInjection(at_round=7, marker=str(tmp_path / "chaos" / "fired.json"))
    with pytest.raises(InjectedFailure, match="after round 7"):
        _train(matrices, TrainState(total_rounds=10), 10, every=5, fault=fault)
    assert [m["rounds_done"] for m, _ in session.reports] == [5]
    assert (tmp_path / "chaos" / "fired.json").exists()
    booster = _train(matrices, TrainState(total_rounds=10), 10, every=5, fault=fault)
    assert booster.num_boosted_rounds() == 10
    fault.maybe_fail(7, rank=1)  # other ranks never fire
