"""Fixtures for evaluation and release tests: one MLflow registry with three versions.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``). Registering costs
seconds (the first registry call creates the MLflow database), so the session shares one
registry; each test starts from :func:`reset` (no aliases, no audit tags) and passes its own
``settings`` (its own history table) explicitly.

- v1 ``good``: trained without the vibration features (a sound model that ignores one sensor);
- v2 ``better``: trained on every feature;
- v3 ``worse``: trained on shuffled labels (learned nothing), same training set and lineage.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.model_fixtures import make_training_set, train_and_register

MODEL = "failure_model"
# The real policy with cheaper evaluation knobs (no threshold changed): fewer timed latency
# calls and bootstrap resamples keep an evaluation at a few seconds on two shared cores.
CHEAP_EVALUATION = {
    "latency_calls: 200": "latency_calls: 20",
    "bootstrap_samples: 200": "bootstrap_samples: 60",
}


@dataclass
class Registry:
    settings: Any
    training_set: Any
    good: str
    better: str
    worse: str
    policy_path: Path

    def for_test(self, folder: Path) -> Any:
        """Settings with a history table of the test's own."""
        return dataclasses.replace(self.settings, release_history_uri=str(folder / "history"))


def cheap_policy(folder: Path, replace: dict[str, str] | None = None) -> Path:
    """A copy of include/policies/promotion.yaml with cheap evaluation knobs (and ``replace``)."""
    from ml_tasks.settings import REPO_ROOT

    text = (REPO_ROOT / "include" / "policies" / "promotion.yaml").read_text()
    for old, new in {**CHEAP_EVALUATION, **(replace or {})}.items():
        assert old in text, f"{old!r} is not in the policy file"
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "promotion.yaml"
    path.write_text(text)
    return path


def reset(registry: Registry) -> None:
    """No aliases and no audit tags on the model (each test builds the state it needs)."""
    from ml_tasks.registry.history import TAG_PREFIX
    from ml_tasks.registry.models import aliases, client

    c = client(registry.settings)
    for alias in aliases(c, MODEL):
        c.delete_registered_model_alias(MODEL, alias)
    for key in c.get_registered_model(MODEL).tags:
        if key.startswith(TAG_PREFIX):
            c.delete_registered_model_tag(MODEL, key)


@pytest.fixture(scope="session")
def release_registry(tmp_path_factory) -> Registry:
    return _build_registry(tmp_path_factory)


def _build_registry(tmp_path_factory: Any) -> Registry:
    from ml_platform_demo.synthetic_training import feature_names
    from ml_tasks.settings import get_settings

    root = tmp_path_factory.mktemp("release_registry")
    saved = {k: os.environ.get(k) for k in ("PLATFORM_HOME", "PLATFORM_PROMOTION_POLICY")}
    os.environ["PLATFORM_HOME"] = str(root / "platform")
    policy = cheap_policy(root / "policy")
    os.environ["PLATFORM_PROMOTION_POLICY"] = str(policy)
    try:
        settings = get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    ref = make_training_set(root / "training_set")
    no_vibration = [f for f in feature_names() if not f.startswith("vibration_mm_s")]
    good = train_and_register(ref, run_id="good", settings=settings, features=no_vibration)
    better = train_and_register(ref, run_id="better", settings=settings)
    worse = train_and_register(ref, run_id="worse", settings=settings, shuffle_labels=True)
    return Registry(
        settings=settings,
        training_set=ref,
        good=good["version"],
        better=better["version"],
        worse=worse["version"],
        policy_path=policy,
    )


def set_aliases(registry: Registry, **versions: str) -> None:
    """Point aliases straight at versions (test set-up: not recorded in any history)."""
    from ml_tasks.registry.models import client

    c = client(registry.settings)
    for alias, version in versions.items():
        c.set_registered_model_alias(MODEL, alias, version)


@pytest.fixture(scope="session")
def evaluations(release_registry: Registry) -> dict[str, dict]:
    """Each version evaluated once against the champion it would meet in the release story:
    good with no champion, better against good, worse against better."""
    from ml_tasks.evaluation.pipeline import evaluate_version
    from ml_tasks.evaluation.records import load_evaluation

    reg = release_registry
    out: dict[str, dict] = {}
    for name, champion in (("good", None), ("better", "good"), ("worse", "better")):
        reset(reg)
        if champion:
            set_aliases(reg, champion=getattr(reg, champion))
        version = getattr(reg, name)
        evaluate_version(version, settings=reg.settings)
        out[name] = load_evaluation(MODEL, version, reg.settings)
    reset(reg)
    return out
