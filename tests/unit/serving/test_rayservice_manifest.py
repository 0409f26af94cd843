"""The gateway's RayService against KubeRay's CRD schema, Ray Serve's config and the policy."""

from __future__ import annotations

import copy

import pytest
import yaml

from ml_tasks.serving import rayservice_manifest as manifest
from tests.helpers import DELETE, set_path

CLUSTER = ("spec", "rayClusterConfig")
WORKERS = (*CLUSTER, "workerGroupSpecs", 0)
WPOD = (*WORKERS, "template", "spec")
WC = (*WPOD, "containers", 0)


@pytest.fixture(scope="module")
def shipped():
    return manifest.load_manifest()


def _with_serve_config(body, change):
    """``body`` with its serveConfigV2 (a YAML string) changed by ``change(config)``."""
    config = manifest.serve_config(body)
    change(config)
    body["spec"]["serveConfigV2"] = yaml.safe_dump(config, sort_keys=False)
    return body


def _deployment(config):
    return config["applications"][0]["deployments"][0]


def test_the_shipped_rayservice_is_valid(shipped):
    assert manifest.manifest_problems(shipped) == []
    assert manifest.validate(shipped) is shipped


def test_it_runs_the_gateway_deployment_with_autoscaling_and_a_zero_downtime_upgrade(shipped):
    from ml_tasks.settings import IMAGE_REPOSITORY, project_version

    assert shipped["spec"]["upgradeStrategy"]["type"] == "NewCluster"
    (app,) = manifest.serve_config(shipped)["applications"]
    assert app["import_path"] == "ml_tasks.serving.ray_serve:build_app"
    (deployment,) = app["deployments"]
    assert deployment["name"] == manifest.DEPLOYMENT_NAME
    auto = deployment["autoscaling_config"]
    assert 1 <= auto["min_replicas"] < auto["max_replicas"]
    assert auto["target_ongoing_requests"] > 0
    # The image rule of the training manifests: the project version's tag, never latest.
    cluster = shipped["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    images = {c["image"] for g in groups for c in g["template"]["spec"]["containers"]}
    assert images == {f"{IMAGE_REPOSITORY}:{project_version()}"}


def test_the_deployment_and_builder_the_manifest_names_exist_in_the_code():
    # The validator reads them from the source; the code must agree with it.
    from ml_tasks.serving import ray_serve

    assert ray_serve.DEPLOYMENT_NAME == manifest.DEPLOYMENT_NAME
    assert callable(ray_serve.build_app)


def test_the_schema_is_the_vendored_crd_made_strict():
    schema = manifest.crd_schema()
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False and "serveConfigV2" in spec["properties"]
    assert manifest.RAYSERVICE_CRD.is_relative_to(manifest.REPO_ROOT)
    assert (manifest.RAYSERVICE_CRD.parent / "LICENSE").is_file()


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        # Field names and types: KubeRay's CRD, closed.
        (("spec", "upgradeStrategey"), {"type": "NewCluster"}, "'upgradeStrategey' was unexpected"),
        ((*WORKERS, "maxReplica"), 4, "'maxReplica' was unexpected"),
        ((*WORKERS, "maxReplicas"), "four", "'four' is not of type 'integer'"),
        ((*WC, "resourcse"), {}, "'resourcse' was unexpected"),
        (("spec", "rayClusterConfig"), DELETE, "'rayClusterConfig' is a required property"),
        (("spec", "rayClusterDeletionDelaySeconds"), -1, "less than the minimum of 0"),
        # Pod templates: the training manifests' rules.
        ((*WC, "image"), "ghcr.io/ml-platform/ml-platform:latest", "moving tag latest"),
        ((*WC, "resources", "requests", "memory"), "64Gi", "requests.memory above its limit"),
        (
            (*WC, "env", 0),
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "hunter2"},
            "looks like a credential",
        ),
        # The serving policy.
        (("spec", "upgradeStrategy", "type"), "None", "is not a zero-downtime one"),
        ((*CLUSTER, "rayVersion"), "2.9.0", "tested on Ray"),
        ((*CLUSTER, "enableInTreeAutoscaling"), False, "enableInTreeAutoscaling: off"),
        ((*WORKERS, "maxReplicas"), 2, "do not fit the worker groups' 4 CPUs"),
        (("spec", "serveConfigV2"), DELETE, "spec.serveConfigV2: required"),
        (("spec", "serveConfigV2"), "applications: [", "spec.serveConfigV2: not YAML"),
    ],
)
def test_a_broken_manifest_is_rejected(shipped, path, value, problem):
    body = copy.deepcopy(shipped)
    set_path(body, path, value)
    problems = manifest.manifest_problems(body)
    assert any(problem in p for p in problems), problems
    with pytest.raises(manifest.RayServiceManifestError, match="invalid RayService manifest"):
        manifest.validate(body)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda c: _deployment(c)["autoscaling_config"].update(min_replicas=9),
            "max_replicas (8) must be greater than or equal to min_replicas (9)",
        ),
        (lambda c: _deployment(c).update(max_ongoing_requests="many"), "max_ongoing_requests"),
        (lambda c: _deployment(c).update(num_replica=2), "num_replica: not a Ray Serve option"),
        (
            lambda c: _deployment(c)["autoscaling_config"].update(target_ongoing=4),
            "target_ongoing: not a Ray Serve option",
        ),
        (lambda c: c["applications"][0].update(improt_path="x:y"), "improt_path: not a Ray"),
        (lambda c: _deployment(c).update(name="router"), "'router' is not a deployment"),
        (
            lambda c: c["applications"][0].update(import_path="ml_tasks.serving.rayserve:app"),
            "module 'ml_tasks.serving.rayserve' not found",
        ),
        (
            lambda c: c["applications"][0].update(import_path="ml_tasks.serving.ray_serve:bulid"),
            "defines no 'bulid'",
        ),
        (
            lambda c: c["applications"][0].update(import_path="json:loads"),
            "is not part of this project",
        ),
        (lambda c: c["applications"][0].update(import_path="build_app"), "invalid import path"),
        (lambda c: c.update(applications=[]), "at least one application"),
    ],
)
def test_a_broken_serve_config_is_rejected(shipped, change, problem):
    body = _with_serve_config(copy.deepcopy(shipped), change)
    problems = manifest.manifest_problems(body)
    assert any(problem in p for p in problems), problems


def test_strict_leaves_maps_and_preserved_objects_open():
    schema = {
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "properties": {"a": {"type": "string"}}},
            "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }  # fmt: skip
    strict = manifest.strict(schema)
    body = {"labels": {"x": "y"}, "free": {"b": 1}, "closed": {"a": "ok"}}
    assert manifest.schema_problems(body, strict) == []
    assert manifest.schema_problems({"closed": {"b": 1}}, strict) == [
        "closed: Additional properties are not allowed ('b' was unexpected)"
    ]
    assert "additionalProperties" not in schema["properties"]["closed"]  # the input is untouched


def test_the_command_line_check_names_each_problem(shipped, tmp_path, capsys):
    assert manifest.main([]) == 0
    assert "valid RayService" in capsys.readouterr().out
    body = copy.deepcopy(shipped)
    set_path(body, ("spec", "upgradeStrategy", "type"), "None")
    set_path(body, (*WC, "image"), "ghcr.io/ml-platform/ml-platform")
    broken = tmp_path / "rayservice.yaml"
    broken.write_text(yaml.safe_dump(body))
    assert manifest.main([str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(line.startswith(f"{broken}: ") for line in out)
