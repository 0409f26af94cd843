"""Test session set-up: an isolated embedded platform, configured before Airflow is imported."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Airflow reads its configuration at import: point it at a throw-away home first.
    root = Path(tempfile.mkdtemp(prefix="mlp-tests-"))
    os.environ["PLATFORM_HOME"] = str(root / "platform")
    os.environ["AIRFLOW_HOME"] = str(root / "airflow")
    os.environ["PLATFORM_PSEUDONYM_KEY"] = "test-key-not-a-secret"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    from ml_tasks.settings import airflow_env

    os.environ.update(airflow_env())


@pytest.fixture
def platform_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh PLATFORM_HOME for one test; returns its resolved settings."""
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    return get_settings()
