"""Per-task pod resources for the KubernetesExecutor: ``executor_config={"pod_override": ...}``.

The heavy tasks (training, drift, embeddings) ask for more CPU and memory than the default task
pod (``include/k8s/airflow-pod-template.yaml``). The sizes are a file, not code:
``include/k8s/task-resources.yaml`` (``PLATFORM_K8S_TASK_RESOURCES`` names another; checked by
:mod:`ml_tasks.deploy.task_resources`), one profile per kind of task. A DAG asks by name::

    @task(executor_config=executor_config("drift"))

Under any other executor (the embedded default, the LocalExecutor in compose) the result is
``{}``: no file is read and the ``kubernetes`` models are not imported, so parsing stays light.
Either way parsing touches no cluster: the override is a plain model object that the executor
merges into its pod template, container ``base`` by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_tasks.deploy.task_resources import BASE_CONTAINER, profile


def kubernetes_executor() -> bool:
    """Whether Airflow is configured with the KubernetesExecutor (alone or among several)."""
    from airflow.configuration import conf

    executors = conf.get("core", "executor", fallback="") or ""
    return any(e.strip().rsplit(".", 1)[-1] == "KubernetesExecutor" for e in executors.split(","))


def pod_override(name: str, path: Path | None = None) -> Any:
    """The ``V1Pod`` that sets the ``base`` container's requests and limits to profile ``name``."""
    from kubernetes.client import models as k8s

    values = profile(name, path)
    return k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name=BASE_CONTAINER,
                    resources=k8s.V1ResourceRequirements(
                        requests=values["requests"], limits=values["limits"]
                    ),
                )
            ]
        )
    )


def executor_config(name: str) -> dict[str, Any]:
    """``{"pod_override": ...}`` for profile ``name`` under the KubernetesExecutor, else ``{}``."""
    if not kubernetes_executor():
        return {}
    return {"pod_override": pod_override(name)}
