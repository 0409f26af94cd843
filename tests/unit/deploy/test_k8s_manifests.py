"""Every file under include/k8s validates offline, and each layer rejects a broken one.

Built-in kinds: kubernetes-validate --strict against one Kubernetes minor; KubeRay kinds: the
vendored CRDs made strict (plus their validators' rules); the Airflow chart's values and the
per-task pod sizes: their own rules and the Kubernetes objects they carry.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ml_tasks.deploy import k8s_validate as v
from tests.helpers import DELETE, set_path

C0 = ("spec", "containers", 0)
HEAD = ("spec", "rayClusterSpec", "headGroupSpec")


def _doc(name: str, index: int = 0) -> dict:
    return copy.deepcopy(v.load_documents(v.K8S_DIR / name)[index])


def test_every_shipped_file_is_valid_and_checked():
    names = {p.name for p in v.manifest_files()}
    assert names == {
        "airflow-pod-template.yaml", "airflow-values.yaml", "platform-config.yaml",
        "airflow-rayjob-rbac.yaml",
        "task-resources.yaml", "rayjob-train.yaml", "raycluster-training.yaml",
        "rayservice-gateway.yaml",
    }  # fmt: skip
    assert v.all_problems() == []
    assert v.main([]) == 0


def test_the_pinned_kubernetes_minor_is_the_clients():
    """One minor for the schemas, the one the pinned ``kubernetes`` client speaks (36 -> 1.36)."""
    from importlib.metadata import version

    assert v.K8S_VERSION == f"1.{version('kubernetes').split('.')[0]}"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        # The schema layer (kubernetes-validate --strict): an unknown field, a wrong type.
        ((*C0, "imagePullPolcy"), "Always", "'imagePullPolcy' was unexpected"),
        (("spec", "restartPolicy"), ["Never"], "is not of type"),
        (("spec", "volumes", 0, "configMap", "nam"), "x", "'nam' was unexpected"),
        # The platform's pod rules.
        ((*C0, "image"), "ghcr.io/ml-platform/ml-platform:latest", "moving tag latest"),
        ((*C0, "name"), "task", "no container named 'base'"),
        ((*C0, "image"), "apache/airflow:3.3.2", "not the project's image"),
        ((*C0, "resources", "limits"), DELETE, "resources.limits must set cpu and memory"),
        ((*C0, "resources", "limits", "cpu"), "lots", "bad limits.cpu 'lots'"),
        ((*C0, "env", 0), {"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}, "take it from a Secret"),
        (("spec", "restartPolicy"), "OnFailure", "restartPolicy must be Never"),
    ],
)
def test_a_broken_pod_template_is_rejected(path, value, expected):
    pod = _doc("airflow-pod-template.yaml")
    set_path(pod, path, value)
    problems = v.builtin_problems(pod, "pod") + v.task_pod_problems(pod, "pod")
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("index", "path", "value", "expected"),
    [
        (0, ("data", "PLATFORM_LAKE_URI"), 3, "is not of type 'string'"),
        (0, ("metadata", "nmae"), "x", "'nmae' was unexpected"),
        (1, ("spec", "accessModes"), "ReadWriteMany", "is not of type 'array'"),
        (1, ("spec", "resources", "request"), {}, "'request' was unexpected"),
    ],
)
def test_a_broken_configmap_or_claim_is_rejected(index, path, value, expected):
    doc = _doc("platform-config.yaml", index)
    set_path(doc, path, value)
    problems = v.builtin_problems(doc, "doc")
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        # Caught only by the CRD schema layer: places the field-name lists do not look into.
        ("rayjob-train.yaml", ("spec", "shutdownAfterJobFinishes"), "yes", "not of type 'boolean'"),
        (
            "rayjob-train.yaml",
            ("spec", "rayClusterSpec", "autoscalerOptions", "upscalingMode"),
            "Fast",
            "is not one of",
        ),
        (
            "rayjob-train.yaml",
            (*HEAD, "template", "metadata", "labelz"),
            {},
            "'labelz' was unexpected",
        ),
        (
            "raycluster-training.yaml",
            ("spec", "headGroupSpec", "rayStartParams", "num-cpus"),
            0,
            "is not of type 'string'",
        ),
        (
            "raycluster-training.yaml",
            ("spec", "autoscalerOptions", "resources", "limitz"),
            {},
            "'limitz' was unexpected",
        ),
        (
            "rayservice-gateway.yaml",
            ("spec", "upgradeStrategy", "typ"),
            "x",
            "'typ' was unexpected",
        ),
    ],
)
def test_a_broken_kuberay_manifest_is_rejected_by_its_crd(name, path, value, expected):
    doc = _doc(name)
    set_path(doc, path, value)
    problems = v.kuberay_problems(doc, name)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("executor",), "CeleryExecutor", "not KubernetesExecutor"),
        (("images", "airflow", "tag"), "latest", "not the project's image"),
        (("fernetKey",), "c2VjcmV0", "fernetKey puts a credential in the values"),
        (
            ("data", "metadataConnection"),
            {"pass": "x"},
            "data.metadataConnection puts a credential",
        ),
        (("data", "metadataSecretName"), DELETE, "data.metadataSecretName: required"),
        (("postgresql", "enabled"), True, "postgresql.enabled must be false"),
        (("scheduler", "resources", "limit"), {"cpu": "1"}, "'limit' was unexpected"),
        (("extraEnvFrom",), "- configMapRf:\n    name: x\n", "'configMapRf' was unexpected"),
        (("secret", 0, "secretKey"), 5, "is not of type 'string'"),
        (
            ("podTemplate",),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
            "  containers: [{name: base, image: 'x:latest'}]\n",
            "moving tag latest",
        ),
    ],
)
def test_broken_helm_values_are_rejected(path, value, expected):
    values = _doc("airflow-values.yaml")
    set_path(values, path, value)
    problems = v.values_problems(values)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            {"requests": {"cpu": "8", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "1Gi"}},
            "requests.cpu above its limit",
        ),
        (
            {"requests": {"cpu": "1"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "requests must set memory",
        ),
        (
            {"requests": {"cpu": "1", "memory": "a lot"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "bad requests.memory",
        ),
        ({"requests": {}, "limits": {}, "nodeSelector": {}}, "only `requests` and `limits`"),
    ],
)
def test_a_broken_task_resources_profile_is_rejected(tmp_path, profile, expected):
    path = tmp_path / "task-resources.yaml"
    path.write_text(yaml.safe_dump({"profiles": {"drift": profile}}))
    problems = v.task_resources_problems(path)
    assert any(expected in p for p in problems), problems


def test_a_file_the_validator_does_not_know_is_a_problem(tmp_path):
    (tmp_path / "notes.yaml").write_text("hello: world\n")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    problems = v.all_problems(tmp_path)
    assert any("notes.yaml[0] None: not a Kubernetes object" in p for p in problems), problems
    assert any("empty.yaml: no Kubernetes object" in p for p in problems), problems


def test_the_command_fails_on_a_broken_file_and_names_it(tmp_path, capsys):
    pod = _doc("airflow-pod-template.yaml")
    pod["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    broken = tmp_path / "pod.yaml"
    broken.write_text(yaml.safe_dump(pod))
    assert v.main([str(broken)]) == 1
    assert f"{broken}: pod.yaml[0] Pod: spec.containers.0" in capsys.readouterr().out


def _kubernetes_validate(*files: Path) -> subprocess.CompletedProcess:
    """The PyPI tool's own command line, as the README gives it."""
    exe = Path(sys.executable).with_name("kubernetes-validate")
    return subprocess.run(
        [str(exe), "--strict", "-k", v.K8S_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kubernetes_validate_command_passes_the_built_in_kinds_and_fails_a_typo(tmp_path):
    files = [v.K8S_DIR / "airflow-pod-template.yaml", v.K8S_DIR / "platform-config.yaml"]
    ok = _kubernetes_validate(*files)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("passed") + ok.stderr.count("passed") == 3
    text = files[0].read_text().replace("imagePullPolicy:", "imagePullPolcy:")
    (tmp_path / "pod.yaml").write_text(text)
    bad = _kubernetes_validate(tmp_path / "pod.yaml")
    assert bad.returncode != 0
    assert "imagePullPolcy" in bad.stdout + bad.stderr


def test_the_task_pod_may_manage_the_rayjobs_and_nothing_else():
    """The Role covers what ml_platform_airflow.hooks calls, in the namespace the settings name,
    for the service account the task pod runs as."""
    from ml_tasks.settings import get_settings

    role, binding = v.load_documents(v.K8S_DIR / "airflow-rayjob-rbac.yaml")
    pod = _doc("airflow-pod-template.yaml")
    assert role["metadata"]["namespace"] == get_settings().kuberay_namespace
    (rule,) = role["rules"]
    assert (rule["apiGroups"], rule["resources"]) == (["ray.io"], ["rayjobs"])
    hooks = (v.REPO_ROOT / "ml_platform_airflow" / "hooks.py").read_text()
    used = {
        verb
        for verb in ("create", "get", "delete", "patch", "list")
        if f"{verb}_namespaced" in hooks
    }
    assert set(rule["verbs"]) == used
    (subject,) = binding["subjects"]
    assert subject["name"] == pod["spec"]["serviceAccountName"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    del binding["roleRef"]["kind"]
    assert any("'kind' is a required property" in p for p in v.builtin_problems(binding, "rb"))


def test_what_the_task_pod_mounts_exists():
    """Its ConfigMaps and claims: ours (platform-config.yaml) or the chart's (release `airflow`)."""
    chart = {"airflow-config", "airflow-logs"}
    ours = {
        d["metadata"]["name"]
        for d in v.load_documents(v.K8S_DIR / "platform-config.yaml")
        if d["metadata"]["namespace"] == "airflow"
    }
    pod = _doc("airflow-pod-template.yaml")
    (container,) = pod["spec"]["containers"]
    refs = {e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e}
    for volume in pod["spec"]["volumes"]:
        refs |= {volume[k].get("name") or volume[k].get("claimName") for k in volume if k != "name"}
    assert refs <= ours | chart, refs - ours - chart
