"""Every PLATFORM_*, MLFLOW_*, RAY_* and AIRFLOW__* name the deployment files set is one that
something reads, so a renamed setting cannot silently drift from compose, ``.env.example`` or the
Kubernetes manifests:

- a name ``ml_tasks/settings.py`` reads (the one place that resolves every URI);
- else one of the few names read elsewhere on purpose (:data:`READ_ELSEWHERE`, each checked in
  the module named);
- else a native variable of the tool itself: an Airflow option (``AIRFLOW__SECTION__KEY`` in
  Airflow's own configuration description), an MLflow variable (``mlflow.environment_variables``)
  or a Ray variable listed in :data:`RAY_NATIVE`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

from ml_tasks.settings import REPO_ROOT
from tests.unit.deploy.tools import COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE

NAME = re.compile(r"\b((?:PLATFORM|MLFLOW|RAY)_[A-Z0-9_]+|AIRFLOW__[A-Z0-9_]+)\b")
SETTINGS = REPO_ROOT / "ml_tasks" / "settings.py"

# The deployment files whose names must resolve (the Kubernetes manifests join this list).
DEPLOY_FILES: list[Path] = [COMPOSE_FILE, ENV_EXAMPLE, DOCKERFILE]

# Read outside ml_tasks/settings.py on purpose, by the module named.
READ_ELSEWHERE = {
    # A secret: kept out of the Settings object, which is printed and logged.
    "PLATFORM_PSEUDONYM_KEY": "ml_tasks/elt/pseudonymise.py",
    # The gate tasks' REST API login (Airflow adapters only; ml_tasks never calls Airflow).
    "PLATFORM_AIRFLOW_API_USER": "ml_platform_airflow/notes.py",
    "PLATFORM_AIRFLOW_API_PASSWORD": "ml_platform_airflow/notes.py",
    "PLATFORM_AIRFLOW_API_TOKEN": "ml_platform_airflow/notes.py",
    "PLATFORM_ALERT_WEBHOOK": "ml_tasks/alerts.py",
}

# Ray's own variables (Ray has no registry of them to check against): token authentication of
# the cluster and its clients (Ray >= 2.52 reads both; `ray start` and `ray.init`).
RAY_NATIVE = {
    "RAY_AUTH_MODE": "token authentication on (token) or off (disabled)",
    "RAY_AUTH_TOKEN": "the shared token, when RAY_AUTH_MODE=token",
}


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@cache
def settings_names() -> frozenset[str]:
    return frozenset(s for s in _string_literals(SETTINGS) if NAME.fullmatch(s))


@cache
def airflow_options() -> frozenset[str]:
    """``AIRFLOW__SECTION__KEY`` for every option of Airflow and its installed providers."""
    from airflow.configuration import conf

    return frozenset(
        f"AIRFLOW__{section.upper()}__{option.upper()}"
        for section, spec in conf.configuration_description.items()
        for option in spec.get("options", {})
    )


@cache
def mlflow_variables() -> frozenset[str]:
    import mlflow.environment_variables as variables

    return frozenset(
        value.name
        for value in vars(variables).values()
        if isinstance(getattr(value, "name", None), str)
    )


def unknown_names(names: Iterable[str]) -> list[str]:
    """The names that nothing reads, each with why."""
    problems = []
    for name in sorted(set(names)):
        if name in settings_names() or name in READ_ELSEWHERE:
            continue
        if name.startswith("AIRFLOW__"):
            if name not in airflow_options():
                problems.append(f"{name}: not an Airflow option nor read by ml_tasks/settings.py")
        elif name.startswith("MLFLOW_"):
            if name not in mlflow_variables():
                problems.append(f"{name}: not an MLflow variable nor read by ml_tasks/settings.py")
        elif name.startswith("RAY_"):
            if name not in RAY_NATIVE:
                problems.append(f"{name}: not in RAY_NATIVE nor read by ml_tasks/settings.py")
        else:
            problems.append(f"{name}: not read by ml_tasks/settings.py (nor READ_ELSEWHERE)")
    return problems


def names_in(path: Path) -> set[str]:
    """The names a deployment file sets or reads, comments included (they name settings too)."""
    return set(NAME.findall(path.read_text()))


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
        assert name in _string_literals(REPO_ROOT / module), f"{name} not read in {module}"


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
