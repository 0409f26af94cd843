"""Which version a release acts on, and whether a version was ever released.

Shared by the staged release (:mod:`ml_tasks.release.staged`), the blue/green flip
(:mod:`ml_tasks.release.flip`) and rollback (:mod:`ml_tasks.release.rollback`). A version is
**released** (:func:`release_record`) when it is not quarantined and was champion before (audit
history, not by a forced rollback) or passed every promotion gate (the verdicts the gates keep
on the version). Only a released version ever becomes ``previous_champion`` or a rollback
target without ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_tasks.registry import history
from ml_tasks.registry.aliases import QUARANTINE_TAG
from ml_tasks.registry.models import CHALLENGER, CHAMPION, alias_version, client, get_version
from ml_tasks.release import gates
from ml_tasks.settings import Settings, get_settings


class ReleaseError(RuntimeError):
    """A release step cannot go ahead (with the reason)."""


@dataclass(frozen=True)
class Release:
    """Whether a version was released (a rollback target, a ``previous_champion``), and why."""

    released: bool
    why: str


def release_record(
    mlflow_client: Any, model_name: str, version: str, events: list[history.AliasEvent]
) -> Release:
    """Released: not quarantined, and champion before (not by force) or passed every gate."""
    tags = mlflow_client.get_model_version(model_name, str(version)).tags or {}
    if tags.get(QUARANTINE_TAG):
        stage = tags.get(f"{QUARANTINE_TAG}.stage", "?")
        return Release(False, f"v{version} is quarantined ({tags[QUARANTINE_TAG]} at {stage})")
    champion = history.released_as_champion(events, str(version))
    if champion is not None:
        return Release(True, f"v{version} was champion (from {champion.at:%Y-%m-%d %H:%M} UTC)")
    verdict = gates.recorded_verdict(tags)
    if verdict == gates.PASSED:
        return Release(True, f"v{version} passed every promotion gate")
    if verdict == gates.BLOCKED:
        blocked = [
            g for g in gates.GATES if tags.get(gates.VERDICT_TAG.format(gate=g)) == gates.BLOCKED
        ]
        state = f"was blocked by the promotion gate(s) {', '.join(blocked)}"
    else:
        state = "has no recorded pass from every promotion gate"
    return Release(False, f"v{version} was never champion and {state}")


def resolve_version(
    model_name: str,
    version: str | int | None = None,
    *,
    event_extra: list[dict[str, Any]] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Which version to act on: the given one, the triggering asset event's, or ``challenger``.

    Returns the version with the current champion, so the DAG can choose its path.
    """
    s = settings or get_settings()
    c = client(s)
    chosen, source = None, None
    if version not in (None, ""):
        chosen, source = str(version), "param"
    else:
        for extra in reversed(event_extra or []):
            if extra and extra.get("version") and extra.get("model_name", model_name) == model_name:
                chosen, source = str(extra["version"]), "asset event"
                break
    if chosen is None:
        chosen, source = alias_version(c, model_name, CHALLENGER), f"@{CHALLENGER}"
    if chosen is None:
        raise ReleaseError(f"{model_name}: no version given and no @{CHALLENGER} alias")
    mv = get_version(model_name, chosen, mlflow_client=c)
    champion = alias_version(c, model_name, CHAMPION)
    return {
        "model_name": model_name,
        "version": mv.version,
        "source": source,
        "run_id": mv.run_id,
        "champion_version": champion,
        "already_champion": champion == mv.version,
        "model_sha256": mv.tags.get("model_sha256"),
    }
