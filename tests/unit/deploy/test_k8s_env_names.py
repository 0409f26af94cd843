"""The Kubernetes manifests use the settings' names, the same ones as compose (issue 17, 3).

That every PLATFORM_*/MLFLOW_*/RAY_*/AIRFLOW__* name under include/k8s is read by something is
checked with the other deployment files (test_env_names.py, rules in tests/deploy_names.py);
here: the manifests switch the platform's locations by the names compose uses, and a typo in
a manifest is caught.
"""

from __future__ import annotations

import pytest

from tests.deploy_names import K8S_DIR, k8s_files, names_in, unknown_names
from tests.unit.deploy.tools import COMPOSE_FILE

# The locations both deployments switch (RAY_ADDRESS and the metadata DB are compose-only: on
# Kubernetes each training run gets its own RayJob, and the Helm chart sets Airflow's database).
SHARED = (
    "PLATFORM_LAKE_URI", "PLATFORM_OFFLINE_STORE_URI", "PLATFORM_TRAINING_SETS_URI",
    "PLATFORM_REDIS_URL", "MLFLOW_TRACKING_URI", "PLATFORM_RAY_STORAGE_PATH",
    "PLATFORM_SEARCH_INDEX_URI", "PLATFORM_PSEUDONYM_KEY", "PLATFORM_GATEWAY_URL",
    "PLATFORM_PUSHGATEWAY_URL",
)  # fmt: skip


def test_the_manifests_are_all_checked():
    assert {p.name for p in k8s_files()} >= {
        "airflow-pod-template.yaml", "airflow-values.yaml", "platform-config.yaml",
        "airflow-rayjob-rbac.yaml",
        "task-resources.yaml", "rayjob-train.yaml", "raycluster-training.yaml",
        "rayservice-gateway.yaml",
    }  # fmt: skip


@pytest.mark.parametrize("name", SHARED)
def test_kubernetes_and_compose_switch_a_location_by_the_same_name(name):
    k8s = set().union(*(names_in(p) for p in k8s_files()))
    assert name in k8s, f"{name} is not set in include/k8s"
    assert name in names_in(COMPOSE_FILE), f"{name} is not set in docker-compose.yaml"


@pytest.mark.parametrize(
    ("real", "typo"),
    [
        ("PLATFORM_LAKE_URI:", "PLATFORM_LAKE_URL:"),
        ("MLFLOW_TRACKING_URI:", "MLFLOW_TRACKING_URL:"),
    ],
)
def test_a_typo_in_a_manifest_is_caught(tmp_path, real, typo):
    text = (K8S_DIR / "platform-config.yaml").read_text()
    assert real in text
    broken = tmp_path / "platform-config.yaml"
    broken.write_text(text.replace(real, typo))
    assert [p.split(":")[0] for p in unknown_names(names_in(broken))] == [typo.rstrip(":")]
