"""The Redis fixture: a missing redis-server skips on a laptop but fails in CI."""

from __future__ import annotations

import shutil

import pytest

from tests.redis_fixtures import redis_binary


@pytest.fixture
def no_redis_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_a_missing_redis_server_fails_in_ci(no_redis_server, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        redis_binary()


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_a_missing_redis_server_skips_outside_ci(no_redis_server, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="redis-server not installed"):
        redis_binary()


def test_the_binary_is_found_on_path(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/opt/bin/{name}")
    monkeypatch.setenv("CI", "true")
    assert redis_binary() == "/opt/bin/redis-server"
