"""Staged release of a gated version: shadow, canary, blue/green flip; and rollback.

Until the serving gateway exists (a later issue) the first two stages act on the registry and on
an **offline replay** of the holdout traffic, and every record says so:

1. **shadow** (:func:`shadow`): alias ``shadow`` on the challenger; the challenger scores the
   replayed traffic beside the champion; their disagreement (score differences, rank
   correlation, how many alert decisions differ at the alert budget) is logged to the
   challenger's MLflow run; the policy may stop the release when the two disagree about too
   many alerts. The alias is removed afterwards.
2. **canary** (:func:`canary`): alias ``canary`` on the challenger, then each traffic step in
   turn (e.g. 10, 50, 100 %): the share is a registered-model tag the gateway will read, and
   the replay routes that share of the machines (stable hash of the machine id) to the
   challenger; each step checks that the challenger's scores are valid probabilities and
   records the step's numbers.
3. **blue/green flip** (:func:`promote`): the challenger's ``model_sha256`` is verified, the
   current champion moves to ``previous_champion`` (only if it was released: see below) and
   ``champion`` moves to the challenger in one registry call each; ``canary`` is removed. With
   no champion yet, the flip is the first release and nothing else happens.

Before shadow, before the canary and each of its steps and at the flip, the version passes the
digest checkpoint :func:`ml_tasks.release.aliases.verify_or_quarantine`; a mismatch stops the
release there and quarantines the version (no alias left, alert sent).

:func:`rollback` moves ``champion`` one step back (to ``previous_champion``, or a given version)
after verifying that version's files against their recorded digest. The target must have been
**released** (:func:`release_record`): champion before (audit history, not by a forced
rollback) or passed every promotion gate (the verdicts the gates keep on the version), and not
quarantined. ``force=True`` with a reason overrides the first two (never a quarantine or a
digest mismatch) and is recorded as such in the audit history. Only a released version ever
becomes ``previous_champion``.

Every alias change goes through :func:`ml_tasks.release.aliases.move_alias` and so into the
audit history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_tasks.evaluation.policy import PromotionPolicy, load_policy
from ml_tasks.evaluation.registry import (
    CANARY,
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    SHADOW,
    alias_version,
    client,
    get_version,
    load_scorer,
)
from ml_tasks.release import gates, history
from ml_tasks.release.aliases import (
    QUARANTINE_TAG,
    TRAFFIC_TAG,
    ModelQuarantined,
    ReleaseContext,
    move_alias,
    record_traffic,
    set_status,
    verify_or_quarantine,
)
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

OFFLINE = "offline replay of the holdout traffic (no serving gateway yet)"
# The CLI's and the rollback DAG's default reason: not a reason enough to force a rollback.
DEFAULT_ROLLBACK_REASON = "manual rollback"


class ReleaseError(RuntimeError):
    """A release step cannot go ahead (with the reason)."""


class RollbackRefused(ReleaseError):
    """A rollback was refused (no target, a never released target, or a digest mismatch)."""


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


def _replay(model_name: str, version: str, settings: Settings, policy: PromotionPolicy) -> Any:
    """Challenger, champion, their scorers and the replayed traffic (the holdout)."""
    from ml_tasks.evaluation.holdout import load_holdout

    c = client(settings)
    challenger = get_version(model_name, version, mlflow_client=c)
    champion_version = alias_version(c, model_name, CHAMPION)
    if champion_version is None or champion_version == challenger.version:
        raise ReleaseError(f"{model_name}: no other champion to compare v{version} with")
    champion = get_version(model_name, champion_version, mlflow_client=c)
    ch_scorer, champ_scorer = load_scorer(challenger), load_scorer(champion)
    columns = list(dict.fromkeys(ch_scorer.features + champ_scorer.features))
    holdout = load_holdout(challenger, champion, columns, policy.evaluation.slice_column)
    return c, challenger, champion, ch_scorer, champ_scorer, holdout


def _log_json(mlflow_client: Any, run_id: str, payload: dict[str, Any], artifact: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(artifact).name
        path.write_text(json.dumps(payload, indent=2, default=str))
        mlflow_client.log_artifact(run_id, str(path), str(Path(artifact).parent))


def shadow(
    model_name: str,
    version: str,
    *,
    context: ReleaseContext,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
) -> dict[str, Any]:
    """Shadow stage: score the replayed traffic with both models and record the disagreement."""
    import numpy as np
    from scipy.stats import spearmanr

    from ml_tasks.evaluation.metrics import budget_flags

    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    verify_or_quarantine(
        client(s), model_name, version, stage="shadow", context=context, settings=s
    )
    c, challenger, champion, ch_scorer, champ_scorer, holdout = _replay(model_name, version, s, pol)
    move_alias(
        c,
        model_name,
        SHADOW,
        version,
        context=context,
        settings=s,
        reason=f"shadow: v{version} scores beside champion v{champion.version} ({OFFLINE})",
    )
    try:
        p_ch, p_champ = ch_scorer(holdout.frame), champ_scorer(holdout.frame)
        budget = pol.evaluation.alert_budget
        a = budget_flags(p_ch, holdout.groups, budget)
        b = budget_flags(p_champ, holdout.groups, budget)
        union = int((a | b).sum())
        disagreement = 1.0 - int((a & b).sum()) / union if union else 0.0
        rank = spearmanr(p_ch, p_champ).statistic if len(p_ch) > 1 else None
        result = {
            "stage": "shadow",
            "mode": OFFLINE,
            "model_name": model_name,
            "version": version,
            "champion_version": champion.version,
            "rows": len(p_ch),
            "window": [holdout.start, holdout.end],
            "mean_abs_score_difference": float(np.mean(np.abs(p_ch - p_champ))),
            "max_abs_score_difference": float(np.max(np.abs(p_ch - p_champ))),
            "rank_correlation": None if rank is None or np.isnan(rank) else float(rank),
            "alerts_challenger": int(a.sum()),
            "alerts_champion": int(b.sum()),
            "alerts_both": int((a & b).sum()),
            "alert_disagreement": float(disagreement),
            "max_alert_disagreement": pol.release.shadow.max_alert_disagreement,
        }
        _log_json(c, challenger.run_id, result, "release/shadow.json")
        c.log_metric(challenger.run_id, "shadow.alert_disagreement", result["alert_disagreement"])
        c.log_metric(
            challenger.run_id,
            "shadow.mean_abs_score_difference",
            result["mean_abs_score_difference"],
        )
        log.info(
            "shadow (%s): v%s vs champion v%s on %d rows: alert disagreement %.3f, mean |dp| "
            "%.4f, rank correlation %s",
            OFFLINE,
            version,
            champion.version,
            result["rows"],
            disagreement,
            result["mean_abs_score_difference"],
            result["rank_correlation"],
        )
    finally:
        move_alias(
            c,
            model_name,
            SHADOW,
            None,
            context=context,
            settings=s,
            reason=f"shadow of v{version} finished",
        )
    limit = pol.release.shadow.max_alert_disagreement
    if limit is not None and disagreement > limit:
        raise ReleaseError(
            f"shadow: alert disagreement {disagreement:.3f} between v{version} and champion "
            f"v{champion.version} > max_alert_disagreement {limit}"
        )
    return result


def route_to_canary(entities: Any, percent: int) -> Any:
    """Stable routing: a machine goes to the canary when its id's hash bucket is < percent."""
    import numpy as np

    buckets = np.array(
        [int(hashlib.sha256(str(e).encode()).hexdigest()[:8], 16) % 100 for e in entities]
    )
    return buckets < percent


def canary(
    model_name: str,
    version: str,
    steps: list[int],
    *,
    context: ReleaseContext,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
) -> dict[str, Any]:
    """Canary stage: alias ``canary`` on ``version``, then each traffic step in order."""
    import numpy as np

    from ml_tasks.evaluation import metrics

    if not steps or any(not 0 < p <= 100 for p in steps) or list(steps) != sorted(steps):
        raise ReleaseError(f"canary steps must rise within 1..100, got {steps}")
    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    verify_or_quarantine(
        client(s), model_name, version, stage="canary", context=context, settings=s
    )
    c, challenger, champion, ch_scorer, champ_scorer, holdout = _replay(model_name, version, s, pol)
    move_alias(
        c,
        model_name,
        CANARY,
        version,
        context=context,
        settings=s,
        reason=f"canary: v{version} beside champion v{champion.version} ({OFFLINE})",
    )
    p_ch, p_champ = ch_scorer(holdout.frame), champ_scorer(holdout.frame)
    entities = holdout.frame[holdout.entity].to_numpy()
    y = holdout.y
    records = []
    for percent in steps:
        # Each step gives the version more traffic: its files are checked again first.
        verify_or_quarantine(
            c, model_name, version, stage=f"canary step {percent} %", context=context, settings=s
        )
        routed = route_to_canary(entities, percent)
        canary_scores = p_ch[routed]
        valid = bool(
            np.isfinite(canary_scores).all() and ((canary_scores >= 0) & (canary_scores <= 1)).all()
        )
        blended = np.where(routed, p_ch, p_champ)
        step = {
            "percent": percent,
            "machines": len(set(entities[routed].tolist())),
            "rows": int(routed.sum()),
            "scores_valid": valid,
            "canary_roc_auc": metrics.roc_auc(y[routed], p_ch[routed]) if routed.any() else None,
            "champion_roc_auc_same_rows": (
                metrics.roc_auc(y[routed], p_champ[routed]) if routed.any() else None
            ),
            "blended_recall_at_budget": metrics.at_budget(
                y, blended, holdout.groups, pol.evaluation.alert_budget
            )["recall_at_budget"],
        }
        records.append(step)
        record_traffic(
            c,
            model_name,
            version,
            percent,
            context=context,
            settings=s,
            reason=f"canary step {percent} % ({OFFLINE})",
            details=step,
        )
        log.info("canary step %d %% (%s): %s", percent, OFFLINE, json.dumps(step, default=str))
        if not valid:
            raise ReleaseError(
                f"canary step {percent} %: v{version} produced invalid scores on its share"
            )
    result = {
        "stage": "canary",
        "mode": OFFLINE,
        "model_name": model_name,
        "version": version,
        "champion_version": champion.version,
        "steps": records,
    }
    _log_json(c, challenger.run_id, result, "release/canary.json")
    return result


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
            "(--reason \"...\"): it is recorded in the audit history"
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
