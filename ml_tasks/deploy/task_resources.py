"""The per-task pod sizes of the Kubernetes path (``include/k8s/task-resources.yaml``).

One profile per kind of heavy task (training, drift, embeddings): the requests and limits of the
task pod's ``base`` container. ``ml_platform_airflow.resources`` turns a profile into the
KubernetesExecutor's ``pod_override``; :mod:`ml_tasks.deploy.k8s_validate` checks the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_tasks.settings import get_settings

# The container the KubernetesExecutor runs the task in (its pod template must name it so).
BASE_CONTAINER = "base"


class TaskResourcesError(ValueError):
    """A task-resources file without the profile asked for, or with an invalid profile."""


def load_profiles(path: Path | None = None) -> dict[str, Any]:
    """The profiles of a task-resources file: name -> ``{"requests": {...}, "limits": {...}}``."""
    import yaml

    path = path or get_settings().k8s_task_resources_path
    profiles = (yaml.safe_load(Path(path).read_text()) or {}).get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise TaskResourcesError(f"{path}: no `profiles` mapping")
    return profiles


def profile_problems(profile: Any, name: str) -> list[str]:
    """What is wrong with one profile: cpu and memory in both requests and limits, parseable
    quantities, and no request above its limit."""
    from kubernetes.utils import parse_quantity

    if not isinstance(profile, dict) or set(profile) - {"requests", "limits"}:
        return [f"profile {name}: only `requests` and `limits` are allowed"]
    problems = []
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        values = profile.get(kind) or {}
        missing = [r for r in ("cpu", "memory") if r not in values]
        if missing:
            problems.append(f"profile {name}: {kind} must set {' and '.join(missing)}")
        parsed[kind] = {}
        for key, value in values.items():
            try:
                parsed[kind][key] = parse_quantity(str(value))
            except ValueError:
                problems.append(f"profile {name}: bad {kind}.{key} {value!r}")
    for key, value in parsed["requests"].items():
        if key in parsed["limits"] and value > parsed["limits"][key]:
            problems.append(f"profile {name}: requests.{key} above its limit")
    return problems


def profile(name: str, path: Path | None = None) -> dict[str, dict[str, str]]:
    """One valid profile, quantities as strings; :class:`TaskResourcesError` otherwise."""
    profiles = load_profiles(path)
    if name not in profiles:
        raise TaskResourcesError(f"no task-resources profile {name!r} ({sorted(profiles)})")
    problems = profile_problems(profiles[name], name)
    if problems:
        raise TaskResourcesError("; ".join(problems))
    return {
        kind: {k: str(v) for k, v in (profiles[name].get(kind) or {}).items()}
        for kind in ("requests", "limits")
    }
