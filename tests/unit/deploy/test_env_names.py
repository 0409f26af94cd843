"""Every PLATFORM_*, MLFLOW_*, RAY_* and AIRFLOW__* name the deployment files set is one that
something reads (the rules: tests/deploy_names.py, shared with the Kubernetes manifests' check),
so a renamed setting cannot silently drift from compose, ``.env.example``, the Dockerfile or the
Kubernetes manifests under include/k8s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_tasks.settings import REPO_ROOT
from tests.deploy_names import (
    READ_ELSEWHERE,
    k8s_files,
    names_in,
    settings_names,
    string_literals,
    unknown_names,
)
from tests.unit.deploy.tools import COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE

# The deployment files whose names must resolve.
DEPLOY_FILES: list[Path] = [COMPOSE_FILE, ENV_EXAMPLE, DOCKERFILE, *k8s_files()]


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_name_in_a_deployment_file_is_read(path: Path) -> None:
    names = names_in(path)
    assert names, f"no setting named in {path}"
    assert unknown_names(names) == []


def test_settings_read_the_uris_the_stack_switches() -> None:
    # One variable per URI (issue 17 item 3): they must stay in the settings module.
    for name in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "MLFLOW_TRACKING_URI", "PLATFORM_LAKE_URI",
        "PLATFORM_OFFLINE_STORE_URI", "PLATFORM_REDIS_URL", "RAY_ADDRESS",
        "PLATFORM_RAY_STORAGE_PATH", "PLATFORM_SEARCH_INDEX_URI",
    ):  # fmt: skip
        assert name in settings_names(), name


def test_names_read_elsewhere_are_read_there() -> None:
    for name, module in READ_ELSEWHERE.items():
        assert name in string_literals(REPO_ROOT / module), f"{name} not read in {module}"


def test_a_drifted_name_is_caught(tmp_path: Path) -> None:
    # Typos of real names, one per kind: each must be reported.
    drifted = tmp_path / "compose.yaml"
    drifted.write_text(
        "PLATFORM_LAKE_URL: s3://lake\nMLFLOW_TRACKING_URL: http://mlflow\n"
        "RAY_ADRESS: ray-head:6379\nAIRFLOW__CORE__EXECUTER: LocalExecutor\n"
    )
    problems = unknown_names(names_in(drifted))
    assert [p.split(":")[0] for p in problems] == [
        "AIRFLOW__CORE__EXECUTER", "MLFLOW_TRACKING_URL", "PLATFORM_LAKE_URL", "RAY_ADRESS",
    ]  # fmt: skip
