"""The one place where model aliases move; every move is recorded in the audit history.

``MlflowClient.set_registered_model_alias`` repoints one alias in one registry transaction: a
reader resolving ``models:/failure_model@champion`` sees the old version or the new one, never
neither. That is the blue/green flip. The history row is appended right after each move, with
who moved it (an Airflow DAG run or a person at the CLI) and why.

:func:`verify_or_quarantine` is the one digest checkpoint: before a version becomes
``challenger``, before evaluation scores it, before shadow, before the canary and each of its
traffic steps, at the flip and before a rollback installs it, the sha256 of its files is
recomputed and compared with the ``model_sha256`` recorded at registration. A mismatch stops
the release there: the version loses every alias it holds, is tagged ``quarantined`` (and never
verifies again until a person removes that tag), the quarantine is in the audit history and a
platform alert goes out.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_tasks.registry import history
from ml_tasks.registry.digest import DigestMismatch, digest_problem
from ml_tasks.registry.models import CANARY, alias_version, aliases
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

STATUS_TAG = "release.status"
TRAFFIC_TAG = "canary.traffic_percent"
QUARANTINE_TAG = "quarantined"
DIGEST_MISMATCH = "digest_mismatch"


class ModelQuarantined(DigestMismatch):
    """A version failed its digest checkpoint (now or earlier): it must not get any traffic."""


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


def verify_or_quarantine(
    mlflow_client: Any,
    model_name: str,
    version: str | int,
    *,
    stage: str,
    context: ReleaseContext,
    settings: Settings | None = None,
) -> str:
    """The digest checkpoint before ``stage``: the verified sha256, or quarantine and raise.

    Raises :class:`ModelQuarantined` when the version was quarantined earlier (without
    recomputing anything) or when its files no longer match its ``model_sha256`` tag.
    """
    version = str(version)
    tags = mlflow_client.get_model_version(model_name, version).tags or {}
    if tags.get(QUARANTINE_TAG):
        raise ModelQuarantined(
            f"{model_name} v{version} is quarantined ({tags[QUARANTINE_TAG]} at "
            f"{tags.get(QUARANTINE_TAG + '.stage', '?')}, {tags.get(QUARANTINE_TAG + '.at', '?')})"
            f": refused at {stage}; remove the version tag {QUARANTINE_TAG!r} only after the "
            "files are proven sound"
        )
    actual, problem = digest_problem(mlflow_client, model_name, version)
    if problem is None:
        log.info("%s v%s sha256 %s verified before %s", model_name, version, actual[:16], stage)
        return actual
    removed = quarantine(
        mlflow_client,
        model_name,
        version,
        stage=stage,
        problem=problem,
        actual=actual,
        context=context,
        settings=settings,
    )
    raise ModelQuarantined(
        f"{problem}; release stopped at {stage}: v{version} quarantined"
        + (f", aliases removed: {', '.join('@' + a for a in removed)}" if removed else "")
    )


def quarantine(
    mlflow_client: Any,
    model_name: str,
    version: str,
    *,
    stage: str,
    problem: str,
    actual: str,
    context: ReleaseContext,
    settings: Settings | None = None,
) -> list[str]:
    """Take every alias off ``version``, mark it quarantined, record it, alert; the aliases."""
    from ml_tasks.alerts import alert_payload, send_alert

    s = settings or get_settings()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    # The mark first: should anything below fail, the version still never verifies again.
    for key, value in {
        QUARANTINE_TAG: DIGEST_MISMATCH,
        f"{QUARANTINE_TAG}.stage": stage,
        f"{QUARANTINE_TAG}.at": now,
        f"{QUARANTINE_TAG}.sha256": actual,
    }.items():
        mlflow_client.set_model_version_tag(model_name, version, key, value)
    set_status(mlflow_client, model_name, version, "quarantined")
    held = [a for a, v in aliases(mlflow_client, model_name).items() if v == version]
    for alias in held:
        move_alias(
            mlflow_client,
            model_name,
            alias,
            None,
            reason=f"quarantined at {stage}: sha256 mismatch",
            context=context,
            settings=s,
        )
    if CANARY in held:
        try:
            mlflow_client.delete_registered_model_tag(model_name, TRAFFIC_TAG)
        except Exception:  # no traffic share recorded yet: nothing to clear
            pass
    details = {"stage": stage, "sha256_now": actual, "removed_aliases": held}
    history.append(
        history.AliasEvent(
            model_name=model_name,
            alias=QUARANTINE_TAG,
            action="quarantine",
            from_version=version,
            to_version=None,
            reason=f"{DIGEST_MISMATCH} at {stage}: {problem}",
            actor=context.actor,
            dag_id=context.dag_id,
            run_id=context.run_id,
            details=details,
        ),
        s,
        mlflow_client,
    )
    payload = alert_payload(
        f"Model quarantined: {model_name} v{version} failed its sha256 check at {stage}",
        dag_id=context.dag_id,
        task_id=None,
        run_id=context.run_id,
        error=problem,
        extra={"model_name": model_name, "version": version, **details},
    )
    try:
        send_alert(payload)
    except Exception as err:  # the quarantine stands; a dead webhook must not hide the error
        log.error("quarantine alert for %s v%s not delivered: %s", model_name, version, err)
    return held
