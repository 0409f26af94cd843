"""Offline validation of the gateway's KubeRay RayService (``include/k8s/rayservice-gateway.yaml``).

No cluster is needed. Four layers, each catching what the others cannot:

1. KubeRay's RayService CRD schema (vendored under ``include/k8s/schemas/kuberay``), made strict:
   the CRD leaves objects open (no ``additionalProperties: false``), so a misspelt field would
   pass and then be silently pruned by the API server; here every object that lists its
   properties is closed, as ``kubectl apply --validate=strict`` would be.
2. ``serveConfigV2``, a YAML string to the CRD, against Ray Serve's own config schema
   (``ServeDeploySchema``), and its import path against this repository (the module exists and
   defines the builder), its deployment names against the deployment the code declares.
3. The pod templates with the training manifests' rules
   (:func:`ml_tasks.training.kuberay.pod_template_problems`): images pinned by tag or digest,
   cpu/memory requests and limits, no inline credentials.
4. The platform's serving policy: a zero-downtime upgrade strategy, the cluster's Ray version is
   the one installed here, autoscaling on, and the worker pods can hold ``max_replicas``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

from ml_tasks.deploy import crd
from ml_tasks.settings import REPO_ROOT

RAYSERVICE_MANIFEST = REPO_ROOT / "include" / "k8s" / "rayservice-gateway.yaml"
RAYSERVICE_CRD = crd.CRD_FILES["RayService"]
# The deployment ``ml_tasks.serving.ray_serve`` declares (kept here too so that validating a
# manifest does not import Ray Serve's replica code).
DEPLOYMENT_NAME = "gateway"
ZERO_DOWNTIME = ("NewCluster", "NewClusterWithIncrementalUpgrade")


class RayServiceManifestError(ValueError):
    """A RayService manifest that KubeRay or Ray Serve would reject, or that breaks the policy."""


def load_manifest(path: Path | str = RAYSERVICE_MANIFEST) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def crd_schema(path: Path = RAYSERVICE_CRD, version: str = "v1") -> dict[str, Any]:
    """The RayService's OpenAPI v3 schema from its CustomResourceDefinition (strict)."""
    return crd.crd_schema(Path(path), version)


# The strictness lives in ml_tasks.deploy.crd, shared with the RayJob/RayCluster checks.
strict = crd.strict


def schema_problems(body: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Every violation of the (strict) RayService CRD schema, as ``path: message``."""
    return crd.schema_problems(body, schema or crd_schema())


def serve_config(body: dict[str, Any]) -> dict[str, Any]:
    """``spec.serveConfigV2`` parsed (KubeRay stores it as a YAML string)."""
    import yaml

    try:
        config = yaml.safe_load((body.get("spec") or {}).get("serveConfigV2") or "")
    except yaml.YAMLError:
        return {}  # serve_config_problems reports it
    return config if isinstance(config, dict) else {}


def _unknown_keys(given: Any, model: Any, where: str) -> list[str]:
    """Keys a pydantic model of Ray Serve would silently ignore (its models allow extras)."""
    if not isinstance(given, dict):
        return []
    return [
        f"{where}.{key}: not a Ray Serve option" for key in given if key not in model.model_fields
    ]


def _defines(path: Path, name: str) -> bool:
    """Whether the module source at ``path`` binds ``name`` at top level."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def import_path_problems(import_path: str, where: str) -> list[str]:
    """``module:attribute`` must name a module of this project that defines the attribute.

    Read from the source, not imported: importing the builder would start Serve's replica code.
    """
    module, sep, attribute = import_path.partition(":")
    if not sep or not module or not attribute:
        return [f"{where}: {import_path!r} is not module:attribute"]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return [f"{where}: module {module!r} not found"]
    origin = Path(spec.origin).resolve()
    if not origin.is_relative_to(REPO_ROOT):
        return [f"{where}: module {module!r} is not part of this project ({origin})"]
    if not _defines(origin, attribute):
        return [f"{where}: {module} defines no {attribute!r}"]
    return []


def serve_config_problems(body: dict[str, Any]) -> list[str]:
    """``serveConfigV2`` against Ray Serve's schema, this repo's import paths and deployments."""
    import yaml
    from pydantic import ValidationError
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    raw = (body.get("spec") or {}).get("serveConfigV2")
    if not raw:
        return ["spec.serveConfigV2: required (the Serve applications to run)"]
    try:
        config = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        return [f"spec.serveConfigV2: not YAML: {err}"]
    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as err:
        return [
            f"spec.serveConfigV2.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
        ]
    problems = _unknown_keys(config, ServeDeploySchema, "spec.serveConfigV2")
    applications = config.get("applications") or []
    if not applications:
        problems.append("spec.serveConfigV2.applications: at least one application is required")
    for i, app in enumerate(applications):
        at = f"spec.serveConfigV2.applications[{i}]"
        problems += _unknown_keys(app, ServeApplicationSchema, at)
        problems += import_path_problems(str(app.get("import_path", "")), f"{at}.import_path")
        for j, deployment in enumerate(app.get("deployments") or []):
            where = f"{at}.deployments[{j}]"
            problems += _unknown_keys(deployment, DeploymentSchema, where)
            if deployment.get("name") != DEPLOYMENT_NAME:
                problems.append(
                    f"{where}.name: {deployment.get('name')!r} is not a deployment of the"
                    f" application (it has {DEPLOYMENT_NAME!r})"
                )
            auto = deployment.get("autoscaling_config")
            if auto is not None:
                # The deployment schema takes it as a plain dict: check it as Serve will.
                problems += _unknown_keys(auto, AutoscalingConfig, f"{where}.autoscaling_config")
                try:
                    AutoscalingConfig.model_validate(auto)
                except ValidationError as err:
                    problems += [f"{where}.autoscaling_config: {e['msg']}" for e in err.errors()]
    return problems


def _cpus(template: dict[str, Any]) -> float:
    from kubernetes.utils import parse_quantity

    containers = template.get("spec", {}).get("containers", [])
    limits = (containers[0].get("resources") or {}).get("limits", {}) if containers else {}
    return float(parse_quantity(limits.get("cpu", "0")))


def policy_problems(body: dict[str, Any]) -> list[str]:
    """The serving policy: zero-downtime upgrades, the tested Ray version, room to autoscale."""
    import ray

    problems = []
    spec = body.get("spec") or {}
    upgrade = (spec.get("upgradeStrategy") or {}).get("type")
    if upgrade not in ZERO_DOWNTIME:
        problems.append(
            f"spec.upgradeStrategy.type: {upgrade!r} is not a zero-downtime one {ZERO_DOWNTIME}"
        )
    cluster = spec.get("rayClusterConfig") or {}
    if str(cluster.get("rayVersion")) != ray.__version__:
        problems.append(
            f"spec.rayClusterConfig.rayVersion: {cluster.get('rayVersion')!r}, but this code runs"
            f" and is tested on Ray {ray.__version__}"
        )
    if not cluster.get("enableInTreeAutoscaling"):
        problems.append("spec.rayClusterConfig.enableInTreeAutoscaling: off (replicas need pods)")
    head = (cluster.get("headGroupSpec") or {}).get("rayStartParams") or {}
    if str(head.get("num-cpus")) != "0" and spec.get("excludeHeadPodFromServeSvc"):
        problems.append(
            "the head may run replicas (rayStartParams num-cpus is not 0) but is excluded from"
            " the Serve service: set num-cpus 0 on the head"
        )
    config = serve_config(body)
    capacity = sum(
        int(group.get("maxReplicas", 0)) * _cpus(group.get("template") or {})
        for group in cluster.get("workerGroupSpecs") or []
    )
    for app in config.get("applications") or []:
        for deployment in app.get("deployments") or []:
            auto = deployment.get("autoscaling_config") or {}
            replicas = auto.get("max_replicas", deployment.get("num_replicas", 1))
            cpus = float((deployment.get("ray_actor_options") or {}).get("num_cpus", 1))
            if replicas * cpus > capacity:
                problems.append(
                    f"deployment {deployment.get('name')}: {replicas} replicas x {cpus:g} CPU"
                    f" do not fit the worker groups' {capacity:g} CPUs at maxReplicas"
                )
    return problems


def manifest_problems(body: dict[str, Any]) -> list[str]:
    """Everything wrong with a RayService manifest (empty when it is valid)."""
    from ml_tasks.training import kuberay

    if body.get("apiVersion") != "ray.io/v1" or body.get("kind") != "RayService":
        return [f"expected apiVersion ray.io/v1, kind RayService; got {body.get('apiVersion')!r},"
                f" {body.get('kind')!r}"]  # fmt: skip
    problems = schema_problems(body)
    if problems:  # the layers below assume the shape the schema guarantees
        return problems
    problems += serve_config_problems(body)
    cluster = body["spec"]["rayClusterConfig"]
    problems += kuberay.pod_template_problems(
        cluster["headGroupSpec"]["template"], "spec.rayClusterConfig.headGroupSpec.template"
    )
    for i, group in enumerate(cluster.get("workerGroupSpecs") or []):
        problems += kuberay.pod_template_problems(
            group["template"], f"spec.rayClusterConfig.workerGroupSpecs[{i}].template"
        )
    return problems + policy_problems(body)


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """Raise :class:`RayServiceManifestError` listing every problem; ``body`` when valid."""
    problems = manifest_problems(body)
    if problems:
        raise RayServiceManifestError("invalid RayService manifest:\n  " + "\n  ".join(problems))
    return body


def main(argv: list[str] | None = None) -> int:
    """``python -m ml_tasks.serving.rayservice_manifest [FILE]``: check a RayService offline."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else RAYSERVICE_MANIFEST
    problems = manifest_problems(load_manifest(path))
    for problem in problems:
        print(f"{path}: {problem}")
    if not problems:
        print(f"{path}: valid RayService (CRD schema, Serve config, pod templates, policy)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
