"""The KubeRay RayJob adapters (operators, their hook, sensor and trigger) against a fake
Kubernetes API (no cluster).

The operators build the provider's real ``KubernetesHook`` from a dummy kubeconfig; only its
``CustomObjectsApi`` is replaced by :class:`FakeCustomObjects`, an in-memory RayJob store that
answers like the API server (409 on a duplicate, 404 when absent).
"""

from __future__ import annotations

import asyncio
import importlib

import pytest
from airflow.sdk.exceptions import AirflowException
from kubernetes.client.exceptions import ApiException

from ml_platform_airflow.hooks import RayJobClient, rayjob_state
from ml_platform_airflow.operators import CreateRayJobOperator, DeleteRayJobOperator
from ml_platform_airflow.sensors import RayJobSensor
from ml_platform_airflow.triggers import RayJobTrigger
from ml_tasks.training import kuberay

NS = "ml-training"
# The shipped RayJob under this test's name: a manifest the operator's checks accept.
BODY = {
    **kuberay.load_manifest(kuberay.RAYJOB_TEMPLATE),
    "metadata": {"name": "fm-train-abc", "namespace": NS},
}
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
users: [{name: none, user: {token: not-a-token}}]
"""


class FakeCustomObjects:
    """The slice of ``CustomObjectsApi`` the client uses, backed by a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}
        self.calls: list[str] = []
        self.statuses: list[dict] = []  # served one per get, then the last one stays

    def create_namespaced_custom_object(self, *, group, version, namespace, plural, body):
        assert (group, version, plural) == ("ray.io", "v1", "rayjobs")
        self.calls.append("create")
        key = (namespace, body["metadata"]["name"])
        if key in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        self.objects[key] = {**body, "status": {}}
        return self.objects[key]

    def get_namespaced_custom_object(self, *, group, version, namespace, plural, name):
        self.calls.append("get")
        if (namespace, name) not in self.objects:
            raise ApiException(status=404, reason="NotFound")
        if self.statuses:
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            self.objects[namespace, name]["status"] = status
        return self.objects[namespace, name]

    def delete_namespaced_custom_object(self, *, group, version, namespace, plural, name, body):
        self.calls.append("delete")
        assert body.propagation_policy == "Foreground"
        if self.objects.pop((namespace, name), None) is None:
            raise ApiException(status=404, reason="NotFound")


RUNNING = {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}
DONE = {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}
FAILED = {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "message": "backoff exceeded"}


@pytest.fixture
def api():
    return FakeCustomObjects()


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return str(path)


def _wire(op, api):
    """Real hook from the dummy kubeconfig; only its CustomObjectsApi is the fake."""
    op.client.hook.__dict__["custom_object_client"] = api
    return op


def _create(api, kubeconfig):
    return _wire(
        CreateRayJobOperator(
            task_id="create_ray_job", body=BODY, kubernetes_conn_id=None, config_file=kubeconfig
        ),
        api,
    )


def _sensor(api, kubeconfig, **kwargs):
    return _wire(
        RayJobSensor(
            task_id="wait_for_ray_job",
            name="fm-train-abc",
            namespace=NS,
            kubernetes_conn_id=None,
            config_file=kubeconfig,
            **kwargs,
        ),
        api,
    )


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ({}, "running"),
        ({"jobDeploymentStatus": "Initializing"}, "running"),
        ({"jobDeploymentStatus": "Retrying", "jobStatus": "FAILED"}, "running"),
        (RUNNING, "running"),
        (DONE, "succeeded"),
        (FAILED, "failed"),
        ({"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED"}, "failed"),
    ],
)
def test_rayjob_state_reads_kuberay_status(status, state):
    assert rayjob_state({"status": status})[0] == state
    assert rayjob_state(None)[0] == "failed"


def test_create_submits_the_rayjob_through_the_providers_hook(api, kubeconfig):
    op = _create(api, kubeconfig)
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    assert isinstance(op.client.hook, KubernetesHook)
    assert op.execute({}) == {"name": "fm-train-abc", "namespace": NS}
    assert api.objects[NS, "fm-train-abc"]["spec"] == BODY["spec"]
    assert api.calls == ["get", "create"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c.update(image="ghcr.io/ml-platform/ml-platform:latest"), "latest"),
        (
            lambda c: c["env"].append({"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}),
            "looks like a credential",
        ),
        (lambda c: c.pop("resources"), "resources.requests must set cpu and memory"),
    ],
    ids=["latest", "inline-secret", "no-resources"],
)
def test_create_refuses_a_manifest_that_breaks_the_rules_before_any_call(
    api, kubeconfig, change, problem
):
    import copy

    body = copy.deepcopy(BODY)
    change(body["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0])
    op = _wire(
        CreateRayJobOperator(
            task_id="c", body=body, kubernetes_conn_id=None, config_file=kubeconfig
        ),
        api,
    )
    with pytest.raises(AirflowException, match=problem):
        op.execute({})
    assert api.calls == [] and not api.objects


def test_a_retried_create_adopts_a_running_job_and_replaces_a_failed_one(api, kubeconfig):
    _create(api, kubeconfig).execute({})
    api.statuses = [RUNNING]
    api.calls.clear()
    _create(api, kubeconfig).execute({})
    assert api.calls == ["get"]  # adopted: no duplicate submission

    api.statuses = [FAILED]
    api.calls.clear()
    op = _create(api, kubeconfig)
    op.execute({})
    assert api.calls == ["get", "delete", "get", "create"]  # same name: resumes its checkpoints
    assert (NS, "fm-train-abc") in api.objects


def test_create_accepts_yaml(api, kubeconfig):
    import yaml

    op = _wire(
        CreateRayJobOperator(
            task_id="c", body=yaml.safe_dump(BODY), kubernetes_conn_id=None, config_file=kubeconfig
        ),
        api,
    )
    op.execute({})
    assert (NS, "fm-train-abc") in api.objects


def test_sensor_pokes_until_done_and_fails_loudly_with_the_reason(api, kubeconfig):
    from airflow.sdk.exceptions import AirflowException

    _create(api, kubeconfig).execute({})
    sensor = _sensor(api, kubeconfig, deferrable=False, mode="reschedule")
    api.statuses = [RUNNING]
    assert sensor.poke({}) is False
    api.statuses = [DONE]
    assert sensor.poke({}) is True
    api.statuses = [FAILED]
    with pytest.raises(AirflowException, match="backoff exceeded"):
        sensor.poke({})


def test_deferrable_sensor_defers_to_a_serializable_trigger(api, kubeconfig):
    from airflow.sdk.exceptions import AirflowException, TaskDeferred

    _create(api, kubeconfig).execute({})
    api.statuses = [RUNNING]
    sensor = _sensor(api, kubeconfig, poke_interval=5, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    # A fixed path in the package, whatever module the DAG imported the sensor through.
    assert classpath == "ml_platform_airflow.triggers.RayJobTrigger"
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)  # what the triggerer does
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["poll_interval"] == 5 and kwargs["name"] == "fm-train-abc"

    assert sensor.execute_complete({}, {"status": "succeeded", "message": "ok"})["status"] == (
        "succeeded"
    )
    with pytest.raises(AirflowException, match="backoff exceeded"):
        sensor.execute_complete({}, {"status": "failed", "message": "backoff exceeded"})
    # Already finished: no deferral at all.
    api.statuses = [DONE]
    assert sensor.execute({})["status"] == "succeeded"


def _events(trigger, limit=1):
    async def collect():
        out = []
        async for event in trigger.run():
            out.append(event.payload)
            if len(out) >= limit:
                break
        return out

    return asyncio.run(collect())


def _trigger(api):
    class _Hook:
        custom_object_client = api

    trigger = RayJobTrigger(name="fm-train-abc", namespace=NS, poll_interval=0.01)
    trigger.__dict__["client"] = RayJobClient(_Hook())
    return trigger


def test_trigger_polls_until_the_job_finishes(api, kubeconfig):
    _create(api, kubeconfig).execute({})
    api.statuses = [{}, RUNNING, RUNNING, DONE]
    (event,) = _events(_trigger(api))
    assert event["status"] == "succeeded" and "SUCCEEDED" in event["message"]
    assert api.calls.count("get") >= 4

    api.statuses = [RUNNING, FAILED]
    (event,) = _events(_trigger(api))
    assert event["status"] == "failed" and "backoff exceeded" in event["message"]


def test_trigger_reports_a_vanished_job_and_api_errors_as_failures(api):
    (event,) = _events(_trigger(api))
    assert event["status"] == "failed" and "does not exist" in event["message"]

    class Flaky(FakeCustomObjects):
        def __init__(self, errors):
            super().__init__()
            self.errors = errors

        def get_namespaced_custom_object(self, **kwargs):
            if self.errors:
                self.errors -= 1
                raise ApiException(status=500, reason="boom")
            return super().get_namespaced_custom_object(**kwargs)

    flaky = Flaky(errors=2)  # an API hiccup is not a failed job
    flaky.objects[NS, "fm-train-abc"] = {"status": DONE}
    (event,) = _events(_trigger(flaky))
    assert event["status"] == "succeeded"
    (event,) = _events(_trigger(Flaky(errors=99)))  # a persistent error is
    assert event["status"] == "failed" and "boom" in event["message"]


def test_teardown_deletes_the_job_and_tolerates_it_being_gone(api, kubeconfig):
    _create(api, kubeconfig).execute({})
    delete = _wire(
        DeleteRayJobOperator(
            task_id="delete_ray_job",
            name="fm-train-abc",
            namespace=NS,
            kubernetes_conn_id=None,
            config_file=kubeconfig,
        ),
        api,
    )
    assert delete.execute({}) is True and not api.objects
    assert delete.execute({}) is False


def test_operators_are_cheap_to_build_and_template_their_targets():
    op = CreateRayJobOperator(task_id="c", body="{{ ti.xcom_pull('plan') }}", namespace="x")
    assert "client" not in op.__dict__  # no hook or connection until execute
    assert set(CreateRayJobOperator.template_fields) == {"body", "namespace"}
    assert set(RayJobSensor.template_fields) == {"name", "namespace"}
    assert set(DeleteRayJobOperator.template_fields) == {"name", "namespace"}
