"""The one place where model aliases move; every move is recorded in the audit history.

``MlflowClient.set_registered_model_alias`` repoints one alias in one registry transaction: a
reader resolving ``models:/failure_model@champion`` sees the old version or the new one, never
neither. That is the blue/green flip. The history row is appended right after each move, with
who moved it (an Airflow DAG run or a person at the CLI) and why.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_tasks.evaluation.registry import alias_version
from ml_tasks.release import history
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

STATUS_TAG = "release.status"
TRAFFIC_TAG = "canary.traffic_percent"


@dataclass(frozen=True)
class ReleaseContext:
    """Who is acting: an Airflow DAG run, or a person at the CLI."""

    actor: str
    dag_id: str | None = None
    run_id: str | None = None

    @classmethod
    def airflow(cls, dag_id: str, run_id: str) -> ReleaseContext:
        return cls(actor="airflow", dag_id=dag_id, run_id=run_id)

    @classmethod
    def cli(cls) -> ReleaseContext:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return cls(actor=f"cli:{user}", run_id=f"cli__{stamp}")


def move_alias(
    mlflow_client: Any,
    model_name: str,
    alias: str,
    version: str | None,
    *,
    reason: str,
    context: ReleaseContext,
    settings: Settings | None = None,
    details: dict[str, Any] | None = None,
) -> history.AliasEvent | None:
    """Point ``alias`` at ``version`` (None: remove it) and record it; None if nothing moved."""
    s = settings or get_settings()
    current = alias_version(mlflow_client, model_name, alias)
    target = None if version is None else str(version)
    if current == target:
        return None
    if target is None:
        mlflow_client.delete_registered_model_alias(model_name, alias)
        action = "delete"
    else:
        mlflow_client.set_registered_model_alias(model_name, alias, target)
        action = "set"
    event = history.AliasEvent(
        model_name=model_name,
        alias=alias,
        action=action,
        from_version=current,
        to_version=target,
        reason=reason,
        actor=context.actor,
        dag_id=context.dag_id,
        run_id=context.run_id,
        details=details or {},
    )
    history.append(event, s, mlflow_client)
    log.info("alias %s", event.describe())
    return event


def record_traffic(
    mlflow_client: Any,
    model_name: str,
    version: str,
    percent: int,
    *,
    reason: str,
    context: ReleaseContext,
    settings: Settings | None = None,
    details: dict[str, Any] | None = None,
) -> history.AliasEvent:
    """Record the canary's traffic share (a registered-model tag the gateway will read)."""
    s = settings or get_settings()
    mlflow_client.set_registered_model_tag(model_name, TRAFFIC_TAG, str(percent))
    event = history.AliasEvent(
        model_name=model_name,
        alias="canary",
        action="traffic",
        from_version=version,
        to_version=version,
        reason=reason,
        actor=context.actor,
        dag_id=context.dag_id,
        run_id=context.run_id,
        details={"traffic_percent": percent, **(details or {})},
    )
    history.append(event, s, mlflow_client)
    log.info("alias %s", event.describe())
    return event


def set_status(mlflow_client: Any, model_name: str, version: str, status: str) -> None:
    """The version's ``release.status`` tag (champion, previous_champion, retired, ...)."""
    mlflow_client.set_model_version_tag(model_name, str(version), STATUS_TAG, status)
    mlflow_client.set_model_version_tag(
        model_name,
        str(version),
        f"{STATUS_TAG}_at",
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
