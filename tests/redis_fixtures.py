"""Fixtures for the Redis online-store tests: a real redis-server for the session.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``); only the tests that
ask for ``redis_server`` or ``redis_home`` start the server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def in_ci() -> bool:
    """True where the ``CI`` environment variable is set to anything but false/0/empty."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def redis_binary() -> str:
    """The redis-server binary; skip without it, but fail in CI, where a skip would hide that
    the Redis online store was never tested (``.ci/run`` installs it and sets ``CI``)."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    reason = "redis-server not installed (apt-get install -y redis-server)"
    if in_ci():
        pytest.fail(f"{reason}: the Redis online-store tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for the session; its URL.

    Skipped, with the reason, where the binary is missing, except in CI (see
    :func:`redis_binary`).
    """
    binary = redis_binary()
    if not in_ci():
        pytest.importorskip("redis", reason="the redis client package is not installed")
    import redis  # in CI a missing client package is an error, not a skip

    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_home(features_home, redis_server: str, monkeypatch: pytest.MonkeyPatch):
    """``features_home`` with the online store on the real Redis (flushed first)."""
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    monkeypatch.setenv("PLATFORM_REDIS_URL", redis_server)
    from ml_tasks.settings import get_settings

    s = get_settings()
    assert s.online_store == "redis"
    return s
