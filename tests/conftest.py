"""Test session set-up: an isolated embedded platform, configured before Airflow is imported.

Tests live in layers, one folder each, and get the layer's marker from their folder
(``pytest -m unit``, ``-m component``, ``-m integration``; ``make unit|component|integration``):

- ``unit`` (``tests/unit``, ``tests/dags``): pure logic and DAG parsing; no servers, seconds;
- ``component`` (``tests/component``): one stage against its real engines (Ray, MLflow's
  registry, Redis, Feast, the MiniLM model, Evidently), without Airflow;
- ``integration`` (``tests/integration``): real Airflow ``dag.test()`` runs and the scheduler;
- ``stack`` (``tests/stack``): the production stack's real servers on loopback
  (``make test-stack``).

The shared fixtures are registered once here (``pytest_plugins``) instead of imported per file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.feature_fixtures",
    "tests.monitoring_fixtures",
    "tests.observability_fixtures",
    "tests.ray_fixtures",
    "tests.redis_fixtures",
    "tests.release_fixtures",
    "tests.serving_fixtures",
]

TESTS = Path(__file__).resolve().parent
# The first folder under tests/ names the layer.
LAYERS = {
    "unit": "unit",
    "dags": "unit",
    "component": "component",
    "integration": "integration",
    "stack": "stack",
}


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its layer; a test outside the layer folders is an error."""
    for item in items:
        path = Path(item.path).resolve()
        if not path.is_relative_to(TESTS):
            continue  # a file passed from elsewhere: not part of this suite's layers
        layer = LAYERS.get(path.relative_to(TESTS).parts[0])
        if layer is None:
            folders = ", ".join(f"tests/{name}" for name in LAYERS)
            raise pytest.UsageError(f"{item.nodeid}: a test belongs in one layer ({folders})")
        item.add_marker(getattr(pytest.mark, layer))
