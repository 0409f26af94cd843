"""The deferred wait for a KubeRay RayJob (see :class:`~ml_platform_airflow.sensors.RayJobSensor`).

The triggerer rebuilds a trigger from :meth:`RayJobTrigger.serialize`'s class path, so that path
is fixed here (the module a DAG imported the class through must not matter).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ml_platform_airflow.hooks import FAILED, RUNNING, RayJobClientMixin, rayjob_state

RAYJOB_TRIGGER = "ml_platform_airflow.triggers.RayJobTrigger"


class RayJobTrigger(RayJobClientMixin, BaseTrigger):
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
            RAYJOB_TRIGGER,
            {
                "name": self.name,
                "namespace": self.namespace,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "config_file": self.config_file,
                "poll_interval": self.poll_interval,
                "max_errors": self.max_errors,
            },
        )

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
