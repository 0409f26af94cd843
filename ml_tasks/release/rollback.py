"""Rollback: ``champion`` one step back (to ``previous_champion``) or to a given version.

The target's files are verified against their recorded digest first (a mismatch quarantines it
and refuses). The target must have been **released**
(:func:`ml_tasks.release.versions.release_record`); ``force=True`` with a reason of its own
overrides that (never a quarantine or a digest mismatch) and is recorded as such in the audit
history. :func:`plan_rollback` checks, :func:`apply_rollback` moves the aliases (the rollback
DAG runs them as two tasks), :func:`rollback` does both (the CLI).
"""

from __future__ import annotations

import logging
from typing import Any

from ml_tasks.registry import history
from ml_tasks.registry.aliases import (
    ModelQuarantined,
    ReleaseContext,
    move_alias,
    set_status,
    verify_or_quarantine,
)
from ml_tasks.registry.models import CHAMPION, PREVIOUS_CHAMPION, alias_version, client, get_version
from ml_tasks.release.versions import ReleaseError, release_record
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

# The CLI's and the rollback DAG's default reason: not a reason enough to force a rollback.
DEFAULT_ROLLBACK_REASON = "manual rollback"


class RollbackRefused(ReleaseError):
    """A rollback was refused (no target, a never released target, or a digest mismatch)."""


def plan_rollback(
    model_name: str,
    to_version: str | int | None = None,
    *,
    force: bool = False,
    reason: str = "",
    context: ReleaseContext | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The rollback's target, checked: raises :class:`RollbackRefused` with the reason.

    The target must be released (:func:`release_record`) unless ``force``, which needs a
    ``reason`` of its own; its files must match their digest in any case (a mismatch
    quarantines it).
    """
    s = settings or get_settings()
    c = client(s)
    current = alias_version(c, model_name, CHAMPION)
    if current is None:
        raise RollbackRefused(f"{model_name} has no champion: nothing to roll back")
    target = (
        str(to_version)
        if to_version not in (None, "")
        else alias_version(c, model_name, PREVIOUS_CHAMPION)
    )
    if target is None:
        raise RollbackRefused(
            f"{model_name}: no @{PREVIOUS_CHAMPION} to roll back to; give a version (--to-version)"
        )
    if target == current:
        raise RollbackRefused(f"{model_name} v{target} is already the champion")
    get_version(model_name, target, mlflow_client=c)  # ModelNotFound when it does not exist
    record = release_record(c, model_name, target, history.read_events(model_name, s))
    if not record.released and not force:
        raise RollbackRefused(
            f"refusing to roll back {model_name} to v{target}: {record.why}; only a version "
            "that was champion or passed every gate is a rollback target (override: --force "
            "with a --reason, recorded in the audit history)"
        )
    if force and not record.released and reason.strip() in ("", DEFAULT_ROLLBACK_REASON):
        raise RollbackRefused(
            f"forcing a rollback to v{target} ({record.why}) needs a reason of its own "
            '(--reason "..."): it is recorded in the audit history'
        )
    try:
        digest = verify_or_quarantine(
            c,
            model_name,
            target,
            stage="rollback",
            context=context or ReleaseContext.cli(),
            settings=s,
        )
    except ModelQuarantined as err:
        raise RollbackRefused(f"refusing to roll back: {err}") from err
    log.info("rollback target %s v%s verified (sha256 %s)", model_name, target, digest[:16])
    return {
        "model_name": model_name,
        "from_version": current,
        "to_version": target,
        "model_sha256": digest,
        "released": record.released,
        "release_record": record.why,
        "forced": force and not record.released,
    }


def apply_rollback(
    plan: dict[str, Any],
    *,
    context: ReleaseContext,
    reason: str,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Switch ``champion`` to the planned, verified target; record it."""
    s = settings or get_settings()
    c = client(s)
    model_name, current, target = plan["model_name"], plan["from_version"], plan["to_version"]
    now = alias_version(c, model_name, CHAMPION)
    if now != current:
        raise RollbackRefused(
            f"{model_name}: champion changed from v{current} to v{now} since the rollback was "
            "planned: plan it again"
        )
    events = history.read_events(model_name, s)
    before_target = history.previous_holder(events, target)
    forced = bool(plan.get("forced"))
    why = f"rollback from v{current}: {reason}" if reason else f"rollback from v{current}"
    details = {}
    if forced:
        why = f"FORCED {why} (not released: {plan['release_record']})"
        details = {"forced": True, "not_released": plan["release_record"], "reason": reason}
    moved = [
        move_alias(
            c,
            model_name,
            CHAMPION,
            target,
            context=context,
            settings=s,
            reason=why,
            details=details,
        )
    ]
    new_previous = before_target if before_target not in (None, current, target) else None
    if new_previous and not release_record(c, model_name, new_previous, events).released:
        new_previous = None  # never a one-step rollback onto an unapproved version
    moved.append(
        move_alias(
            c,
            model_name,
            PREVIOUS_CHAMPION,
            new_previous,
            context=context,
            settings=s,
            reason=f"after rollback to v{target}: "
            + (f"v{new_previous} preceded it" if new_previous else "nothing older recorded"),
        )
    )
    set_status(c, model_name, current, "rolled_back")
    set_status(c, model_name, target, "champion")
    log.info("rollback: champion v%s -> v%s (%s), forced: %s", current, target, reason, forced)
    return {
        **plan,
        "previous_champion": new_previous,
        "reason": reason,
        "forced": forced,
        "events": [e.to_dict() for e in moved if e is not None],
    }


def rollback(
    model_name: str,
    to_version: str | int | None = None,
    *,
    context: ReleaseContext,
    reason: str = "",
    force: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """One step back (or to a released ``to_version``; ``force`` with a reason: any verified
    version), after verifying the target's digest."""
    plan = plan_rollback(
        model_name, to_version, force=force, reason=reason, context=context, settings=settings
    )
    return apply_rollback(plan, context=context, reason=reason, settings=settings)
