"""Feast wiring: the rendered config, the definitions, idempotent apply, materialization state."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
import yaml

from ml_tasks.features import store
from ml_tasks.features.compute import compute_features


def test_embedded_default_is_sqlite_and_local_files(features_home):
    s = features_home
    config = store.render_config(s)
    assert config["project"] == store.PROJECT
    assert config["online_store"] == {
        "type": store.SQLITE_STORE,
        "path": str(s.platform_home / "feature_repo" / "online_store.db"),
    }
    assert config["offline_store"] == {"type": "duckdb"}
    assert config["registry"]["path"] == str(s.platform_home / "feature_repo" / "registry.db")
    path = store.write_feature_store_yaml(s)
    assert yaml.safe_load(path.read_text()) == config
    assert "do not edit" in path.read_text()


def test_production_settings_render_redis_and_object_storage(features_home, monkeypatch):
    monkeypatch.setenv("PLATFORM_REDIS_URL", "redis://:s3cret@redis:6380/2")
    monkeypatch.setenv("PLATFORM_OFFLINE_STORE_URI", "s3://features/offline")
    monkeypatch.setenv("PLATFORM_FEAST_REGISTRY", "postgresql+psycopg://u:p@db/feast")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    from ml_tasks.settings import get_settings

    s = get_settings()
    config = store.render_config(s)
    assert config["online_store"] == {
        "type": store.REDIS_STORE,
        "connection_string": "redis:6380,db=2,password=s3cret",
    }
    assert config["registry"]["registry_type"] == "sql"
    assert config["registry"]["serve_features_while_materializing"] is True
    sources = {src.name: src for src in store.load_definitions(s).data_sources}
    telemetry = sources["telemetry_stats_source"]
    assert telemetry.path == "s3://features/offline/telemetry_stats"
    assert telemetry.file_options.s3_endpoint_override == "http://minio:9000"


def test_the_ray_offline_store_is_the_scale_path_when_selected(features_home, monkeypatch):
    monkeypatch.setenv("PLATFORM_OFFLINE_ENGINE", "ray")
    monkeypatch.setenv("RAY_ADDRESS", "ray://ray-head:10001")
    monkeypatch.setenv("PLATFORM_RAY_STORAGE_PATH", "s3://ray/results")
    from ml_tasks.settings import get_settings

    assert store.render_config(get_settings())["offline_store"] == {
        "type": "ray",
        "storage_path": "s3://ray/results/feast_staging",
        "ray_address": "ray://ray-head:10001",
    }
    # RAY_ADDRESS alone (the embedded default's local head) keeps DuckDB.
    monkeypatch.delenv("PLATFORM_OFFLINE_ENGINE")
    assert store.render_config(get_settings())["offline_store"] == {"type": "duckdb"}
    monkeypatch.setenv("PLATFORM_OFFLINE_ENGINE", "spark")
    with pytest.raises(ValueError, match="duckdb or ray"):
        store.render_config(get_settings())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost:6379", "localhost:6379"),
        ("redis://cache/1", "cache:6379,db=1"),
        ("rediss://:pw@cache:6390/0", "cache:6390,db=0,password=pw,ssl=true"),
        ("cache:6379,db=3", "cache:6379,db=3"),
    ],
)
def test_redis_url_to_feast_connection_string(url, expected):
    assert store.redis_connection_string(url) == expected


def test_definitions_are_documented_and_bound_to_the_offline_root(features_home):
    d = store.load_definitions(features_home)
    assert [p.name for p in d.projects] == [store.PROJECT]
    assert [e.name for e in d.entities] == ["machine"]
    assert {fv.name for fv in d.feature_views} == {
        "telemetry_stats",
        "maintenance_history",
        "machine_attributes",
    }
    assert [fs.name for fs in d.feature_services] == [store.FEATURE_SERVICE]
    for obj in d.objects():
        assert obj.description, f"{obj.name} has no description"
    for fv in d.feature_views:
        assert fv.owner and fv.ttl
        assert all(f.description for f in fv.features), fv.name
    telemetry = next(fv for fv in d.feature_views if fv.name == "telemetry_stats")
    assert len(telemetry.features) == 2 + 5 * 2 * 5  # counts + 5 sensors x 2 windows x 5
    offline = str(features_home.platform_home / "offline")
    assert {src.path for src in d.data_sources} == {
        f"{offline}/telemetry_stats",
        f"{offline}/maintenance_history",
        f"{offline}/machine_attributes",
    }
    # A second load starts from the declarations again (relative paths), not from the first.
    assert store.load_definitions(features_home).data_sources[0].path.startswith(offline)


def test_reapplying_keeps_materialization_state(features_home):
    """feast-dev/feast#2905: re-applying must not reset what was materialized."""
    s = features_home
    compute_features(date(2026, 10, 1), date(2026, 10, 2), settings=s)
    fs = store.get_store(s)
    assert store.apply_definitions(s, fs)["changed"] is True
    assert store.apply_definitions(s, fs) == {
        "changed": False,
        "changes": [],
        "project": store.PROJECT,
    }
    store.materialize(date(2026, 10, 1), date(2026, 10, 2), settings=s, store=fs)

    def state():
        views = store.get_store(s).list_feature_views()
        return {fv.name: (fv.state.name, fv.materialization_intervals) for fv in views}

    before = state()
    assert all(name == "AVAILABLE_ONLINE" and len(iv) == 1 for name, iv in before.values())
    registry = (s.platform_home / "feature_repo" / "registry.db").stat().st_mtime_ns
    assert store.apply_definitions(s, store.get_store(s))["changed"] is False
    assert (s.platform_home / "feature_repo" / "registry.db").stat().st_mtime_ns == registry
    assert state() == before

    # A real change (a description) is applied, and the state still survives it.
    original = store._import_fresh

    def edited(directory):
        modules = original(directory)
        modules[2].telemetry_stats.description = "changed"
        return modules

    with mock.patch.object(store, "_import_fresh", edited):
        result = store.apply_definitions(s, store.get_store(s))
    assert result["changed"] is True
    assert {c["name"] for c in result["changes"]} == {"telemetry_stats"}
    assert state() == before
