"""Fixtures for the feature tests: a small curated lake and fresh feature homes.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``); the curated lake is
built once per session and copied into each test's own ``PLATFORM_HOME``.
"""

from __future__ import annotations

import os
import shutil
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
    for name in (
        "PLATFORM_ONLINE_STORE",
        "PLATFORM_REDIS_URL",
        "PLATFORM_OFFLINE_STORE_URI",
        "PLATFORM_OFFLINE_ENGINE",
    ):
        monkeypatch.delenv(name, raising=False)
    from ml_tasks.settings import get_settings

    return get_settings()
