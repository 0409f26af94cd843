"""KubeRay RayJobs through the cncf-kubernetes provider's ``KubernetesHook``.

:class:`RayJobClient` creates, reads and deletes RayJob custom resources with the hook's
``CustomObjectsApi``; operators, sensor and trigger build it lazily (:func:`ray_job_client`), so
they run against a fake API in unit tests (the hook itself needs only a kubeconfig file).
:func:`rayjob_state` reads KubeRay's status into running / succeeded / failed.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

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


def ray_job_client(kubernetes_conn_id: str | None, config_file: str | None) -> RayJobClient:
    """The client on a ``KubernetesHook`` (connection or kubeconfig file)."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    return RayJobClient(KubernetesHook(conn_id=kubernetes_conn_id, config_file=config_file))


class RayJobClientMixin:
    """``client``: a :class:`RayJobClient` built on first use from ``kubernetes_conn_id`` and
    ``config_file``, so building a task or trigger opens no connection."""

    kubernetes_conn_id: str | None
    config_file: str | None

    @cached_property
    def client(self) -> RayJobClient:
        return ray_job_client(self.kubernetes_conn_id, self.config_file)
