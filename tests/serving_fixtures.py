"""Fixtures for the serving tests: a real registry (three versions) beside a real online store.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``). Built once per session:
the registry is :func:`tests.release_fixtures.release_registry`'s; the online store (SQLite) is
materialized from a generated shop floor of :data:`MACHINES` machines over :data:`DAYS` days, so
routing can be checked over many machine ids. :func:`serving_settings` points one settings
object at both; each test starts from no aliases (:func:`tests.release_fixtures.reset`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.release_fixtures import Registry, reset

START = date(2026, 10, 1)
DAYS = 2
MACHINES = 150


@dataclass
class ServingStack:
    """Settings on the shared registry and online store, and what is in them."""

    settings: Any
    registry: Registry
    machines: list[str]

    def fresh(self, folder: Path, **changes: Any) -> Any:
        """Settings of the stack with a test's own history and prediction tables."""
        return dataclasses.replace(
            self.settings,
            release_history_uri=str(folder / "history"),
            lake_uri=str(folder / "lake"),
            **changes,
        )

    def own_store(self, folder: Path, **changes: Any) -> Any:
        """Settings like :meth:`fresh` on a copy of the online store the test may break."""
        repo = folder / "feature_repo"
        shutil.copytree(self.settings.feature_repo_dir, repo)
        return self.fresh(
            folder, feature_repo_dir=repo, feast_registry=str(repo / "registry.db"), **changes
        )


class ListLog:
    """A prediction log that keeps rows in memory (thread-safe: list.extend is atomic)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.closed = False

    def append(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)

    def close(self) -> None:
        self.closed = True


def _online_home(root: Path) -> Any:
    """A PLATFORM_HOME with features of MACHINES machines materialized into SQLite."""
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.features import store
    from ml_tasks.features.compute import compute_features
    from ml_tasks.settings import get_settings

    previous = os.environ.get("PLATFORM_HOME")
    os.environ["PLATFORM_HOME"] = str(root / "platform")
    try:
        s = get_settings()
    finally:
        if previous is None:
            os.environ.pop("PLATFORM_HOME", None)
        else:
            os.environ["PLATFORM_HOME"] = previous
    end = START + timedelta(days=DAYS - 1)
    generate(
        START, DAYS, MACHINES, seed=5, bad_rate=0.0, interval_minutes=60, landing_dir=s.landing_dir
    )
    for i in range(DAYS):
        run_elt(START + timedelta(days=i), settings=s, run_id="serving-fixture")
    compute_features(START, end, settings=s)
    store.apply_definitions(s)
    store.materialize(START, end, settings=s)
    return s


@pytest.fixture(scope="session")
def serving_stack(
    release_registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> ServingStack:
    online = _online_home(tmp_path_factory.mktemp("serving"))
    reg = release_registry.settings
    settings = dataclasses.replace(
        online,
        mlflow_tracking_uri=reg.mlflow_tracking_uri,
        mlflow_registry_uri=reg.mlflow_registry_uri,
        mlflow_artifact_root=reg.mlflow_artifact_root,
        promotion_policy_path=reg.promotion_policy_path,
        gateway_poll_seconds=0.2,
        # The generated days lie in the past: nothing is stale unless a test says so.
        gateway_feature_max_age_hours=1e6,
    )
    from ml_tasks.features.online import OnlineFeatureReader

    machines = [
        m
        for m, f in OnlineFeatureReader.from_settings(settings)
        .get([f"M-{i:04d}" for i in range(1, MACHINES + 1)])
        .items()
        if f is not None
    ]
    assert len(machines) == MACHINES
    return ServingStack(settings=settings, registry=release_registry, machines=machines)


@pytest.fixture
def stack(serving_stack: ServingStack) -> Iterator[ServingStack]:
    """The session's stack with no aliases and no canary share set (each test sets its own)."""
    _clean(serving_stack)
    yield serving_stack
    _clean(serving_stack)


def _clean(stack: ServingStack) -> None:
    from ml_tasks.registry.aliases import TRAFFIC_TAG
    from ml_tasks.registry.models import client
    from tests.release_fixtures import MODEL

    reset(stack.registry)
    c = client(stack.registry.settings)
    if TRAFFIC_TAG in c.get_registered_model(MODEL).tags:
        c.delete_registered_model_tag(MODEL, TRAFFIC_TAG)
