"""Per-task pod sizes: the heavy tasks carry a pod_override under the KubernetesExecutor only,
and the pod the executor builds from the template and the override is a valid task pod."""

from __future__ import annotations

import json

import pytest
import yaml

from ml_tasks.deploy import k8s_validate, task_resources

# The heavy tasks and their profiles (include/k8s/task-resources.yaml).
HEAVY_TASKS = {
    "train_failure_model": {"build_training_set": "training", "train_on_ray": "training"},
    "monitor_drift": {"check_drift": "drift"},
    "refresh_embeddings": {"embed_changes": "embeddings"},
}


@pytest.fixture
def kubernetes_executor(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "KubernetesExecutor")


def _resources(pod) -> dict:
    (container,) = pod.spec.containers
    assert container.name == "base"
    return {"requests": container.resources.requests, "limits": container.resources.limits}


def test_no_override_under_other_executors(monkeypatch):
    from ml_platform_airflow.resources import executor_config

    for executor in ("LocalExecutor", "CeleryExecutor", ""):
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
        assert executor_config("training") == {}
    # Not even read: a missing file does not matter to the embedded default.
    monkeypatch.setenv("PLATFORM_K8S_TASK_RESOURCES", "/nonexistent/task-resources.yaml")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    assert executor_config("training") == {}


@pytest.mark.parametrize(
    "executor",
    [
        "KubernetesExecutor",
        "LocalExecutor,KubernetesExecutor",
        "airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor",
    ],
)
def test_the_override_sizes_the_base_container_from_the_file(monkeypatch, executor):
    from ml_platform_airflow.resources import executor_config

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    config = executor_config("drift")
    assert _resources(config["pod_override"]) == task_resources.profile("drift")


def test_the_file_is_taken_from_settings(tmp_path, monkeypatch, kubernetes_executor):
    from ml_platform_airflow.resources import executor_config

    mine = {"requests": {"cpu": "1", "memory": "3Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}}
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump({"profiles": {"drift": mine}}))
    monkeypatch.setenv("PLATFORM_K8S_TASK_RESOURCES", str(path))
    assert _resources(executor_config("drift")["pod_override"]) == mine
    with pytest.raises(task_resources.TaskResourcesError, match="no task-resources profile"):
        executor_config("training")
    mine["requests"]["memory"] = "9Gi"
    path.write_text(yaml.safe_dump({"profiles": {"drift": mine}}))
    with pytest.raises(task_resources.TaskResourcesError, match=r"requests\.memory above"):
        executor_config("drift")


def test_the_override_survives_dag_serialization(kubernetes_executor):
    """What the DAG processor stores and the scheduler hands to the executor."""
    from airflow.serialization.serialized_objects import BaseSerialization

    from ml_platform_airflow.resources import executor_config

    stored = json.loads(json.dumps(BaseSerialization.serialize(executor_config("embeddings"))))
    back = BaseSerialization.deserialize(stored)
    assert _resources(back["pod_override"]) == task_resources.profile("embeddings")


def test_the_executor_merges_the_override_into_a_valid_task_pod(kubernetes_executor):
    """The provider's own merge (PodGenerator.reconcile_pods) of template and override."""
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    from ml_platform_airflow.resources import executor_config

    template = PodGenerator.deserialize_model_file(str(k8s_validate.POD_TEMPLATE))
    for name in task_resources.load_profiles():
        merged = PodGenerator.reconcile_pods(template, executor_config(name)["pod_override"])
        body = ApiClient().sanitize_for_serialization(merged)
        (container,) = body["spec"]["containers"]
        assert {k: container["resources"][k] for k in ("requests", "limits")} == (
            task_resources.profile(name)
        )
        # The template's image, settings and volumes are kept.
        assert container["envFrom"][0] == {"configMapRef": {"name": "ml-platform-config"}}
        assert {v["name"] for v in body["spec"]["volumes"]} >= {"data", "airflow-config"}
        assert k8s_validate.builtin_problems(body, name) == []
        assert k8s_validate.task_pod_problems(body, name) == []


def test_the_heavy_tasks_of_the_dags_carry_their_profile(kubernetes_executor):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dag_fixtures import DAGS_DIR

    for dag_id, tasks in HEAVY_TASKS.items():
        bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"))
        assert bag.import_errors == {}
        dag = bag.dags[dag_id]
        for task in dag.tasks:
            override = (task.executor_config or {}).get("pod_override")
            if task.task_id in tasks:
                assert _resources(override) == task_resources.profile(tasks[task.task_id])
            else:
                assert override is None, f"{dag_id}.{task.task_id} has a pod_override"
