"""Offline validation of everything under ``include/k8s`` (no cluster, no Helm, no network).

Each file is checked by what it is:

- built-in kinds (the task pod template, the platform ConfigMap and data PVC, the RayJob RBAC)
  with ``kubernetes-validate`` against the Kubernetes 1.36 OpenAPI schemas in strict mode (an
  unknown field is an error), plus the platform's pod hygiene for every Pod (image pinned,
  cpu/memory requests and limits, credentials only from Secrets;
  :func:`ml_tasks.training.kuberay.pod_template_problems`) and the KubernetesExecutor's needs
  (container ``base``, the project's image, ``restartPolicy: Never``);
- the KubeRay kinds (RayJob, RayCluster, RayService) with their own validators, which include
  KubeRay's CRD schemas made strict (:mod:`ml_tasks.deploy.crd`);
- the Helm values of the official Airflow chart: the executor, the project's image, no secret
  inline (only the names of Secrets), and every Kubernetes object the values carry (resources,
  ``extraEnvFrom``, an inline pod template) placed in a Pod and validated like one;
- the task resources: every profile valid, and the pod template with each profile's override
  merged in (what the executor will create) valid too.

A YAML file the validator does not know is itself a problem, so a new manifest cannot go
unchecked. ``python -m ml_tasks.deploy.k8s_validate`` checks them all.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ml_tasks.deploy import task_resources
from ml_tasks.settings import IMAGE_REPOSITORY, REPO_ROOT, default_image, project_version

K8S_DIR = REPO_ROOT / "include" / "k8s"
# One Kubernetes minor: the one of the pinned `kubernetes` client (36.x speaks the 1.36 API).
K8S_VERSION = "1.36"
POD_TEMPLATE = K8S_DIR / "airflow-pod-template.yaml"
VALUES = K8S_DIR / "airflow-values.yaml"
TASK_RESOURCES = K8S_DIR / "task-resources.yaml"
KUBERAY_KINDS = ("RayJob", "RayCluster", "RayService")
# Values of the Airflow chart that would put a credential into the values (and so into Helm's
# release history): the Secrets are named instead (``*SecretName``).
INLINE_SECRET_VALUES = (
    ("fernetKey",), ("apiSecretKey",), ("jwtSecret",), ("webserverSecretKey",),
    ("data", "metadataConnection"), ("data", "resultBackendConnection"), ("data", "brokerUrl"),
)  # fmt: skip
REQUIRED_SECRET_NAMES = (
    ("data", "metadataSecretName"), ("fernetKeySecretName",), ("apiSecretKeySecretName",),
    ("jwtSecretName",),
)  # fmt: skip
# The Airflow components whose ``resources`` the values set.
COMPONENTS = ("apiServer", "scheduler", "dagProcessor", "triggerer", "workers")


def load_documents(path: Path) -> list[Any]:
    """Every YAML document of a file (``---``-separated), empty ones dropped."""
    import yaml

    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]


def builtin_problems(doc: dict[str, Any], where: str) -> list[str]:
    """``kubernetes-validate --strict`` for one object of a built-in kind (``K8S_VERSION``)."""
    import kubernetes_validate  # type: ignore[import-untyped]

    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        at = ".".join(str(p) for p in err.path) or "<root>"
        return [f"{where}: {at}: {err.message}"]
    except kubernetes_validate.SchemaNotFoundError as err:
        return [f"{where}: {err}"]
    return []


def task_pod_problems(pod: dict[str, Any], where: str) -> list[str]:
    """What the KubernetesExecutor and the platform need of a task pod, beyond the schema."""
    from ml_tasks.training import kuberay

    spec = pod.get("spec") or {}
    problems = kuberay.pod_template_problems(
        {"metadata": pod.get("metadata") or {}, "spec": spec}, where
    )
    containers = spec.get("containers") or []
    base = [c for c in containers if c.get("name") == task_resources.BASE_CONTAINER]
    if not base:
        problems.append(
            f"{where}: no container named {task_resources.BASE_CONTAINER!r} (the executor runs"
            " the task in it and merges each task's pod_override into it by that name)"
        )
    elif base[0].get("image") != default_image():
        problems.append(
            f"{where}: container base runs {base[0].get('image')!r}, not the project's image"
            f" {default_image()!r}"
        )
    if spec.get("restartPolicy") != "Never":
        problems.append(f"{where}: restartPolicy must be Never (Airflow retries a task itself)")
    return problems


def _dig(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = values
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _probe_pod(container: dict[str, Any]) -> dict[str, Any]:
    """A minimal Pod around ``container``: validates a fragment of the values as Kubernetes."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "values-probe"},
        "spec": {"containers": [{"name": "probe", "image": default_image(), **container}]},
    }


def values_problems(values: Any, where: str = "airflow-values.yaml") -> list[str]:
    """The Airflow chart's values: executor, image, secrets by name, the Kubernetes fragments."""
    import yaml

    if not isinstance(values, dict):
        return [f"{where}: not a mapping"]
    problems = []
    if values.get("executor") != "KubernetesExecutor":
        problems.append(f"{where}: executor {values.get('executor')!r}, not KubernetesExecutor")
    image = _dig(values, ("images", "airflow")) or {}
    if image.get("repository") != IMAGE_REPOSITORY or str(image.get("tag")) != project_version():
        problems.append(
            f"{where}: images.airflow is {image.get('repository')}:{image.get('tag')}, not the"
            f" project's image {default_image()}"
        )
    for path in INLINE_SECRET_VALUES:
        if _dig(values, path) not in (None, "", {}):
            problems.append(
                f"{where}: {'.'.join(path)} puts a credential in the values; name a Secret instead"
            )
    for path in REQUIRED_SECRET_NAMES:
        if not _dig(values, path):
            problems.append(f"{where}: {'.'.join(path)}: required (the Secret holding it)")
    if (values.get("postgresql") or {}).get("enabled", True):
        problems.append(f"{where}: postgresql.enabled must be false (external metadata database)")
    for component in COMPONENTS:
        resources = _dig(values, (component, "resources"))
        if resources is None:
            continue
        problems += builtin_problems(
            _probe_pod({"resources": resources}), f"{where}: {component}.resources"
        )
    env_from = values.get("extraEnvFrom")
    if env_from:
        problems += builtin_problems(
            _probe_pod({"envFrom": yaml.safe_load(env_from)}), f"{where}: extraEnvFrom"
        )
    for i, item in enumerate(values.get("secret") or []):
        ref = {"secretKeyRef": {"name": item.get("secretName"), "key": item.get("secretKey")}}
        problems += builtin_problems(
            _probe_pod({"env": [{"name": item.get("envName"), "valueFrom": ref}]}),
            f"{where}: secret[{i}]",
        )
    template = values.get("podTemplate")
    if template:  # normally given with --set-file from airflow-pod-template.yaml
        pod = yaml.safe_load(template)
        problems += builtin_problems(pod, f"{where}: podTemplate")
        problems += task_pod_problems(pod, f"{where}: podTemplate")
    return problems


def merged_pod(pod: dict[str, Any], profile: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The task pod with a profile's pod_override applied (the base container's resources)."""
    merged = copy.deepcopy(pod)
    for container in merged["spec"]["containers"]:
        if container.get("name") == task_resources.BASE_CONTAINER:
            container["resources"] = copy.deepcopy(profile)
    return merged


def task_resources_problems(
    path: Path = TASK_RESOURCES, pod_template: Path = POD_TEMPLATE
) -> list[str]:
    """Every profile valid, and the task pod with each override merged in valid too."""
    where = path.name
    try:
        profiles = task_resources.load_profiles(path)
    except task_resources.TaskResourcesError as err:
        return [str(err)]
    problems = []
    (pod,) = load_documents(pod_template)
    for name, values in profiles.items():
        found = task_resources.profile_problems(values, name)
        if found:
            problems += [f"{where}: {p}" for p in found]
            continue
        merged = merged_pod(pod, task_resources.profile(name, path))
        problems += builtin_problems(merged, f"{where}: pod with profile {name}")
        problems += task_pod_problems(merged, f"{where}: pod with profile {name}")
    return problems


def kuberay_problems(doc: dict[str, Any], where: str) -> list[str]:
    """A KubeRay object with its kind's validator (CRD schema made strict, pods, policy)."""
    if doc.get("kind") == "RayService":
        from ml_tasks.serving import rayservice_manifest

        return [f"{where}: {p}" for p in rayservice_manifest.manifest_problems(doc)]
    from ml_tasks.training import kuberay

    problems = kuberay.manifest_problems(doc)
    if not problems:
        problems = kuberay.spot_gpu_problems(doc)
    return [f"{where}: {p}" for p in problems]


def file_problems(path: Path) -> list[str]:
    """Everything wrong with one file under ``include/k8s`` (empty when it is valid)."""
    path = Path(path)
    if path.name == VALUES.name:
        (values,) = load_documents(path)
        return values_problems(values, path.name)
    if path.name == TASK_RESOURCES.name:
        return task_resources_problems(path)
    problems = []
    docs = load_documents(path)
    if not docs:
        return [f"{path.name}: no Kubernetes object"]
    for i, doc in enumerate(docs):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        where = f"{path.name}[{i}] {kind}"
        if not kind or not isinstance(doc.get("apiVersion"), str):
            problems.append(f"{where}: not a Kubernetes object (no apiVersion/kind)")
        elif kind in KUBERAY_KINDS:
            problems += kuberay_problems(doc, where)
        else:
            problems += builtin_problems(doc, where)
            if kind == "Pod":
                problems += task_pod_problems(doc, where)
    return problems


def manifest_files(directory: Path = K8S_DIR) -> list[Path]:
    """The YAML files under ``directory`` (the vendored CRD schemas excluded)."""
    return sorted(
        p
        for p in Path(directory).rglob("*.y*ml")
        if "schemas" not in p.relative_to(directory).parts
    )


def all_problems(directory: Path = K8S_DIR) -> list[str]:
    """Every problem of every manifest and values file under ``directory``."""
    return [p for path in manifest_files(directory) for p in file_problems(path)]


def main(argv: list[str] | None = None) -> int:
    """``python -m ml_tasks.deploy.k8s_validate [FILE ...]``: check the Kubernetes path offline."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or manifest_files()
    failed = 0
    for path in paths:
        problems = file_problems(path)
        failed += bool(problems)
        for problem in problems:
            print(f"{path}: {problem}")
        if not problems:
            print(f"{path}: valid (Kubernetes {K8S_VERSION} strict, KubeRay CRDs strict, policy)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
