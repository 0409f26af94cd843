"""KubeRay manifests for the Kubernetes training path: render per run, validate before submitting.

``include/k8s/rayjob-train.yaml`` is the source of truth for the cluster shape (CPU head on
on-demand nodes, a GPU worker group on spot nodes, autoscaling bounds, checkpoint storage);
:func:`render_rayjob` fills in only what differs per run. No cluster is needed to check a
manifest: the pod templates are deserialised into the ``kubernetes`` client's models (required
fields, types) and serialised back, so a misspelt or unknown field shows up as lost on the round
trip; resource quantities are parsed; the RayJob/RayCluster fields around them are checked
against the KubeRay v1 field names and the whole body against KubeRay's CRD schema made strict
(:mod:`ml_tasks.deploy.crd`); the platform's hygiene rules hold for every container
(an image pinned by tag or digest, never ``latest``; resource requests and limits; no secret
inline in ``env`` or in the job's ``runtimeEnvYAML``); and :func:`spot_gpu_problems` checks the
platform's policy (spot workers, with GPUs and their tolerations unless the job trains on CPU,
head off spot, checkpoints on object storage).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from ml_tasks.deploy import crd
from ml_tasks.settings import REPO_ROOT, Settings, get_settings
from ml_tasks.training import storage
from ml_tasks.training.spec import TrainingPlan

K8S_DIR = REPO_ROOT / "include" / "k8s"
RAYJOB_TEMPLATE = K8S_DIR / "rayjob-train.yaml"
RAYCLUSTER_MANIFEST = K8S_DIR / "raycluster-training.yaml"
GROUP, VERSION = "ray.io", "v1"
GPU = "nvidia.com/gpu"
SPOT_LABELS = {
    "karpenter.sh/capacity-type": "spot",
    "cloud.google.com/gke-spot": "true",
    "eks.amazonaws.com/capacityType": "SPOT",
}
_RAYJOB_SPEC = {
    "activeDeadlineSeconds", "backoffLimit", "clusterSelector", "deletionStrategy",
    "entrypoint", "entrypointNumCpus", "entrypointNumGpus", "entrypointResources", "jobId",
    "managedBy", "metadata", "rayClusterSpec", "runtimeEnvYAML", "shutdownAfterJobFinishes",
    "submissionMode", "submitterConfig", "submitterPodTemplate", "suspend",
    "ttlSecondsAfterFinished",
}  # fmt: skip
_CLUSTER_SPEC = {
    "autoscalerOptions", "enableInTreeAutoscaling", "gcsFaultToleranceOptions",
    "headGroupSpec", "headServiceAnnotations", "managedBy", "rayVersion", "suspend",
    "workerGroupSpecs",
}  # fmt: skip
_HEAD_SPEC = {"enableIngress", "headService", "rayStartParams", "serviceType", "template"}
_WORKER_SPEC = {
    "groupName", "idleTimeoutSeconds", "maxReplicas", "minReplicas", "numOfHosts",
    "rayStartParams", "replicas", "scaleStrategy", "suspend", "template",
}  # fmt: skip
_AUTOSCALER = {
    "env", "envFrom", "idleTimeoutSeconds", "image", "imagePullPolicy", "resources",
    "securityContext", "upscalingMode", "version", "volumeMounts",
}  # fmt: skip
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Environment variable names that hold credentials: their value must come from a Secret
# (``valueFrom.secretKeyRef`` or ``envFrom.secretRef``), never written into the manifest.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|_KEY$|^KEY$", re.IGNORECASE)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# The node labels and taints that only GPU nodes carry (NVIDIA's device plugin / GPU operator).
_GPU_PREFIX = "nvidia.com/"
USE_GPU_ENV = "PLATFORM_TRAINING_USE_GPU"


class ManifestError(ValueError):
    """A manifest that Kubernetes or KubeRay would reject, or that breaks the spot/GPU policy."""


def load_manifest(path: Path | str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template.get("spec", {}).get("containers", [])


def _cluster_spec(body: dict[str, Any]) -> dict[str, Any]:
    return body["spec"]["rayClusterSpec"] if body.get("kind") == "RayJob" else body["spec"]


def worker_shape(body: dict[str, Any] | None = None) -> dict[str, int]:
    """CPUs and GPUs of one pod of the first worker group (sizes the Ray Train workers)."""
    from kubernetes.utils import parse_quantity

    body = body or load_manifest(RAYJOB_TEMPLATE)
    group = _cluster_spec(body)["workerGroupSpecs"][0]
    limits = _containers(group["template"])[0].get("resources", {}).get("limits", {})
    return {
        "cpus": int(parse_quantity(limits.get("cpu", "1"))),
        "gpus": int(parse_quantity(limits.get(GPU, "0"))),
    }


def render_rayjob(
    plan: TrainingPlan,
    *,
    settings: Settings | None = None,
    template: dict[str, Any] | None = None,
    image: str | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The RayJob for ``plan``: the template with this run's name, entrypoint, storage, workers."""
    import yaml

    s = settings or get_settings()
    for what, uri in (
        ("checkpoint storage", plan.storage_path),
        ("training set", plan.training_set.path),
    ):
        if not storage.has_scheme(uri):
            raise ManifestError(
                f"{what} {uri!r} is a local path: Ray pods on Kubernetes cannot read it; set"
                " PLATFORM_RAY_STORAGE_PATH / the training-set location to object storage (s3://)"
            )
    body = copy.deepcopy(template or load_manifest(RAYJOB_TEMPLATE))
    meta = body.setdefault("metadata", {})
    meta["name"] = plan.k8s_name
    meta["namespace"] = namespace or s.kuberay_namespace
    meta.setdefault("labels", {})["ml-platform/run"] = plan.k8s_name
    meta.setdefault("annotations", {}).update(
        {
            "ml-platform/ray-run-name": plan.run_name,
            "ml-platform/airflow-run-id": plan.run_id,
            "ml-platform/training-set-version": plan.training_set.version,
        }
    )
    spec = body["spec"]
    spec["entrypoint"] = f"python -m ml_tasks train --plan {plan.plan_uri}"
    runtime_env = yaml.safe_load(spec.get("runtimeEnvYAML") or "{}") or {}
    runtime_env.setdefault("env_vars", {}).update(
        {
            "PLATFORM_RAY_STORAGE_PATH": plan.storage_path,
            "PLATFORM_TRAINING_USE_GPU": "true" if plan.config.use_gpu else "false",
        }
    )
    spec["runtimeEnvYAML"] = yaml.safe_dump(runtime_env, sort_keys=True)
    cluster = spec["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        for container in _containers(group["template"]):
            container["image"] = image or s.kuberay_image
            for env in container.get("env", []):
                if env.get("name") == "PLATFORM_RAY_STORAGE_PATH":
                    env["value"] = plan.storage_path
    if not plan.config.use_gpu:
        for group in cluster["workerGroupSpecs"]:
            _without_gpus(group)
    worker = cluster["workerGroupSpecs"][0]
    worker["replicas"] = plan.config.workers
    worker["maxReplicas"] = max(int(worker.get("maxReplicas", 0)), plan.config.workers)
    worker["minReplicas"] = min(int(worker.get("minReplicas", 0)), plan.config.workers)
    return body


def _without_gpus(group: dict[str, Any]) -> None:
    """Turn a GPU worker group into a CPU one: no GPU request or limit, no GPU node selector or
    toleration (they would hold the pods back for GPU nodes that the job does not use).

    Spot capacity stays: CPU training checkpoints and resumes the same way.
    """
    pod = group["template"].setdefault("spec", {})
    for container in pod.get("containers", []):
        resources = container.get("resources") or {}
        for kind in ("limits", "requests"):
            resources.get(kind, {}).pop(GPU, None)
    selector = pod.get("nodeSelector") or {}
    for key in [k for k in selector if k.startswith(_GPU_PREFIX)]:
        del selector[key]
    if "tolerations" in pod:
        pod["tolerations"] = [
            t for t in pod["tolerations"] if not str(t.get("key", "")).startswith(_GPU_PREFIX)
        ]
    group.get("rayStartParams", {}).pop("num-gpus", None)
    group["groupName"] = str(group.get("groupName", "workers")).replace("gpu", "cpu")
    labels = group["template"].get("metadata", {}).get("labels", {})
    if labels.get("ml-platform/ray-node") == "gpu-worker":
        labels["ml-platform/ray-node"] = "cpu-worker"


class _Response:
    """What ``ApiClient.deserialize`` reads: a response whose ``data`` is the JSON body."""

    def __init__(self, payload: Any) -> None:
        self.data = json.dumps(payload)


def _lost_fields(original: Any, back: Any, where: str) -> list[str]:
    if isinstance(original, dict):
        if not isinstance(back, dict):
            return [f"{where}: expected an object"]
        problems = []
        for key, value in original.items():
            if value is not None and back.get(key) is None:
                problems.append(f"{where}.{key}: unknown or invalid field")
            else:
                problems.extend(_lost_fields(value, back.get(key), f"{where}.{key}"))
        return problems
    if isinstance(original, list):
        if not isinstance(back, list) or len(back) != len(original):
            return [f"{where}: list did not survive validation"]
        return [
            p
            for i, (a, b) in enumerate(zip(original, back, strict=True))
            for p in _lost_fields(a, b, f"{where}[{i}]")
        ]
    return []


def pod_template_problems(template: dict[str, Any], where: str) -> list[str]:
    """Validate a pod template with the ``kubernetes`` client's ``V1PodTemplateSpec`` model."""
    from kubernetes.client import ApiClient
    from kubernetes.utils import parse_quantity

    api = ApiClient()
    try:
        model = api.deserialize(_Response(template), "V1PodTemplateSpec")
    except (ValueError, TypeError) as err:
        return [f"{where}: {err}"]
    problems = _lost_fields(template, api.sanitize_for_serialization(model), where)
    containers = model.spec.containers if model.spec else None
    if not containers:
        problems.append(f"{where}.spec.containers: at least one container is required")
    raw_containers = _containers(template)
    for c, raw in zip(containers or [], raw_containers, strict=False):
        problems += image_problems(c.image, f"{where} container {c.name}")
        problems += env_secret_problems(raw.get("env"), f"{where} container {c.name}")
        res = c.resources
        limits, requests = (res.limits or {}) if res else {}, (res.requests or {}) if res else {}
        parsed: dict[str, dict[str, Any]] = {"limits": {}, "requests": {}}
        for kind, values in (("limits", limits), ("requests", requests)):
            for key, value in values.items():
                try:
                    parsed[kind][key] = parse_quantity(value)
                except ValueError:
                    problems.append(f"{where} container {c.name}: bad {kind}.{key} {value!r}")
        for key, value in parsed["requests"].items():
            if key in parsed["limits"] and value > parsed["limits"][key]:
                problems.append(f"{where} container {c.name}: requests.{key} above its limit")
        if GPU in limits and requests.get(GPU, limits[GPU]) != limits[GPU]:
            problems.append(f"{where} container {c.name}: {GPU} requests must equal limits")
        for kind, values in (("requests", requests), ("limits", limits)):
            missing = [r for r in ("cpu", "memory") if r not in values]
            if missing:
                problems.append(
                    f"{where} container {c.name}: resources.{kind} must set {' and '.join(missing)}"
                    " (without requests the scheduler packs pods blindly; without limits one pod"
                    " can starve its node)"
                )
    return problems


def image_problems(image: str | None, where: str) -> list[str]:
    """An image must be pinned: an explicit tag other than ``latest``, or a sha256 digest."""
    if not image:
        return [f"{where}: no image"]
    if "@" in image:
        if _DIGEST.search(image):
            return []
        return [f"{where}: image {image!r} has a malformed digest (expected @sha256:<64 hex>)"]
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return [f"{where}: image {image!r} has no tag (it means latest): pin a version or digest"]
    if name.rsplit(":", 1)[1] == "latest":
        return [f"{where}: image {image!r} uses the moving tag latest: pin a version or digest"]
    return []


def env_secret_problems(env: list[dict[str, Any]] | None, where: str) -> list[str]:
    """Credentials named in ``env`` must come from a Secret (``valueFrom.secretKeyRef``)."""
    problems = []
    for item in env or []:
        name = str(item.get("name", ""))
        if not _SECRET_NAME.search(name):
            continue
        if "secretKeyRef" not in (item.get("valueFrom") or {}):
            problems.append(
                f"{where}: env {name} looks like a credential: take it from a Secret "
                "(valueFrom.secretKeyRef or envFrom.secretRef), not an inline value"
            )
    return problems


def runtime_env_secret_problems(runtime_env: dict[str, Any]) -> list[str]:
    """``runtimeEnvYAML`` is plain text in the RayJob: no credential may be set there."""
    env_vars = runtime_env.get("env_vars") or {}
    if not isinstance(env_vars, dict):
        return ["spec.runtimeEnvYAML.env_vars: must be a mapping"]
    return [
        f"spec.runtimeEnvYAML.env_vars.{name}: looks like a credential; runtimeEnvYAML is stored"
        " in the RayJob in clear text: give the pods a Secret (envFrom.secretRef) instead"
        for name in sorted(env_vars)
        if _SECRET_NAME.search(str(name))
    ]


def _unknown(keys: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    return [f"{where}.{k}: not a KubeRay v1 field" for k in sorted(set(keys) - allowed)]


def _cluster_problems(spec: dict[str, Any], where: str) -> list[str]:
    problems = _unknown(spec, _CLUSTER_SPEC, where)
    autoscaler = spec.get("autoscalerOptions") or {}
    problems += _unknown(autoscaler, _AUTOSCALER, f"{where}.autoscalerOptions")
    problems += env_secret_problems(autoscaler.get("env"), f"{where}.autoscalerOptions")
    if "image" in autoscaler:
        problems += image_problems(autoscaler["image"], f"{where}.autoscalerOptions")
    head = spec.get("headGroupSpec")
    if not isinstance(head, dict) or "template" not in head:
        return [*problems, f"{where}.headGroupSpec.template: required"]
    problems += _unknown(head, _HEAD_SPEC, f"{where}.headGroupSpec")
    problems += pod_template_problems(head["template"], f"{where}.headGroupSpec.template")
    workers = spec.get("workerGroupSpecs") or []
    if not workers:
        problems.append(f"{where}.workerGroupSpecs: at least one worker group is required")
    names = [w.get("groupName") for w in workers]
    if len(set(names)) != len(names):
        problems.append(f"{where}.workerGroupSpecs: group names must be unique")
    for i, group in enumerate(workers):
        at = f"{where}.workerGroupSpecs[{i}]"
        problems += _unknown(group, _WORKER_SPEC, at)
        if not group.get("groupName"):
            problems.append(f"{at}.groupName: required")
        bounds = [group.get(k) for k in ("minReplicas", "replicas", "maxReplicas")]
        if not all(isinstance(b, int) and b >= 0 for b in bounds):
            problems.append(f"{at}: minReplicas, replicas, maxReplicas must be integers >= 0")
        elif not bounds[0] <= bounds[1] <= bounds[2]:
            problems.append(f"{at}: needs minReplicas <= replicas <= maxReplicas, got {bounds}")
        if "template" not in group:
            problems.append(f"{at}.template: required")
        else:
            problems += pod_template_problems(group["template"], f"{at}.template")
    if not isinstance(spec.get("enableInTreeAutoscaling", False), bool):
        problems.append(f"{where}.enableInTreeAutoscaling: must be a boolean")
    return problems


def manifest_problems(body: dict[str, Any]) -> list[str]:
    """Everything wrong with a RayJob or RayCluster manifest (empty when it is valid)."""
    import yaml

    problems = []
    if body.get("apiVersion") != f"{GROUP}/{VERSION}":
        problems.append(f"apiVersion: expected {GROUP}/{VERSION}, got {body.get('apiVersion')!r}")
    name = (body.get("metadata") or {}).get("name") or ""
    if not _DNS1123.match(name) or len(name) > 47:
        problems.append(f"metadata.name: {name!r} is not a DNS-1123 name of <= 47 characters")
    spec = body.get("spec") or {}
    kind = body.get("kind")
    if kind == "RayJob":
        problems += _unknown(spec, _RAYJOB_SPEC, "spec")
        if not str(spec.get("entrypoint", "")).strip():
            problems.append("spec.entrypoint: required")
        try:
            env = yaml.safe_load(spec.get("runtimeEnvYAML") or "{}")
            if not isinstance(env, dict):
                problems.append("spec.runtimeEnvYAML: must be a YAML mapping")
            else:
                problems += runtime_env_secret_problems(env)
        except yaml.YAMLError as err:
            problems.append(f"spec.runtimeEnvYAML: {err}")
        for key in ("ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit"):
            if key in spec and not (isinstance(spec[key], int) and spec[key] >= 0):
                problems.append(f"spec.{key}: must be an integer >= 0")
        if spec.get("submissionMode", "K8sJobMode") not in (
            "K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode",
        ):  # fmt: skip
            problems.append(f"spec.submissionMode: {spec['submissionMode']!r}")
        if "rayClusterSpec" not in spec:
            problems.append("spec.rayClusterSpec: required (this platform creates its clusters)")
        else:
            problems += _cluster_problems(spec["rayClusterSpec"], "spec.rayClusterSpec")
    elif kind == "RayCluster":
        problems += _cluster_problems(spec, "spec")
    else:
        problems.append(f"kind: expected RayJob or RayCluster, got {kind!r}")
        return problems
    # KubeRay's own CRD schema (vendored, made strict): types, enums and every field name of the
    # kind, including the ones the checks above do not look at.
    return problems + [
        f"CRD schema: {p}" for p in crd.schema_problems(body, crd.kind_schema(str(kind)))
    ]


def _tolerates(tolerations: list[dict[str, Any]], key: str, value: str | None = None) -> bool:
    for t in tolerations:
        if t.get("key") != key:
            continue
        if t.get("operator") == "Exists" or value is None or t.get("value") == value:
            return True
    return False


def _env_storage(body: dict[str, Any]) -> list[str | None]:
    """Every PLATFORM_RAY_STORAGE_PATH the manifest sets (None: a RayJob's runtime env lacks it)."""
    import yaml

    paths: list[str | None] = []
    if body.get("kind") == "RayJob":
        env = yaml.safe_load(body["spec"].get("runtimeEnvYAML") or "{}") or {}
        paths.append((env.get("env_vars") or {}).get("PLATFORM_RAY_STORAGE_PATH"))
    cluster = _cluster_spec(body)
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        for c in _containers(group["template"]):
            paths += [
                e.get("value")
                for e in c.get("env", [])
                if e.get("name") == "PLATFORM_RAY_STORAGE_PATH"
            ]
    return paths


def trains_on_gpu(body: dict[str, Any]) -> bool:
    """Whether the job's workers are meant to have GPUs: a RayJob says so in its runtime env
    (``PLATFORM_TRAINING_USE_GPU``, set by :func:`render_rayjob`); a RayCluster always does."""
    import yaml

    if body.get("kind") != "RayJob":
        return True
    env = yaml.safe_load(body["spec"].get("runtimeEnvYAML") or "{}") or {}
    env_vars = env.get("env_vars") if isinstance(env, dict) else None
    value = env_vars.get(USE_GPU_ENV) if isinstance(env_vars, dict) else None
    return value is None or str(value).strip().lower() in ("1", "true")


def _gpu_traces(pod: dict[str, Any]) -> list[str]:
    """What in a pod spec asks for GPUs or GPU nodes."""
    found = []
    for c in pod.get("containers", []):
        resources = c.get("resources") or {}
        found += [
            f"{kind}.{GPU}" for kind in ("limits", "requests") if GPU in resources.get(kind, {})
        ]
    found += [
        f"nodeSelector {k}" for k in pod.get("nodeSelector") or {} if k.startswith(_GPU_PREFIX)
    ]
    found += [
        f"toleration {t.get('key')}"
        for t in pod.get("tolerations") or []
        if str(t.get("key", "")).startswith(_GPU_PREFIX)
    ]
    return found


def _spot_problems(group: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    name = group.get("groupName")
    problems = []
    selector = pod.get("nodeSelector") or {}
    spot = [k for k, v in SPOT_LABELS.items() if selector.get(k) == v]
    if not spot:
        problems.append(f"worker group {name}: no spot node selector ({sorted(SPOT_LABELS)})")
    elif not _tolerates(pod.get("tolerations") or [], spot[0], SPOT_LABELS[spot[0]]):
        problems.append(f"worker group {name}: no toleration for the spot taint {spot[0]}")
    if int(group.get("maxReplicas", 0)) <= int(group.get("minReplicas", 0)):
        problems.append(f"worker group {name}: autoscaling needs maxReplicas > minReplicas")
    return problems


def spot_gpu_problems(body: dict[str, Any]) -> list[str]:
    """The platform's policy: workers on spot capacity (GPU ones with the GPU taint tolerated;
    none with a trace of GPUs when the job trains on CPU), the head on-demand, object storage."""
    problems = []
    cluster = _cluster_spec(body)
    head = cluster["headGroupSpec"]["template"].get("spec", {})
    head_selector = head.get("nodeSelector") or {}
    if any(head_selector.get(k) == v for k, v in SPOT_LABELS.items()):
        problems.append("head group is scheduled on spot capacity")
    want_gpu = trains_on_gpu(body)
    gpu_groups = 0
    for group in cluster["workerGroupSpecs"]:
        pod = group["template"].get("spec", {})
        name = group.get("groupName")
        if not want_gpu:
            traces = _gpu_traces(pod)
            if traces:
                problems.append(
                    f"worker group {name}: {USE_GPU_ENV} is false but it asks for GPUs: "
                    + ", ".join(traces)
                )
            problems += _spot_problems(group, pod)
            continue
        limits = [c.get("resources", {}).get("limits", {}) for c in pod.get("containers", [])]
        if not any(GPU in lim for lim in limits):
            continue
        gpu_groups += 1
        if not _tolerates(pod.get("tolerations") or [], GPU):
            problems.append(f"worker group {name}: no toleration for the {GPU} taint")
        problems += _spot_problems(group, pod)
    if want_gpu and not gpu_groups:
        problems.append(f"no worker group requests {GPU}")
    if not cluster.get("enableInTreeAutoscaling"):
        problems.append("autoscaling (enableInTreeAutoscaling) is off")
    for path in _env_storage(body):
        if not path or not storage.has_scheme(path):
            problems.append(f"checkpoint storage {path!r} is not object storage")
    return problems


def validate(body: dict[str, Any], *, policy: bool = True) -> dict[str, Any]:
    """Raise :class:`ManifestError` listing every problem; returns ``body`` when it is valid."""
    problems = manifest_problems(body)
    if policy and not problems:
        problems = spot_gpu_problems(body)
    if problems:
        raise ManifestError("invalid manifest:\n  " + "\n  ".join(problems))
    return body
