"""``promote_model`` without Airflow: gates, then shadow -> canary -> the blue/green flip.

The same functions the DAG's tasks call, in the DAG's order: :func:`~ml_tasks.release.versions.
resolve_version`; every promotion gate (:func:`~ml_tasks.release.gates.decide`, its verdict
recorded on the version as the gate sensors record it); with a champion, the shadow and canary
stages one step at a time (:func:`~ml_tasks.release.staged.shadow_step`,
:func:`~ml_tasks.release.staged.canary_step`: live on a running gateway, else the offline
replay), waiting between steps as the stage sensors do; then
:func:`~ml_tasks.release.flip.promote`. Without a champion (the first release) a version that
passed the gates goes straight to the flip.

A gate that says no, or waits for an evaluation that is not complete, stops the release before
any alias moves (:class:`PromotionRefused`). A stage that breaches the policy undoes itself
(:class:`~ml_tasks.release.live_walk.LiveReleaseBlocked`); one that runs out of time, or is
interrupted (Ctrl-C), is undone here with :func:`~ml_tasks.release.live_walk.abort_stage`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ml_tasks.release.versions import ReleaseError
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

DEFAULT_CANARY_STEPS = (10, 50, 100)
# The DAG's stage sensors: a poke every 15 s, timeouts of 2 h (shadow) and 6 h (canary).
POLL_SECONDS = 15.0
STAGE_TIMEOUT_S = {"shadow": 2 * 3600.0, "canary": 6 * 3600.0}


class PromotionRefused(ReleaseError):
    """A gate blocked the version, or its evaluation is not complete; nothing moved."""

    def __init__(self, message: str, decisions: list[Any]) -> None:
        super().__init__(message)
        self.decisions = decisions


def check_gates(
    model_name: str, version: str, *, settings: Settings, policy: Any = None
) -> list[Any]:
    """Every gate's decision (recorded on the version); raises :class:`PromotionRefused`."""
    from ml_tasks.release.gates import GATES, decide, format_decisions
    from ml_tasks.release.policy import load_policy

    pol = policy or load_policy(settings=settings)
    decisions = [
        decide(g, model_name, version, settings=settings, policy=pol, record=True) for g in GATES
    ]
    if any(d is None for d in decisions):
        raise PromotionRefused(
            f"{model_name} v{version}: the evaluation is not complete (run `make evaluate"
            f" VERSION={version}` first)\n{format_decisions(decisions)}",
            decisions,
        )
    if not all(d is not None and d.passed for d in decisions):
        raise PromotionRefused(
            f"{model_name} v{version} is blocked by the promotion gates\n"
            f"{format_decisions(decisions)}",
            decisions,
        )
    return decisions


def run_stage(
    step: Callable[[], Any],
    stage: str,
    *,
    model_name: str,
    version: str,
    context: Any,
    settings: Settings,
    poll_seconds: float = POLL_SECONDS,
    timeout_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Call ``step`` until the stage is done; undo it on a timeout or an interrupt."""
    from ml_tasks.release.live_walk import abort_stage

    limit = timeout_s or STAGE_TIMEOUT_S[stage]
    deadline = time.monotonic() + limit
    try:
        while True:
            progress = step()
            log.info("%s: %s", stage, progress.message)
            if progress.done:
                return dict(progress.result) if progress.result is not None else None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {stage} stage did not finish in {limit:.0f} s")
            sleep(poll_seconds)
    except (TimeoutError, KeyboardInterrupt) as err:
        why = str(err) or f"the {stage} stage was interrupted"
        undone = abort_stage(
            model_name, version, stage, context=context, settings=settings, why=why
        )
        log.error("%s%s", why, "; stage undone" if undone else "")
        raise


def promote(
    model_name: str,
    version: str | int | None = None,
    *,
    canary_steps: Sequence[int] = DEFAULT_CANARY_STEPS,
    reason: str = "passed the promotion gates",
    settings: Settings | None = None,
    policy: Any = None,
    poll_seconds: float = POLL_SECONDS,
) -> dict[str, Any]:
    """Release ``version`` (default: the challenger) as ``promote_model`` would.

    Returns the version, the gate decisions, the path taken, each stage's result and the flip's.
    """
    from ml_tasks.registry.aliases import ReleaseContext
    from ml_tasks.release import flip, staged
    from ml_tasks.release.versions import resolve_version

    s = settings or get_settings()
    resolved = resolve_version(model_name, version, settings=s)
    chosen = str(resolved["version"])
    decisions = check_gates(model_name, chosen, settings=s, policy=policy)
    # One context for the whole release: the live stages find their position by its run id.
    context = ReleaseContext.cli()
    out: dict[str, Any] = {
        "model_name": model_name,
        "version": chosen,
        "champion_before": resolved["champion_version"],
        "gates": [d.to_dict() for d in decisions],
        "path": "flip",
        "shadow": None,
        "canary": None,
    }
    if resolved["champion_version"] is not None and not resolved["already_champion"]:
        out["path"] = "shadow -> canary -> flip"
        common: dict[str, Any] = {
            "model_name": model_name,
            "version": chosen,
            "context": context,
            "settings": s,
        }
        out["shadow"] = run_stage(
            lambda: staged.shadow_step(
                model_name, chosen, context=context, settings=s, policy=policy
            ),
            "shadow",
            poll_seconds=poll_seconds,
            **common,
        )
        out["canary"] = run_stage(
            lambda: staged.canary_step(
                model_name,
                chosen,
                [int(p) for p in canary_steps],
                context=context,
                settings=s,
                policy=policy,
            ),
            "canary",
            poll_seconds=poll_seconds,
            **common,
        )
    out["flip"] = flip.promote(model_name, chosen, context=context, reason=reason, settings=s)
    return out


def format_promotion(result: dict[str, Any]) -> str:
    """A short human-readable account of :func:`promote`'s result."""
    flipped = result["flip"]
    lines = [
        f"{result['model_name']} v{result['version']}: every gate passed; path {result['path']}",
    ]
    for stage in ("shadow", "canary"):
        if result.get(stage):
            mode = result[stage].get("mode") or result[stage].get("source") or ""
            lines.append(f"  {stage:<7} done {mode}".rstrip())
    before = result["champion_before"]
    lines.append(
        f"  champion {'v' + before if before else 'none'} -> v{result['version']}"
        + ("" if flipped.get("changed", True) else " (already champion)")
    )
    return "\n".join(lines)
