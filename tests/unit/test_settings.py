"""Settings resolve from the environment and have no side effects."""

from __future__ import annotations

from ml_tasks.settings import airflow_env, get_settings


def test_defaults_live_under_platform_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PLATFORM_LAKE_URI", raising=False)
    s = get_settings()
    assert s.landing_dir == tmp_path / "home" / "landing"
    assert s.table_uri("telemetry") == str(tmp_path / "home" / "lake" / "telemetry")
    assert not (tmp_path / "home").exists()  # resolving creates nothing


def test_environment_overrides_for_production(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_LAKE_URI", "s3://lake-bucket/curated")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    s = get_settings()
    assert s.table_uri("telemetry") == "s3://lake-bucket/curated/telemetry"
    assert not s.is_local_lake
    assert s.storage_options["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_airflow_env_keeps_operator_overrides(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "16")
    env = airflow_env()
    assert env["AIRFLOW__CORE__PARALLELISM"] == "16"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
