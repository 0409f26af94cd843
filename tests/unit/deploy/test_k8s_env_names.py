"""Every environment variable the Kubernetes manifests set is read by something (issue 17, 3).

A name in include/k8s/* must be one ml_tasks/settings.py reads, or a listed native name of
Airflow, MLflow, Ray or the AWS SDK (tests/deploy_names.py, shared with the compose check).
"""

from __future__ import annotations

import pytest

from tests import deploy_names

FILES = deploy_names.k8s_files()


def test_the_settings_names_are_read_from_the_source():
    names = deploy_names.settings_names()
    assert {"PLATFORM_LAKE_URI", "MLFLOW_TRACKING_URI", "PLATFORM_K8S_TASK_RESOURCES"} <= names
    assert {"RAY_ADDRESS", "PLATFORM_REDIS_URL", "AWS_ENDPOINT_URL"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_name_a_manifest_sets_is_known(path):
    assert deploy_names.unknown_names(deploy_names.file_env_names(path)) == []


def test_the_manifests_set_the_platform_locations():
    """The check sees the names where they are: the ConfigMap, container env, values, Ray env."""
    found = set().union(*(deploy_names.file_env_names(p) for p in FILES))
    assert {
        "PLATFORM_LAKE_URI", "PLATFORM_OFFLINE_STORE_URI", "PLATFORM_FEAST_REGISTRY",
        "PLATFORM_REDIS_URL", "MLFLOW_TRACKING_URI", "PLATFORM_RAY_STORAGE_PATH",
        "PLATFORM_SEARCH_INDEX_URI", "PLATFORM_TRAINING_USE_GPU",
    } <= found  # fmt: skip


@pytest.mark.parametrize(
    "doc",
    [
        # A typo in each place a name can stand.
        {"kind": "ConfigMap", "data": {"PLATFORM_LAKE_URL": "s3://x"}},
        {"spec": {"containers": [{"env": [{"name": "MLFLOW_TRACKING_URL", "value": "x"}]}]}},
        {"secret": [{"envName": "PLATFORM_REDIS_URI", "secretName": "s", "secretKey": "k"}]},
        {"spec": {"runtimeEnvYAML": "env_vars:\n  PLATFORM_RAY_STORAGE: s3://x\n"}},
        {"podTemplate": "spec:\n  containers:\n    - env: [{name: AIRFLOW_CORE_EXECUTOR}]\n"},
    ],
)
def test_an_unknown_name_is_reported(doc):
    names = set(deploy_names.k8s_env_names(doc))
    assert len(names) == 1
    assert deploy_names.unknown_names(names) == sorted(names)


def test_native_names_pass_and_airflow_config_names_need_section_and_key():
    assert deploy_names.unknown_names(["AWS_SECRET_ACCESS_KEY", "AIRFLOW__CORE__PARALLELISM"]) == []
    assert deploy_names.unknown_names(["AIRFLOW__PARALLELISM"]) == ["AIRFLOW__PARALLELISM"]


def test_a_broken_shipped_manifest_fails_the_check(tmp_path):
    text = (deploy_names.REPO_ROOT / "include/k8s/platform-config.yaml").read_text()
    broken = tmp_path / "platform-config.yaml"
    broken.write_text(text.replace("PLATFORM_LAKE_URI:", "PLATFORM_LAKE_URL:"))
    assert deploy_names.unknown_names(deploy_names.file_env_names(broken)) == ["PLATFORM_LAKE_URL"]
