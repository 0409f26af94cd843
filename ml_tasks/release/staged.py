"""Staged release of a gated version: shadow, then canary steps, before the flip.

With a serving gateway running (:func:`release_gateway`: ``PLATFORM_GATEWAY_URL``, or the one
``serve`` recorded), both stages run on **live gateway traffic**, one step per call of
:func:`shadow_step` / :func:`canary_step` (:mod:`ml_tasks.release.live_walk`: aliases and
canary shares set, the gateway asked to reload, then the prediction log's numbers gated by the
policy's ``release.live`` section). Without one, the explicit fallback is an **offline replay**
of the holdout traffic, below; every log line, XCom and MLflow record names the mode that ran
(``mode``: :data:`LIVE` or :data:`OFFLINE`):

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

Then the blue/green flip (:mod:`ml_tasks.release.flip`). Before shadow and before the canary and
each of its steps, the version passes the digest checkpoint
:func:`ml_tasks.registry.aliases.verify_or_quarantine`; a mismatch stops the release there and
quarantines the version (no alias left, alert sent). Every alias change goes through
:func:`ml_tasks.registry.aliases.move_alias` and so into the audit history.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ml_tasks.registry.aliases import (
    ReleaseContext,
    move_alias,
    record_traffic,
    verify_or_quarantine,
)
from ml_tasks.registry.models import (
    CANARY,
    CHAMPION,
    SHADOW,
    alias_version,
    client,
    get_version,
    load_scorer,
    write_run_json,
)
from ml_tasks.release import live_walk
from ml_tasks.release.live_walk import LiveProgress
from ml_tasks.release.policy import PromotionPolicy, load_policy
from ml_tasks.release.versions import ReleaseError
from ml_tasks.serving.router import bucket
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

OFFLINE = "offline replay of the holdout traffic (no gateway configured)"
LIVE = live_walk.LIVE


def release_gateway(settings: Settings) -> str | None:
    """The running gateway a release acts on (None: none configured or found: offline)."""
    from ml_tasks.serving.discovery import gateway_url

    return gateway_url(settings)


def shadow_step(
    model_name: str,
    version: str,
    *,
    context: ReleaseContext,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
) -> LiveProgress:
    """The shadow stage, one step per call: live when a gateway runs, else the offline replay
    (done in one call). Raises :class:`~ml_tasks.release.live_walk.LiveReleaseBlocked` on a
    live breach, :class:`ReleaseError` on an offline one."""
    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    gateway = live_walk.stage_gateway(model_name, version, SHADOW, context, s) or release_gateway(s)
    if gateway is None:
        log.info("shadow of v%s: no gateway configured, running the %s", version, OFFLINE)
        result = shadow(model_name, version, context=context, settings=s, policy=pol)
        return LiveProgress(SHADOW, True, f"shadow done on the {OFFLINE}", result=result)
    progress = live_walk.advance_shadow(
        model_name, version, gateway=gateway, context=context, settings=s, policy=pol
    )
    log.info("shadow of v%s (%s, gateway %s): %s", version, LIVE, gateway, progress.message)
    return progress


def canary_step(
    model_name: str,
    version: str,
    steps: list[int],
    *,
    context: ReleaseContext,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
) -> LiveProgress:
    """The canary stage, one step per call: live when a gateway runs (each traffic share
    waits for its answers and is gated), else the offline replay (done in one call)."""
    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    gateway = live_walk.stage_gateway(model_name, version, CANARY, context, s) or release_gateway(s)
    if gateway is None:
        log.info("canary of v%s: no gateway configured, running the %s", version, OFFLINE)
        result = canary(model_name, version, steps, context=context, settings=s, policy=pol)
        return LiveProgress(CANARY, True, f"canary done on the {OFFLINE}", result=result)
    progress = live_walk.advance_canary(
        model_name, version, steps, gateway=gateway, context=context, settings=s, policy=pol
    )
    log.info("canary of v%s (%s, gateway %s): %s", version, LIVE, gateway, progress.message)
    return progress


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


def _enter(
    stage: str,
    model_name: str,
    version: str,
    reason: str,
    *,
    context: ReleaseContext,
    settings: Settings,
    policy: PromotionPolicy,
) -> Any:
    """Verify the version's digest, load the replay, then put alias ``stage`` on the version.

    ``reason`` may name ``{champion}``, the version it is compared with. Returns :func:`_replay`'s
    tuple.
    """
    verify_or_quarantine(
        client(settings), model_name, version, stage=stage, context=context, settings=settings
    )
    replay = _replay(model_name, version, settings, policy)
    c, champion = replay[0], replay[2]
    move_alias(
        c,
        model_name,
        stage,
        version,
        context=context,
        settings=settings,
        reason=reason.format(champion=champion.version),
    )
    return replay


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
    c, challenger, champion, ch_scorer, champ_scorer, holdout = _enter(
        SHADOW,
        model_name,
        version,
        f"shadow: v{version} scores beside champion v{{champion}} ({OFFLINE})",
        context=context,
        settings=s,
        policy=pol,
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
        write_run_json(c, challenger.run_id, result, "release/shadow.json")
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

    buckets = np.array([bucket(e) for e in entities])
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
    c, challenger, champion, ch_scorer, champ_scorer, holdout = _enter(
        CANARY,
        model_name,
        version,
        f"canary: v{version} beside champion v{{champion}} ({OFFLINE})",
        context=context,
        settings=s,
        policy=pol,
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
    write_run_json(c, challenger.run_id, result, "release/canary.json")
    return result
