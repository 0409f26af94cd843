"""Run identity and configuration: what makes a retry find its checkpoints (and nothing else)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from ml_tasks.training import pipeline
from ml_tasks.training.spec import TrainConfig, TrainingPlan, k8s_name, run_name

FEATURES = ["temperature_c_mean_1h", "vibration_mm_s_max_24h"]


def test_run_name_is_stable_for_a_retry_and_changes_with_data_or_model():
    cfg = TrainConfig(rounds=100)
    name = run_name("scheduled__2026-10-31T03:00:00+00:00", "7", cfg.fingerprint(FEATURES))
    assert name == run_name(
        "scheduled__2026-10-31T03:00:00+00:00", "7", TrainConfig(rounds=100).fingerprint(FEATURES)
    )
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", name), name  # a safe folder name
    # Another training-set version, or anything that changes the model: a fresh run.
    assert name != run_name("scheduled__2026-10-31T03:00:00+00:00", "8", cfg.fingerprint(FEATURES))
    for changed in (
        replace(cfg, rounds=101),
        replace(cfg, params={**cfg.params, "max_depth": 3}),
        replace(cfg, gap_hours=12),
    ):
        assert changed.fingerprint(FEATURES) != cfg.fingerprint(FEATURES)
    assert cfg.fingerprint(FEATURES) != cfg.fingerprint(FEATURES[:1])
    # How it runs does not change the model: a retry on fewer workers still resumes.
    for same in (
        replace(cfg, workers=4),
        replace(cfg, cpus_per_worker=3),
        replace(cfg, checkpoint_every=5),
        replace(cfg, use_gpu=True),
    ):
        assert same.fingerprint(FEATURES) == cfg.fingerprint(FEATURES)


def test_kubernetes_name_is_a_short_dns_label():
    name = k8s_name("failure_model__" + "x" * 200)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 47
    assert name == k8s_name("failure_model__" + "x" * 200)


def test_config_defaults_come_from_settings(platform_home, monkeypatch):
    monkeypatch.setenv("PLATFORM_TRAINING_WORKERS", "2")
    monkeypatch.setenv("PLATFORM_RAY_NUM_CPUS", "6")
    monkeypatch.setenv("PLATFORM_TRAINING_MAX_FAILURES", "0")
    from ml_tasks.settings import get_settings

    cfg = TrainConfig.from_settings(get_settings(), rounds=50, workers=None)
    assert (cfg.workers, cfg.cpus_per_worker, cfg.max_failures, cfg.rounds) == (2, 3, 0, 50)
    assert cfg.xgb_params()["nthread"] == 3 and "device" not in cfg.xgb_params()
    assert replace(cfg, use_gpu=True).xgb_params()["device"] == "cuda"
    with pytest.raises(ValueError):
        TrainConfig(rounds=0)


def test_settings_resolve_mlflow_and_ray_locations_without_side_effects(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "home"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    from ml_tasks.settings import get_settings

    s = get_settings()
    assert s.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'home' / 'mlflow' / 'mlflow.db'}"
    assert s.mlflow_registry_uri == s.mlflow_tracking_uri
    assert s.ray_storage_path == str(tmp_path / "home" / "ray_results")
    assert s.ray_address is None
    assert not (tmp_path / "home").exists()
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("PLATFORM_RAY_STORAGE_PATH", "s3://bucket/ray")
    s = get_settings()
    assert (s.ray_address, s.mlflow_registry_uri, s.ray_storage_path) == (
        "ray://head:10001",
        "http://mlflow:5000",
        "s3://bucket/ray",
    )


def test_plan_round_trips_through_json_and_is_written_next_to_the_checkpoints(
    training_set, tmp_path
):
    from ml_tasks.training.trigger import resolve_trigger

    why = resolve_trigger(
        {"drift_alarm": [{"extra": {"interval": "2026-10-24", "kinds": ["feature_drift"]}}]},
        start=None,
        end=None,
        window_days=28,
        run_after=date(2026, 11, 30),
    )
    plan = pipeline.plan_training(
        training_set, run_id="manual__1", storage_path=str(tmp_path), rounds=40, trigger=why
    )
    assert pipeline.load_plan(plan.plan_uri) == plan
    assert plan.trigger == why
    # Why a run started is recorded, not part of its identity: a retry resumes either way.
    assert (
        plan.run_name
        == pipeline.plan_training(
            training_set, run_id="manual__1", storage_path=str(tmp_path), rounds=40
        ).run_name
    )
    assert TrainingPlan.from_dict(plan.to_dict()) == plan
    assert plan.run_dir == f"{tmp_path}/{plan.run_name}"
    assert plan.config.rounds == 40 and len(plan.features) == 56
    assert plan.dropped_columns  # the string attributes, with their reason


def test_training_window_defaults_to_the_days_before_the_run():
    run_after = datetime(2026, 10, 31, 3, tzinfo=UTC)
    assert pipeline.training_window(None, None, 28, run_after) == (
        date(2026, 10, 3),
        date(2026, 10, 30),
    )
    assert pipeline.training_window("2026-10-01", "2026-10-10", 28, run_after) == (
        date(2026, 10, 1),
        date(2026, 10, 10),
    )
    with pytest.raises(ValueError, match="starts after"):
        pipeline.training_window("2026-10-11", "2026-10-10", 28, run_after)


def test_the_feature_stores_metadata_becomes_a_training_set_reference():
    # The shape ml_tasks.features.training.build_training_set returns.
    built = {
        "name": "training_set",
        "version": 3,
        "path": "/platform/training_sets/v0003",
        "start": "2026-10-01",
        "end": "2026-10-28",
        "feature_service": "failure_model_v1",
        "label": "failure_within_horizon",
        "entity": "machine_id",
        "timestamp": "event_timestamp",
        "features": ["plant_id", "failures_30d"],
        "lineage": {"telemetry": 30, "work_orders": 31},
        "row_count": 67200,
        "sources": {"telemetry": {"version": 30}},
    }
    ref = pipeline.as_ref(built)
    assert (ref.path, ref.version, ref.label, ref.feature_service) == (
        "/platform/training_sets/v0003",
        "3",
        "failure_within_horizon",
        "failure_model_v1",
    )
    assert ref.lineage == {"telemetry": 30, "work_orders": 31}
    assert ref.features == ("plant_id", "failures_30d") and ref.row_count == 67200
    with pytest.raises(TypeError):
        pipeline.as_ref({"rows": 3})
