"""KubeRay RayJobs as Airflow tasks: create one (setup) and delete it (teardown).

- :class:`CreateRayJobOperator` (a setup task) creates the RayJob custom resource. Retry-safe:
  a RayJob of the same name that is running or succeeded is adopted; a failed one is deleted and
  created again, and since its run name and checkpoint storage are unchanged, training resumes
  from the latest checkpoint.
- :class:`~ml_platform_airflow.sensors.RayJobSensor` waits for the job, deferred to
  :class:`~ml_platform_airflow.triggers.RayJobTrigger` (no worker slot held) or in reschedule
  mode, and fails with KubeRay's reason when the job fails.
- :class:`DeleteRayJobOperator` (the teardown) deletes the RayJob and with it its Ray cluster,
  whether the training worked or not.

Kubernetes calls go through :class:`~ml_platform_airflow.hooks.RayJobClient`, built lazily.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from ml_platform_airflow.hooks import FAILED, RayJobClientMixin, rayjob_state


def _body(body: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(body, str):
        import yaml

        return yaml.safe_load(body)
    return body


class CreateRayJobOperator(RayJobClientMixin, BaseOperator):
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


class DeleteRayJobOperator(RayJobClientMixin, BaseOperator):
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

    def execute(self, context: Any) -> bool:
        deleted = self.client.delete(self.name, self.namespace)
        self.log.info(
            "RayJob %s/%s %s", self.namespace, self.name, "deleted" if deleted else "was not there"
        )
        return deleted
