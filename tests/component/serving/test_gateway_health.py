"""Bad days: the online store or the registry goes away and comes back; flags on answers."""

from __future__ import annotations

import sqlite3

import pytest

from ml_tasks.serving.gateway import REGISTRY_FAILURES, Gateway, GatewayUnavailable
from tests.release_fixtures import set_aliases
from tests.serving_fixtures import ListLog


def test_store_down_answers_503_with_the_reason_then_recovers(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    settings = stack.own_store(tmp_path)
    db = settings.feature_repo_dir / "online_store.db"
    machine = stack.machines[0]
    with Gateway(settings, prediction_log=ListLog(), poll=False) as gw:
        before = gw.predict([machine]).answers[0]
        original = db.read_bytes()
        db.write_bytes(b"not a database " * 512)  # in place: the open connection sees it
        try:
            with pytest.raises(GatewayUnavailable, match="online store unavailable"):
                gw.predict([machine])
            ready, reason = gw.readiness()
            assert not ready and reason.startswith("online store unavailable")
        finally:
            db.write_bytes(original)
        assert gw.readiness() == (True, None)
        assert gw.predict([machine]).answers[0] == before


def test_a_missing_store_file_is_unavailable_until_it_exists(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    settings = stack.own_store(tmp_path)
    db = settings.feature_repo_dir / "online_store.db"
    moved = db.with_name("elsewhere.db")
    db.rename(moved)
    with Gateway(settings, prediction_log=ListLog(), poll=False) as gw:
        with pytest.raises(GatewayUnavailable, match="online store unavailable: no online store"):
            gw.predict([stack.machines[0]])
        moved.rename(db)
        assert gw.predict([stack.machines[0]]).answers[0]["status"] == 200


def test_registry_unreachable_keeps_serving_then_goes_unready_and_recovers(
    stack, tmp_path, monkeypatch
):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    set_aliases(stack.registry, champion=stack.registry.better)
    machine = stack.machines[0]
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
        loader = gw.loader
        assert loader is not None
        real = loader.client
        loader.client = MlflowClient(
            tracking_uri="http://127.0.0.1:9", registry_uri="http://127.0.0.1:9"
        )
        for failed in range(1, REGISTRY_FAILURES + 1):
            with pytest.raises(GatewayUnavailable, match="registry unreachable"):
                gw.reload("poll")
            if failed < REGISTRY_FAILURES:  # the loaded table still serves
                assert gw.predict([machine]).answers[0]["model_version"] == stack.registry.better
        ready, reason = gw.readiness()
        assert not ready and "registry unreachable since" in reason
        assert "cannot honour an alias move or rollback" in reason
        with pytest.raises(GatewayUnavailable, match="registry unreachable since"):
            gw.predict([machine])
        loader.client = real
        gw.reload("poll")
        assert gw.readiness() == (True, None)
        assert gw.predict([machine]).answers[0]["status"] == 200


def test_stale_features_and_a_silent_sensor_are_scored_and_flagged(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    settings = stack.own_store(tmp_path, gateway_feature_max_age_hours=1.0)
    silent, other = stack.machines[5], stack.machines[6]
    with Gateway(settings, prediction_log=ListLog(), poll=False) as gw:
        key = gw.features._get_reader().entity_key(silent)
        con = sqlite3.connect(settings.feature_repo_dir / "online_store.db")
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        with con:
            for table in tables:
                con.execute(
                    f'DELETE FROM "{table}" WHERE entity_key = ? AND feature_name LIKE ? '
                    "AND feature_name NOT LIKE ?",
                    (key, "vibration_mm_s_%", "%out_of_range%"),
                )
        con.close()
        flagged, clean = gw.predict([silent, other]).answers
    assert flagged["status"] == 200 and 0.0 <= flagged["probability"] <= 1.0
    assert flagged["missing_sensors"] == ["vibration_mm_s"]
    assert clean["missing_sensors"] == []
    # The generated days lie weeks back: older than one hour.
    assert flagged["stale"] and clean["stale"]
    assert flagged["feature_timestamp"].startswith("2026-10-02")


def test_a_model_without_the_sensor_has_nothing_missing(stack, tmp_path):
    # v "good" was trained without the vibration features: a silent vibration sensor is no
    # missing input for it.
    set_aliases(stack.registry, champion=stack.registry.good)
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
        model = gw.table.champion
        assert model is not None and "vibration_mm_s" not in model.sensor_columns
        assert set(model.sensor_columns) == {
            "temperature_c",
            "pressure_bar",
            "rotation_rpm",
            "power_kw",
        }


def test_redis_down_is_unavailable_until_it_answers(stack, tmp_path):
    import subprocess
    import time

    import redis

    from tests.redis_fixtures import _free_port, redis_binary

    set_aliases(stack.registry, champion=stack.registry.better)
    port = _free_port()
    settings = stack.own_store(
        tmp_path, online_store="redis", redis_url=f"redis://127.0.0.1:{port}/0"
    )
    with Gateway(settings, prediction_log=ListLog(), poll=False) as gw:
        with pytest.raises(GatewayUnavailable, match="online store unavailable"):
            gw.predict([stack.machines[0]])
        assert not gw.readiness()[0]
        proc = subprocess.Popen(
            [redis_binary(), "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    redis.Redis(port=port).ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            assert gw.readiness() == (True, None)
            # An empty Redis: the store answers, the machine is unknown to it.
            assert gw.predict([stack.machines[0]]).answers[0]["status"] == 404
        finally:
            proc.terminate()
            proc.wait(timeout=10)
