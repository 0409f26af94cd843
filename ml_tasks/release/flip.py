"""The blue/green flip: ``champion`` moves to a gated version in one registry call.

The challenger's ``model_sha256`` is verified (the digest checkpoint
:func:`ml_tasks.registry.aliases.verify_or_quarantine`), the current champion moves to
``previous_champion`` (only if it was released, :func:`ml_tasks.release.versions.release_record`)
and ``champion`` moves to the challenger; ``canary`` and ``shadow`` are removed. With no champion
yet, the flip is the first release and nothing else happens. ``MlflowClient``'s alias update is
one transaction: a reader resolving ``models:/failure_model@champion`` sees the old version or
the new one, never neither.
"""

from __future__ import annotations

import logging
from typing import Any

from ml_tasks.registry import history
from ml_tasks.registry.aliases import (
    TRAFFIC_TAG,
    ReleaseContext,
    move_alias,
    set_status,
    verify_or_quarantine,
)
from ml_tasks.registry.models import (
    CANARY,
    CHAMPION,
    PREVIOUS_CHAMPION,
    SHADOW,
    alias_version,
    client,
)
from ml_tasks.release.versions import release_record
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)


def promote(
    model_name: str,
    version: str,
    *,
    context: ReleaseContext,
    reason: str = "",
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Blue/green flip: ``champion`` -> ``version``; the old one stays as ``previous_champion``."""
    s = settings or get_settings()
    c = client(s)
    version = str(version)
    before = alias_version(c, model_name, CHAMPION)
    digest = verify_or_quarantine(c, model_name, version, stage="flip", context=context, settings=s)
    why = reason or "passed the promotion gates"
    events = []
    if before != version:
        previous_before = alias_version(c, model_name, PREVIOUS_CHAMPION)
        kept = False
        if before is not None:
            record = release_record(c, model_name, before, history.read_events(model_name, s))
            kept = record.released
            if not kept:
                # A one-step rollback must never land on a version the release did not approve.
                log.warning("v%s is not kept as %s: %s", before, PREVIOUS_CHAMPION, record.why)
        if kept:
            # First the rollback target, so there is never a champion without its way back.
            events.append(
                move_alias(
                    c,
                    model_name,
                    PREVIOUS_CHAMPION,
                    before,
                    context=context,
                    settings=s,
                    reason=f"kept for rollback: v{version} replaces it",
                )
            )
        elif previous_before == version:  # the old rollback target is champion now
            events.append(
                move_alias(
                    c,
                    model_name,
                    PREVIOUS_CHAMPION,
                    None,
                    context=context,
                    settings=s,
                    reason=f"v{version} is champion; v{before} is not released: no rollback target",
                )
            )
        events.append(
            move_alias(
                c,
                model_name,
                CHAMPION,
                version,
                context=context,
                settings=s,
                reason=why if before else f"first champion: {why}",
            )
        )
        set_status(c, model_name, version, "champion")
        if before is not None:
            set_status(c, model_name, before, "previous_champion" if kept else "retired")
        if kept and previous_before and previous_before not in (before, version):
            set_status(c, model_name, previous_before, "retired")
    for alias in (CANARY, SHADOW):
        if alias_version(c, model_name, alias) == version:
            events.append(
                move_alias(
                    c,
                    model_name,
                    alias,
                    None,
                    context=context,
                    settings=s,
                    reason=f"v{version} is champion",
                )
            )
    try:
        c.delete_registered_model_tag(model_name, TRAFFIC_TAG)
    except Exception:  # no canary tag: nothing to clear
        pass
    result = {
        "model_name": model_name,
        "version": version,
        "previous_champion": alias_version(c, model_name, PREVIOUS_CHAMPION),
        "changed": before != version,
        "model_sha256": digest,
        "events": [e.to_dict() for e in events if e is not None],
    }
    log.info(
        "blue/green flip: champion %s -> v%s (previous_champion v%s), sha256 %s verified",
        f"v{before}" if before else "(none)",
        version,
        result["previous_champion"],
        digest[:16],
    )
    return result
