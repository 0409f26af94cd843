"""The environment variable names the deployment files set, checked against the code (issue 17).

One helper for every deployment format (compose, ``.env.example``, the Kubernetes manifests and
Helm values under ``include/k8s``): a name a deployment sets must be one that
``ml_tasks/settings.py`` reads, or a listed name that a service reads natively (Airflow, MLflow,
Ray, the AWS SDK, Postgres, ...). A typo in a manifest (``PLATFORM_LAKE_URL``) would otherwise be
silently ignored and the pod would fall back to the embedded default.

The settings' names are read from the source with :mod:`ast` (every upper-case string constant:
the names passed to ``_env``/``_int``/``_flag``/``os.environ``), so nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PY = REPO_ROOT / "ml_tasks" / "settings.py"
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Airflow reads any AIRFLOW__<SECTION>__<KEY> as configuration (its documented convention).
AIRFLOW_CONFIG = re.compile(r"^AIRFLOW__[A-Z0-9_]+__[A-Z0-9_]+$")
# Names the services read themselves (not through ml_tasks.settings), each listed on purpose.
NATIVE = {
    # Airflow (besides AIRFLOW__SECTION__KEY) and its official image / compose quick-start.
    "AIRFLOW_HOME", "AIRFLOW_UID", "AIRFLOW_VERSION", "_AIRFLOW_DB_MIGRATE",
    "_AIRFLOW_WWW_USER_CREATE", "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD",
    "_PIP_ADDITIONAL_REQUIREMENTS",
    # MLflow client and server.
    "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_S3_ENDPOINT_URL",
    "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_SERVER_ALLOWED_HOSTS",
    # Ray.
    "RAY_ADDRESS", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "RAY_DEDUP_LOGS", "RAY_USAGE_STATS_ENABLED",
    # The AWS SDKs and delta-rs / object_store (S3-compatible storage).
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ALLOW_HTTP",
    "AWS_S3_ALLOW_UNSAFE_RENAME", "AWS_CONDITIONAL_PUT",
    # Postgres images and MinIO.
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PGDATA",
    "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
    # Processes in general.
    "PYTHONUNBUFFERED", "TZ", "HOME",
}  # fmt: skip


def settings_names(path: Path = SETTINGS_PY) -> set[str]:
    """Every environment variable name ``ml_tasks/settings.py`` mentions (upper-case literals)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _NAME.match(node.value)
        and "_" in node.value
    }


def is_known(name: str, known: set[str] | None = None) -> bool:
    """Whether a deployment may set ``name``: the settings read it or a service does natively."""
    known = settings_names() if known is None else known
    return name in known or name in NATIVE or bool(AIRFLOW_CONFIG.match(name))


def unknown_names(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that nothing reads, sorted (empty when all are known)."""
    known = settings_names()
    return sorted({n for n in names if not is_known(n, known)})


def _runtime_env_names(text: str) -> list[str]:
    """``env_vars`` of a RayJob's ``runtimeEnvYAML`` (a YAML string inside the manifest)."""
    import yaml

    env = yaml.safe_load(text or "") or {}
    env_vars = env.get("env_vars") if isinstance(env, dict) else None
    return [str(k) for k in env_vars] if isinstance(env_vars, dict) else []


def k8s_env_names(node: Any) -> Iterator[str]:
    """Every environment variable name a Kubernetes document or Helm values file sets.

    Container ``env`` lists (``name``), a ConfigMap's ``data`` keys (the platform's ConfigMap is
    mounted whole with ``envFrom``), Helm values' ``secret[].envName`` and ``env`` lists, and the
    ``env_vars`` of a RayJob's ``runtimeEnvYAML``.
    """
    if isinstance(node, list):
        for item in node:
            yield from k8s_env_names(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("kind") == "ConfigMap" and isinstance(node.get("data"), dict):
        yield from (str(k) for k in node["data"])
    for key, value in node.items():
        if key == "env" and isinstance(value, list):
            yield from (str(i["name"]) for i in value if isinstance(i, dict) and "name" in i)
        elif key == "envName" and isinstance(value, str):
            yield value
        elif key == "runtimeEnvYAML" and isinstance(value, str):
            yield from _runtime_env_names(value)
        elif key in ("podTemplate", "extraEnv") and isinstance(value, str) and value.strip():
            # Helm values that hold YAML as a string.
            import yaml

            yield from k8s_env_names(yaml.safe_load(value))
        else:
            yield from k8s_env_names(value)


def k8s_files(directory: Path = REPO_ROOT / "include" / "k8s") -> list[Path]:
    """The manifests and values files under ``include/k8s`` (the vendored schemas excluded)."""
    return sorted(
        p for p in directory.rglob("*.yaml") if "schemas" not in p.relative_to(directory).parts
    )


def file_env_names(path: Path) -> set[str]:
    """Every environment variable name a (multi-document) YAML file under include/k8s sets."""
    import yaml

    names: set[str] = set()
    for doc in yaml.safe_load_all(path.read_text()):
        names.update(k8s_env_names(doc))
    return names
