"""MLflow registration: lineage on the version, the challenger alias, a model that predicts."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from ml_tasks.registry import history
from ml_tasks.registry.aliases import ModelQuarantined, ReleaseContext, verify_or_quarantine
from ml_tasks.registry.models import aliases
from ml_tasks.training import data, pipeline, tracking
from ml_tasks.training.loop import MODEL_FILE
from ml_tasks.training.runner import TrainResult
from ml_tasks.training.spec import MODEL_NAME

ROUNDS, BEST = 12, 7
CTX = ReleaseContext(actor="test")


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """One MLflow database for the module: creating one costs seconds."""
    from ml_tasks.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLATFORM_HOME", str(tmp_path_factory.mktemp("platform")))
        yield get_settings()


@pytest.fixture(scope="module")
def finished_run(training_set, settings, tmp_path_factory):
    """A plan and a result as Ray would leave them, trained here without Ray (fast)."""
    from dataclasses import replace

    ref = replace(
        training_set,
        lineage={"telemetry": 41, "work_orders": 17, "features_telemetry_stats": 5},
        feature_service="failure_model_v1",
    )
    plan = pipeline.plan_training(ref, run_id="manual__tracking", settings=settings, rounds=ROUNDS)
    shard = data.load_shard(
        ref.path,
        list(plan.features),
        label="label",
        timestamp="event_timestamp",
        split=plan.split,
        rank=0,
        world_size=1,
    )
    dtrain = xgb.DMatrix(shard.x_train, shard.y_train, feature_names=list(plan.features))
    dvalid = xgb.DMatrix(shard.x_valid, shard.y_valid, feature_names=list(plan.features))
    log: dict = {}
    booster = xgb.train(
        plan.config.xgb_params(),
        dtrain,
        ROUNDS,
        evals=[(dvalid, "valid")],
        evals_result=log,
        verbose_eval=False,
    )
    checkpoint = tmp_path_factory.mktemp("checkpoint_final")
    booster.save_model(str(checkpoint / MODEL_FILE))
    history = [
        {"round": i + 1, **{f"valid-{m}": v[i] for m, v in log["valid"].items()}}
        for i in range(ROUNDS)
    ]
    result = TrainResult(
        run_name=plan.run_name,
        checkpoint_uri=str(checkpoint),
        rounds_requested=ROUNDS,
        rounds_trained=ROUNDS,
        best_iteration=BEST - 1,
        best_score=history[BEST - 1]["valid-aucpr"],
        stop_metric="valid-aucpr",
        stopped_early=False,
        history=history,
        attempts=[{"start_round": 0}, {"start_round": 10}],
        timings={"fit_s": 1.0},
    )
    return plan, result, booster


def test_registered_version_carries_lineage_and_the_challenger_alias_and_predicts(
    finished_run, settings
):
    plan, result, booster = finished_run
    registered = tracking.log_and_register(plan, result, settings)
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)

    version = client.get_model_version_by_alias(MODEL_NAME, "challenger")
    assert str(version.version) == registered["version"] == "1"
    tags = version.tags
    assert tags["training_set.version"] == plan.training_set.version
    assert tags["dataset.telemetry.version"] == "41"
    assert tags["dataset.work_orders.version"] == "17"
    assert tags["dataset.features_telemetry_stats.version"] == "5"
    assert tags["feature_service"] == "failure_model_v1"
    assert tags["ray_run_name"] == plan.run_name
    assert tags["code_version"] == tracking.code_version() != ""
    assert tags["model_sha256"] == verify_or_quarantine(
        client, MODEL_NAME, "1", stage="test", context=CTX, settings=settings
    )

    run = client.get_run(version.run_id)
    assert run.data.params["rounds_trained"] == str(ROUNDS)
    assert run.data.params["xgb.max_depth"] == "6"
    assert run.data.metrics["best.valid-aucpr"] == pytest.approx(result.best_score)
    history = client.get_metric_history(version.run_id, "valid-logloss")
    assert [m.step for m in history] == list(range(1, ROUNDS + 1))  # every round
    artifacts = {a.path for a in client.list_artifacts(version.run_id, "plots")}
    assert "plots/feature_importance.png" in artifacts
    lineage = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/training/lineage.json")
    assert lineage["features"] == list(plan.features)
    assert [a["start_round"] for a in lineage["attempts"]] == [0, 10]

    # The registered model stops at the best round; it loads by alias and predicts.
    model = mlflow.pyfunc.load_model("models:/failure_model@challenger")
    example = data.input_example(plan.training_set, list(plan.features), rows=50)
    predicted = np.asarray(model.predict(example))
    assert predicted.shape == (50,) and ((predicted >= 0) & (predicted <= 1)).all()
    expected = booster[:BEST].predict(xgb.DMatrix(example))
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)
    native = mlflow.xgboost.load_model("models:/failure_model@challenger")
    assert native.num_boosted_rounds() == BEST
    assert model.metadata.signature.inputs.input_names() == list(plan.features)


def test_registration_is_idempotent_and_a_tampered_model_is_detected(finished_run, settings):
    plan, result, _ = finished_run
    first = tracking.log_and_register(plan, result, settings)
    again = tracking.log_and_register(plan, result, settings)  # e.g. a retried task
    assert again["version"] == first["version"] == "1"
    assert again["model_sha256"] == first["model_sha256"]
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    assert len(client.search_model_versions(f"name = '{MODEL_NAME}'")) == 1
    # The challenger alias moved once, recorded in the audit history like every alias move.
    moves = [e for e in history.read_events(MODEL_NAME, settings) if e.alias == "challenger"]
    assert [(e.action, e.to_version, e.actor) for e in moves] == [("set", "1", "training")]

    source = client.get_model_version(MODEL_NAME, "1").source
    model_id = source.removeprefix("models:/")
    location = client.get_logged_model(model_id).artifact_location
    model_file = Path(location.removeprefix("file://")) / "model.ubj"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ModelQuarantined, match="v1"):
        verify_or_quarantine(client, MODEL_NAME, "1", stage="test", context=CTX, settings=settings)
    assert client.get_model_version(MODEL_NAME, "1").tags["quarantined"] == "digest_mismatch"
    assert aliases(client, MODEL_NAME) == {}  # challenger taken off the tampered version


def test_code_version_reads_git_without_running_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PLATFORM_CODE_VERSION", raising=False)
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs\nabc123 refs/heads/main\n")
    assert tracking.code_version(tmp_path) == "abc123"
    (git / "refs" / "heads" / "main").write_text("def456\n")
    assert tracking.code_version(tmp_path) == "def456"
    assert tracking.code_version(tmp_path / "elsewhere") == "unknown"
    monkeypatch.setenv("PLATFORM_CODE_VERSION", "v1.2.3")
    assert tracking.code_version(tmp_path) == "v1.2.3"
