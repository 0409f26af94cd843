"""Fault tolerance on a real (in-process) Ray: worker failures and retried tasks resume.

30 rounds with a checkpoint every 10; the injected failure hits worker 0 after round 15, so the
run must restart from round 10 and redo only rounds 11-15.
"""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from ml_tasks.training import data, pipeline, storage
from ml_tasks.training.loop import MODEL_FILE

pytestmark = pytest.mark.usefixtures("ray_cluster")

ROUNDS, EVERY, FAIL_AT = 30, 10, 15


def _plan(training_set, tmp_path, run_id, **overrides):
    config = {"workers": 2, "cpus_per_worker": 1} | overrides
    return pipeline.plan_training(
        training_set,
        run_id=run_id,
        storage_path=str(tmp_path / "ray_results"),
        rounds=ROUNDS,
        checkpoint_every=EVERY,
        early_stopping_rounds=0,
        **config,
    )


def _booster(result):
    local = storage.filesystem(result.checkpoint_uri)[1]
    return xgb.Booster(model_file=f"{local}/{MODEL_FILE}")


def _valid(plan):
    shard = data.load_shard(
        plan.training_set.path,
        list(plan.features),
        label="label",
        timestamp="event_timestamp",
        split=plan.split,
        rank=0,
        world_size=1,
    )
    return xgb.DMatrix(shard.x_valid, feature_names=list(plan.features))


def _fault(plan):
    return {"at_round": FAIL_AT, "marker": storage.join(plan.run_dir, "chaos.json")}


@pytest.fixture(scope="module")
def uninterrupted(training_set, tmp_path_factory):
    plan = _plan(training_set, tmp_path_factory.mktemp("clean"), "clean")
    return plan, pipeline.train(plan)


def test_worker_failure_restarts_from_the_checkpoint_not_from_scratch(
    training_set, tmp_path, uninterrupted
):
    clean_plan, clean = uninterrupted
    plan = _plan(training_set, tmp_path, "worker-failure")  # max_failures from settings: 2
    result = pipeline.train(plan, fault=_fault(plan))

    assert storage.read_json(_fault(plan)["marker"])["round"] == FAIL_AT  # it did fail
    # Attempt 1 started at round 0; attempt 2 at the round-10 checkpoint (rounds 11-15 lost).
    assert [a["start_round"] for a in result.attempts] == [0, EVERY]
    assert result.resumed and result.rounds_trained == ROUNDS
    assert [h["round"] for h in result.history] == list(range(1, ROUNDS + 1))
    booster = _booster(result)
    assert booster.num_boosted_rounds() == ROUNDS
    # Same trees as the uninterrupted run, to the last bit.
    valid = _valid(plan)
    np.testing.assert_array_equal(booster.predict(valid), _booster(clean).predict(valid))
    assert clean.attempts[0]["start_round"] == 0 and len(clean.attempts) == 1
    assert clean_plan.run_name != plan.run_name


def test_a_retried_task_resumes_from_the_failed_attempts_checkpoint(training_set, tmp_path):
    # No in-run restarts: the failure fails the task, as a lost node without spares would.
    # One worker with both CPUs (the local default) keeps this test quick.
    plan = _plan(
        training_set, tmp_path, "airflow-retry", max_failures=0, workers=1, cpus_per_worker=2
    )
    with pytest.raises(Exception, match="injected failure after round 15"):
        pipeline.train(plan, fault=_fault(plan))
    assert not storage.exists(plan.result_uri)

    # The retry: same DAG run, same training-set version, so the same run name and storage.
    retried = pipeline.train(pipeline.load_plan(plan.plan_uri), fault=_fault(plan))
    assert [a["start_round"] for a in retried.attempts] == [0, EVERY]
    assert retried.resumed and retried.rounds_trained == ROUNDS
    assert _booster(retried).num_boosted_rounds() == ROUNDS
    assert [h["round"] for h in retried.history] == list(range(1, ROUNDS + 1))

    # Once finished, running the task again returns the stored result without training.
    again = pipeline.train(plan)
    assert again.checkpoint_uri == retried.checkpoint_uri and again.timings == retried.timings


def test_more_workers_than_the_local_ray_has_cpus_fail_fast(training_set, tmp_path):
    plan = _plan(training_set, tmp_path, "too-big", workers=3, cpus_per_worker=1)
    with pytest.raises(ValueError, match="do not fit this Ray"):
        pipeline.train(plan)  # rather than waiting forever for a third CPU
