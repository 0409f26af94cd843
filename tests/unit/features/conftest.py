"""Fixtures for the feature-store tests: a small curated lake, fresh homes, a real Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

START = date(2026, 10, 1)
DAYS = 4
MACHINES = 6


def _settings_for(home: Path):
    from ml_tasks.settings import get_settings

    previous = os.environ.get("PLATFORM_HOME")
    os.environ["PLATFORM_HOME"] = str(home)
    try:
        return get_settings()
    finally:
        if previous is None:
            os.environ.pop("PLATFORM_HOME", None)
        else:
            os.environ["PLATFORM_HOME"] = previous


@pytest.fixture(scope="session")
def curated_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PLATFORM_HOME with 4 generated days x 6 machines run through the ELT (built once)."""
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt

    home = tmp_path_factory.mktemp("curated") / "platform"
    s = _settings_for(home)
    generate(
        START,
        DAYS,
        MACHINES,
        seed=11,
        bad_rate=0.04,
        interval_minutes=30,
        landing_dir=s.landing_dir,
    )
    for i in range(DAYS):
        run_elt(START + timedelta(days=i), settings=s, run_id="fixture")
    return home


@pytest.fixture
def features_home(curated_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh PLATFORM_HOME holding a copy of the curated lake; returns its settings."""
    home = tmp_path / "platform"
    shutil.copytree(curated_source, home)
    monkeypatch.setenv("PLATFORM_HOME", str(home))
    for name in ("PLATFORM_ONLINE_STORE", "PLATFORM_REDIS_URL", "PLATFORM_OFFLINE_STORE_URI"):
        monkeypatch.delenv(name, raising=False)
    from ml_tasks.settings import get_settings

    return get_settings()


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
