"""KubeRay RayJobs from Airflow, on the cncf-kubernetes provider's ``KubernetesHook``.

- :class:`CreateRayJobOperator` (a setup task) creates the RayJob custom resource. Retry-safe:
  a RayJob of the same name that is running or succeeded is adopted; a failed one is deleted and
  created again, and since its run name and checkpoint storage are unchanged, training resumes
  from the latest checkpoint.
- :class:`RayJobSensor` waits for the job, deferred to :class:`RayJobTrigger` (no worker slot
  held) or in reschedule mode, and fails with KubeRay's reason when the job fails.
- :class:`DeleteRayJobOperator` (the teardown) deletes the RayJob and with it its Ray cluster,
  whether the training worked or not.

Kubernetes calls go through :class:`RayJobClient`, built lazily from the hook, so operators and
trigger run against a fake API in unit tests (the hook itself needs only a kubeconfig file).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import BaseTrigger, TriggerEvent

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


def rayjob_state(obj: dict[str, Any] | None) -> tuple[str, str]:
    """(``running`` | ``succeeded`` | ``failed``, a message) from a RayJob's status."""
    if obj is None:
        return FAILED, "the RayJob does not exist (deleted while waiting?)"
    status = obj.get("status") or {}
    deployment = status.get("jobDeploymentStatus") or ""
    job = status.get("jobStatus") or ""
    detail = status.get("message") or status.get("reason") or ""
    summary = f"jobDeploymentStatus={deployment or '-'} jobStatus={job or '-'}"
    if deployment == "Complete" and job == "SUCCEEDED":
        return SUCCEEDED, summary
    if deployment == "Failed" or (deployment == "Complete" and job in ("FAILED", "STOPPED")):
        return FAILED, f"{summary} {detail}".strip()
    return RUNNING, summary


class RayJobClient:
    """Create, read and delete RayJobs with the provider's hook (its ``CustomObjectsApi``)."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    @property
    def api(self) -> Any:
        return self.hook.custom_object_client

    def create(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        return self.api.create_namespaced_custom_object(
            group=GROUP, version=VERSION, namespace=namespace, plural=PLURAL, body=body
        )

    def get(self, name: str, namespace: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api.get_namespaced_custom_object(
                group=GROUP, version=VERSION, namespace=namespace, plural=PLURAL, name=name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def delete(self, name: str, namespace: str) -> bool:
        """Delete (foreground, so the cluster goes first); False when it was not there."""
        from kubernetes.client import V1DeleteOptions
        from kubernetes.client.exceptions import ApiException

        try:
            self.api.delete_namespaced_custom_object(
                group=GROUP,
                version=VERSION,
                namespace=namespace,
                plural=PLURAL,
                name=name,
                body=V1DeleteOptions(propagation_policy="Foreground"),
            )
            return True
        except ApiException as err:
            if err.status == 404:
                return False
            raise


def _client(kubernetes_conn_id: str | None, config_file: str | None) -> RayJobClient:
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    return RayJobClient(KubernetesHook(conn_id=kubernetes_conn_id, config_file=config_file))


def _body(body: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(body, str):
        import yaml

        return yaml.safe_load(body)
    return body


class CreateRayJobOperator(BaseOperator):
    """Create a RayJob (or adopt / replace an existing one of the same name).

    :param body: the RayJob manifest (dict or YAML), e.g. from ``ml_tasks.training.kuberay``;
        checked with its ``manifest_problems`` before anything is submitted.
    :param namespace: namespace to create it in (defaults to the manifest's).
    :param kubernetes_conn_id: Airflow connection to the cluster.
    :param config_file: kubeconfig path, instead of the connection's settings.
    :param replace_timeout: seconds to wait for a failed RayJob to be gone before re-creating.
    """

    template_fields = ("body", "namespace")
    ui_color = "#e1f5fe"

    def __init__(
        self,
        *,
        body: dict[str, Any] | str,
        namespace: str | None = None,
        kubernetes_conn_id: str | None = "kubernetes_default",
        config_file: str | None = None,
        replace_timeout: float = 180.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.config_file = config_file
        self.replace_timeout = replace_timeout

    @cached_property
    def client(self) -> RayJobClient:
        return _client(self.kubernetes_conn_id, self.config_file)

    def execute(self, context: Any) -> dict[str, str]:
        from ml_tasks.training.kuberay import manifest_problems

        body = _body(self.body)
        # The plan task validated what it rendered, but the body is a template field and may be
        # hand-written: nothing reaches the cluster with a moving image tag, an inline secret
        # or a container without requests and limits.
        problems = manifest_problems(body)
        if problems:
            raise AirflowException("refusing to submit the RayJob:\n  " + "\n  ".join(problems))
        name = body["metadata"]["name"]
        namespace = self.namespace or body["metadata"].get("namespace") or "default"
        existing = self.client.get(name, namespace)
        if existing is not None:
            state, message = rayjob_state(existing)
            if state != FAILED:
                self.log.info("RayJob %s/%s exists (%s): adopting it", namespace, name, message)
                return {"name": name, "namespace": namespace}
            self.log.warning(
                "RayJob %s/%s failed before (%s): replacing it; training resumes from its"
                " checkpoints",
                namespace,
                name,
                message,
            )
            self.client.delete(name, namespace)
            self._wait_gone(name, namespace)
        self.client.create(body, namespace)
        self.log.info("created RayJob %s/%s", namespace, name)
        return {"name": name, "namespace": namespace}

    def _wait_gone(self, name: str, namespace: str) -> None:
        deadline = time.monotonic() + self.replace_timeout
        while self.client.get(name, namespace) is not None:
            if time.monotonic() > deadline:
                raise AirflowException(f"RayJob {namespace}/{name} still exists after delete")
            time.sleep(2)


class RayJobTrigger(BaseTrigger):
    """Poll a RayJob until it succeeds or fails; blocking API calls run in a thread.

    ``max_errors`` consecutive API errors end the wait as a failure.
    """

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        kubernetes_conn_id: str | None = "kubernetes_default",
        config_file: str | None = None,
        poll_interval: float = 30.0,
        max_errors: int = 5,
    ) -> None:
        super().__init__()
        self.name = name
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.config_file = config_file
        self.poll_interval = poll_interval
        self.max_errors = max_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "namespace": self.namespace,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "config_file": self.config_file,
                "poll_interval": self.poll_interval,
                "max_errors": self.max_errors,
            },
        )

    @cached_property
    def client(self) -> RayJobClient:
        return _client(self.kubernetes_conn_id, self.config_file)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        errors = 0
        while True:
            try:
                obj = await asyncio.to_thread(self.client.get, self.name, self.namespace)
            except Exception as err:
                # An API server hiccup is not a failed job; a persistent error is reported.
                errors += 1
                if errors >= self.max_errors:
                    message = f"{type(err).__name__}: {str(err).strip()}"
                    yield TriggerEvent({"status": FAILED, "name": self.name, "message": message})
                    return
                self.log.warning("RayJob %s: API error %d: %s", self.name, errors, err)
                await asyncio.sleep(self.poll_interval)
                continue
            errors = 0
            state, message = rayjob_state(obj)
            if state != RUNNING:
                yield TriggerEvent({"status": state, "name": self.name, "message": message})
                return
            self.log.info("RayJob %s/%s: %s", self.namespace, self.name, message)
            await asyncio.sleep(self.poll_interval)


class RayJobSensor(BaseSensorOperator):
    """Wait for a RayJob to finish; fail loudly with its reason when it fails.

    Deferrable by default (:class:`RayJobTrigger`); with ``deferrable=False`` it pokes in the
    sensor mode given (use ``mode="reschedule"``).
    """

    template_fields = ("name", "namespace")
    ui_color = "#e1f5fe"

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        kubernetes_conn_id: str | None = "kubernetes_default",
        config_file: str | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.config_file = config_file
        self.deferrable = deferrable

    @cached_property
    def client(self) -> RayJobClient:
        return _client(self.kubernetes_conn_id, self.config_file)

    def poke(self, context: Any) -> bool:
        state, message = rayjob_state(self.client.get(self.name, self.namespace))
        if state == FAILED:
            raise AirflowException(f"RayJob {self.namespace}/{self.name} failed: {message}")
        self.log.info("RayJob %s/%s: %s", self.namespace, self.name, message)
        return state == SUCCEEDED

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return {"status": SUCCEEDED, "name": self.name}
        from datetime import timedelta

        self.defer(
            trigger=RayJobTrigger(
                name=self.name,
                namespace=self.namespace,
                kubernetes_conn_id=self.kubernetes_conn_id,
                config_file=self.config_file,
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == SUCCEEDED:
            self.log.info("RayJob %s/%s succeeded: %s", self.namespace, self.name, event["message"])
            return event
        raise AirflowException(
            f"RayJob {self.namespace}/{self.name} failed: {event.get('message')}"
        )


class DeleteRayJobOperator(BaseOperator):
    """Delete a RayJob and its Ray cluster (the teardown of :class:`CreateRayJobOperator`)."""

    template_fields = ("name", "namespace")
    ui_color = "#ffebee"

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        kubernetes_conn_id: str | None = "kubernetes_default",
        config_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.config_file = config_file

    @cached_property
    def client(self) -> RayJobClient:
        return _client(self.kubernetes_conn_id, self.config_file)

    def execute(self, context: Any) -> bool:
        deleted = self.client.delete(self.name, self.namespace)
        self.log.info(
            "RayJob %s/%s %s", self.namespace, self.name, "deleted" if deleted else "was not there"
        )
        return deleted
