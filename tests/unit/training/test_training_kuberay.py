"""KubeRay manifests: they validate against the kubernetes models and keep the spot/GPU policy."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml

from ml_tasks.training import kuberay
from ml_tasks.training.spec import SplitSpec, TrainConfig, TrainingPlan, TrainingSetRef
from tests.helpers import DELETE, set_path

SPOT = {"karpenter.sh/capacity-type": "spot"}


@pytest.fixture
def plan():
    return TrainingPlan(
        run_name="failure_model__scheduled__2026-10-31T03_00_00_00_00__ts-12__0123456789",
        storage_path="s3://ml-platform/ray_results",
        training_set=TrainingSetRef(path="s3://ml-platform/training_sets/v0012", version="12"),
        config=TrainConfig(workers=3, cpus_per_worker=7, use_gpu=True),
        features=("temperature_c_mean_1h",),
        split=SplitSpec(0, 1, 2, 3, 10, 5, 0, 1, 1),
        run_id="scheduled__2026-10-31T03:00:00+00:00",
    )


@pytest.fixture
def rayjob(plan, platform_home):
    return kuberay.render_rayjob(plan, settings=platform_home, image="registry/ml:1.2.3")


def _workers(body):
    return kuberay._cluster_spec(body)["workerGroupSpecs"][0]


@pytest.mark.parametrize("path", [kuberay.RAYJOB_TEMPLATE, kuberay.RAYCLUSTER_MANIFEST])
def test_shipped_manifests_are_valid_and_follow_the_spot_gpu_policy(path):
    body = kuberay.load_manifest(path)
    assert kuberay.manifest_problems(body) == []
    assert kuberay.spot_gpu_problems(body) == []
    kuberay.validate(body)


def test_rendered_rayjob_is_this_runs_job_on_spot_gpus(rayjob, plan):
    kuberay.validate(rayjob)
    assert rayjob["kind"] == "RayJob" and rayjob["metadata"]["name"] == plan.k8s_name
    assert rayjob["metadata"]["annotations"]["ml-platform/ray-run-name"] == plan.run_name
    spec = rayjob["spec"]
    assert spec["entrypoint"] == f"python -m ml_tasks train --plan {plan.plan_uri}"
    assert spec["shutdownAfterJobFinishes"] is True and spec["backoffLimit"] >= 1
    env = yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]
    assert env["PLATFORM_RAY_STORAGE_PATH"] == "s3://ml-platform/ray_results"
    assert env["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] == "0.2"
    cluster = spec["rayClusterSpec"]
    assert cluster["enableInTreeAutoscaling"] is True

    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    assert head["template"]["spec"]["nodeSelector"] == {"karpenter.sh/capacity-type": "on-demand"}

    workers = _workers(rayjob)
    assert (workers["minReplicas"], workers["replicas"], workers["maxReplicas"]) == (0, 3, 8)
    pod = workers["template"]["spec"]
    assert SPOT.items() <= pod["nodeSelector"].items()
    tolerations = {(t["key"], t.get("value"), t["effect"]) for t in pod["tolerations"]}
    assert ("nvidia.com/gpu", None, "NoSchedule") in tolerations
    assert ("karpenter.sh/capacity-type", "spot", "NoSchedule") in tolerations
    (container,) = pod["containers"]
    assert container["image"] == "registry/ml:1.2.3"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert {"name": "PLATFORM_RAY_STORAGE_PATH", "value": plan.storage_path} in container["env"]
    # The Ray workers fit the pods: one GPU each, CPUs for XGBoost plus Ray's own.
    shape = kuberay.worker_shape(rayjob)
    assert shape == {"cpus": 8, "gpus": 1} and plan.config.cpus_per_worker < shape["cpus"]


def test_more_workers_than_the_template_allows_raise_the_autoscaling_bound(plan, platform_home):
    from dataclasses import replace

    big = replace(plan, config=replace(plan.config, workers=12))
    body = kuberay.validate(kuberay.render_rayjob(big, settings=platform_home))
    assert (_workers(body)["replicas"], _workers(body)["maxReplicas"]) == (12, 12)


def test_local_storage_cannot_go_to_kubernetes(plan, platform_home):
    from dataclasses import replace

    with pytest.raises(kuberay.ManifestError, match="local path"):
        kuberay.render_rayjob(replace(plan, storage_path="/tmp/ray"), settings=platform_home)


W = ("spec", "rayClusterSpec", "workerGroupSpecs", 0)
WPOD = (*W, "template", "spec")
WC = (*WPOD, "containers", 0)
HEAD = ("spec", "rayClusterSpec", "headGroupSpec", "template", "spec")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ((*WC, "resourcse"), {}, "resourcse: unknown or invalid field"),
        ((*WPOD, "tolerations", 0, "efect"), "NoSchedule", "efect: unknown or invalid field"),
        ((*WC, "resources", "limits", "cpu"), "8 cores", "bad limits.cpu"),
        ((*WC, "resources", "requests", "memory"), "64Gi", "requests.memory above its limit"),
        ((*WC, "resources", "requests", "nvidia.com/gpu"), "2", "requests must equal limits"),
        ((*WC, "name"), DELETE, "name"),
        ((*WPOD, "containers"), [], "at least one container"),
        ((*W, "replicas"), 9, "minReplicas <= replicas <= maxReplicas"),
        ((*W, "maxReplicass"), 3, "not a KubeRay v1 field"),
        (("spec", "shutdownAfterJobFinish"), True, "not a KubeRay v1 field"),
        (("spec", "entrypoint"), "", "entrypoint: required"),
        (("spec", "runtimeEnvYAML"), "- a list", "must be a YAML mapping"),
        (("metadata", "name"), "Train_Job", "DNS-1123"),
        (("apiVersion",), "ray.io/v1alpha1", "apiVersion"),
    ],
)
def test_invalid_manifests_are_rejected_with_the_reason(rayjob, path, value, problem):
    body = copy.deepcopy(rayjob)
    set_path(body, path, value)
    problems = kuberay.manifest_problems(body)
    assert any(problem in p for p in problems), problems
    with pytest.raises(kuberay.ManifestError):
        kuberay.validate(body)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ((*WPOD, "nodeSelector"), {"nvidia.com/gpu.present": "true"}, "no spot node selector"),
        ((*WPOD, "tolerations"), [], "no toleration for the nvidia.com/gpu taint"),
        ((*HEAD, "nodeSelector"), SPOT, "head group is scheduled on spot capacity"),
        ((*W, "maxReplicas"), 0, "needs minReplicas"),
        (("spec", "rayClusterSpec", "enableInTreeAutoscaling"), False, "autoscaling"),
        ((*WC, "resources"), {"limits": {"cpu": "8"}}, "no worker group requests nvidia.com/gpu"),
        (
            ("spec", "runtimeEnvYAML"),
            "env_vars: {PLATFORM_RAY_STORAGE_PATH: /tmp/ray}",
            "is not object storage",
        ),
    ],
)
def test_policy_breaches_are_rejected(rayjob, path, value, problem):
    body = copy.deepcopy(rayjob)
    set_path(body, path, value)
    problems = kuberay.manifest_problems(body) + kuberay.spot_gpu_problems(body)
    assert any(problem in p for p in problems), problems
    with pytest.raises(kuberay.ManifestError):
        kuberay.validate(body)


def test_the_default_image_is_pinned_to_the_project_version(plan, platform_home):
    from ml_tasks.settings import IMAGE_REPOSITORY, project_version

    pinned = f"{IMAGE_REPOSITORY}:{project_version()}"
    body = kuberay.validate(kuberay.render_rayjob(plan, settings=platform_home))
    cluster = kuberay._cluster_spec(body)
    pods = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    assert {c["image"] for g in pods for c in g["template"]["spec"]["containers"]} == {pinned}
    # The shipped manifests (usable with kubectl as they are) name the same image.
    for path in (kuberay.RAYJOB_TEMPLATE, kuberay.RAYCLUSTER_MANIFEST):
        assert "ml-platform:latest" not in path.read_text()
        assert f"image: {pinned}" in path.read_text()


def test_the_image_comes_from_the_settings(plan, platform_home, monkeypatch):
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("PLATFORM_KUBERAY_IMAGE", "registry.example/ml@sha256:" + "a" * 64)
    body = kuberay.validate(kuberay.render_rayjob(plan, settings=get_settings()))
    assert _workers(body)["template"]["spec"]["containers"][0]["image"].endswith("a" * 64)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("registry/ml:latest", "moving tag latest"),
        ("ml-platform:latest", "moving tag latest"),
        ("registry/ml", "has no tag"),
        ("registry.example:5000/ml", "has no tag"),  # a port is not a tag
        ("registry/ml@sha256:1234", "malformed digest"),
    ],
)
def test_latest_and_untagged_images_are_rejected(rayjob, image, problem):
    body = copy.deepcopy(rayjob)
    set_path(body, (*WC, "image"), image)
    problems = kuberay.manifest_problems(body)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "image",
    ["registry.example:5000/ml:1.2.3", "ml-platform:0.1.0", "registry/ml@sha256:" + "0" * 64],
)
def test_tagged_and_digest_images_are_accepted(rayjob, image):
    body = copy.deepcopy(rayjob)
    set_path(body, (*WC, "image"), image)
    assert kuberay.manifest_problems(body) == []


SECRET_NAMES = ["AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "HF_TOKEN", "OPENAI_API_KEY"]


@pytest.mark.parametrize("name", SECRET_NAMES)
@pytest.mark.parametrize("container", [WC, (*HEAD, "containers", 0)], ids=["worker", "head"])
def test_an_inline_secret_in_a_containers_env_is_rejected(rayjob, name, container):
    body = copy.deepcopy(rayjob)
    set_path(body, (*container, "env"), [{"name": name, "value": "s3cr3t"}])
    problems = kuberay.manifest_problems(body)
    assert any(f"env {name} looks like a credential" in p for p in problems), problems
    # Not from a Secret either: a ConfigMap is not for credentials.
    set_path(
        body,
        (*container, "env"),
        [{"name": name, "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
    )
    assert any(name in p for p in kuberay.manifest_problems(body))


def test_a_secret_from_a_secret_key_ref_is_accepted(rayjob):
    body = copy.deepcopy(rayjob)
    ref = {"secretKeyRef": {"name": "ml-platform-object-store", "key": "secret-access-key"}}
    set_path(body, (*WC, "env"), [{"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": ref}])
    assert kuberay.manifest_problems(body) == []


def test_an_inline_secret_in_the_autoscaler_env_is_rejected(rayjob):
    body = copy.deepcopy(rayjob)
    set_path(
        body,
        ("spec", "rayClusterSpec", "autoscalerOptions", "env"),
        [{"name": "AWS_SECRET_ACCESS_KEY", "value": "s3cr3t"}],
    )
    assert any("credential" in p for p in kuberay.manifest_problems(body))


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_secret_in_the_runtime_env_yaml_is_rejected(rayjob, name):
    body = copy.deepcopy(rayjob)
    env = yaml.safe_load(body["spec"]["runtimeEnvYAML"])
    env["env_vars"][name] = "s3cr3t"
    body["spec"]["runtimeEnvYAML"] = yaml.safe_dump(env)
    problems = kuberay.manifest_problems(body)
    assert any(f"env_vars.{name}: looks like a credential" in p for p in problems), problems


@pytest.mark.parametrize(
    ("resources", "problem"),
    [
        (DELETE, "resources.requests must set cpu and memory"),
        ({"limits": {"cpu": "2", "memory": "8Gi"}}, "resources.requests must set cpu and memory"),
        ({"requests": {"cpu": "2", "memory": "8Gi"}}, "resources.limits must set cpu and memory"),
        (
            {"requests": {"cpu": "2"}, "limits": {"cpu": "2", "memory": "8Gi"}},
            "resources.requests must set memory",
        ),
    ],
    ids=["none", "no-requests", "no-limits", "no-memory-request"],
)
def test_a_container_without_requests_and_limits_is_rejected(rayjob, resources, problem):
    body = copy.deepcopy(rayjob)
    set_path(body, (*HEAD, "containers", 0, "resources"), resources)
    problems = kuberay.manifest_problems(body)
    assert any(problem in p for p in problems), problems
    with pytest.raises(kuberay.ManifestError):
        kuberay.validate(body)


@pytest.fixture
def cpu_rayjob(plan, platform_home):
    from dataclasses import replace

    cpu = replace(plan, config=replace(plan.config, use_gpu=False))
    return kuberay.render_rayjob(cpu, settings=platform_home, image="registry/ml:1.2.3")


def test_use_gpu_false_renders_cpu_workers_without_any_gpu(cpu_rayjob):
    kuberay.validate(cpu_rayjob)  # the platform policy included
    env = yaml.safe_load(cpu_rayjob["spec"]["runtimeEnvYAML"])["env_vars"]
    assert env["PLATFORM_TRAINING_USE_GPU"] == "false"
    for group in kuberay._cluster_spec(cpu_rayjob)["workerGroupSpecs"]:
        pod = group["template"]["spec"]
        for container in pod["containers"]:
            resources = container["resources"]
            assert "nvidia.com/gpu" not in resources["limits"]
            assert "nvidia.com/gpu" not in resources["requests"]
            assert {"cpu", "memory"} <= resources["limits"].keys()
        assert not [k for k in pod.get("nodeSelector", {}) if k.startswith("nvidia.com/")]
        assert not [t for t in pod.get("tolerations", []) if t["key"].startswith("nvidia.com/")]
        assert "gpu" not in group["groupName"]
        # Still preemptible capacity: CPU training checkpoints and resumes the same way.
        assert SPOT.items() <= pod["nodeSelector"].items()
    assert kuberay.worker_shape(cpu_rayjob) == {"cpus": 8, "gpus": 0}


def test_a_cpu_job_with_a_gpu_left_in_a_worker_breaks_the_policy(cpu_rayjob):
    body = copy.deepcopy(cpu_rayjob)
    set_path(body, (*WC, "resources", "limits", "nvidia.com/gpu"), "1")
    set_path(body, (*WC, "resources", "requests", "nvidia.com/gpu"), "1")
    problems = kuberay.spot_gpu_problems(body)
    assert any("PLATFORM_TRAINING_USE_GPU is false but it asks for GPUs" in p for p in problems)
    with pytest.raises(kuberay.ManifestError):
        kuberay.validate(body)


def test_the_gpu_worker_pod_renders_as_a_pod_for_the_provider(rayjob, tmp_path):
    """The worker's pod spec, through the cncf-kubernetes provider's own pod builder."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DUMMY_KUBECONFIG)
    pod = _workers(rayjob)["template"]["spec"]
    container = pod["containers"][0]
    render_only = KubernetesPodOperator(
        task_id="render_only",
        name="gpu-worker",
        namespace=rayjob["metadata"]["namespace"],
        image=container["image"],
        node_selector=pod["nodeSelector"],
        tolerations=[k8s.V1Toleration(**t) for t in pod["tolerations"]],
        container_resources=k8s.V1ResourceRequirements(**container["resources"]),
        config_file=str(kubeconfig),
        kubernetes_conn_id=None,
    )
    rendered = render_only.build_pod_request_obj()
    assert rendered.spec.node_selector["karpenter.sh/capacity-type"] == "spot"
    assert rendered.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert {t.key for t in rendered.spec.tolerations} >= {
        "nvidia.com/gpu",
        "karpenter.sh/capacity-type",
    }


DUMMY_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
users:
- name: none
  user: {token: not-a-token}
"""


@pytest.mark.parametrize(
    ("env", "requested", "expected"),
    [(None, None, True), ("false", None, False), ("true", None, True), ("false", True, True)],
)
def test_kubernetes_plans_honour_an_explicit_gpu_choice_over_the_template(
    plan, platform_home, monkeypatch, env, requested, expected
):
    # The template's worker group has GPUs; PLATFORM_TRAINING_USE_GPU=false (or a CLI/Param
    # choice) must still render CPU workers, otherwise the setting is silently ignored.
    from ml_tasks import settings as settings_module
    from ml_tasks.training import pipeline

    if env is None:
        monkeypatch.delenv("PLATFORM_TRAINING_USE_GPU", raising=False)
    else:
        monkeypatch.setenv("PLATFORM_TRAINING_USE_GPU", env)
    monkeypatch.setenv("PLATFORM_TRAINING_MODE", "kubernetes")
    s = settings_module.get_settings()
    seen = {}

    def fake_plan(ref, *, run_id, settings, **overrides):
        seen.update(overrides)
        config = TrainConfig(
            workers=overrides["workers"],
            cpus_per_worker=overrides["cpus_per_worker"],
            use_gpu=overrides["use_gpu"],
        )
        return dataclasses.replace(plan, config=config)

    monkeypatch.setattr(pipeline, "plan_training", fake_plan)
    monkeypatch.setattr(kuberay, "validate", lambda body: body)
    out = pipeline.plan_stage(plan.training_set, run_id=plan.run_id, settings=s, use_gpu=requested)
    assert seen["use_gpu"] is expected
    workers = _workers(out["rayjob"])
    limits = workers["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert ("nvidia.com/gpu" in limits) is expected
