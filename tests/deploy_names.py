"""Which environment variable names a deployment file may set (issue 17 item 3), in one place.

Shared by the compose/.env.example/Dockerfile check (tests/unit/deploy/test_env_names.py) and the
Kubernetes one (tests/unit/deploy/test_k8s_env_names.py). Every ``PLATFORM_*``, ``MLFLOW_*``,
``RAY_*`` and ``AIRFLOW__*`` name is one that something reads, so a renamed setting cannot
silently drift from the deployment files:

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

from ml_tasks.settings import REPO_ROOT

NAME = re.compile(r"\b((?:PLATFORM|MLFLOW|RAY)_[A-Z0-9_]+|AIRFLOW__[A-Z0-9_]+)\b")
SETTINGS = REPO_ROOT / "ml_tasks" / "settings.py"
K8S_DIR = REPO_ROOT / "include" / "k8s"

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
# the cluster and its clients (Ray >= 2.52 reads both; `ray start` and `ray.init`), and Ray
# Train's health-check interval (the KubeRay manifests shorten it).
RAY_NATIVE = {
    "RAY_AUTH_MODE": "token authentication on (token) or off (disabled)",
    "RAY_AUTH_TOKEN": "the shared token, when RAY_AUTH_MODE=token",
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "how often Ray Train polls its workers (seconds)",
}


def string_literals(path: Path) -> set[str]:
    """Every string constant in a Python module (read with :mod:`ast`, nothing imported)."""
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@cache
def settings_names() -> frozenset[str]:
    return frozenset(s for s in string_literals(SETTINGS) if NAME.fullmatch(s))


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


def k8s_files(directory: Path = K8S_DIR) -> list[Path]:
    """The manifests and values files under ``include/k8s`` (the vendored CRD schemas excluded)."""
    return sorted(
        p for p in directory.rglob("*.yaml") if "schemas" not in p.relative_to(directory).parts
    )
