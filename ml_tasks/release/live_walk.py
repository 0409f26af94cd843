"""Shadow and canary on live gateway traffic, one step of the walk per call.

``promote_model``'s shadow and canary sensors call :func:`advance_shadow` and
:func:`advance_canary` at every poke. Each call looks at where the stage stands, does the next
thing, and returns a :class:`LiveProgress`:

- not started: check the version's digest, set the alias (``shadow``, or ``canary`` and its
  first traffic share), ask the gateway to reload (it also polls the registry every few
  seconds, so a failed call is only a warning);
- started: read the stage's window of the prediction log and decide
  (:mod:`ml_tasks.release.live`). Not enough answers yet: keep waiting, up to the policy's
  ``wait_seconds``. A canary step that passes moves to the next share (digest checked again);
  the last one ends the stage with every step's numbers. The shadow removes its alias when done.
- a breach or a timeout: the shadow alias is removed, or the canary share set to 0 and the
  canary alias removed; the champion is never touched; :class:`LiveReleaseBlocked` carries the
  decision and its reasons.

Where a stage stands is read back from the audit history of the alias moves
(:mod:`ml_tasks.registry.history`), filtered to the acting run: the stage began at the alias's
``set`` event, the current canary step at the latest ``traffic`` event. So the walk needs no
state of its own between calls (Airflow clears a rescheduled sensor's XCom at every poke) and a
restarted worker picks up where the stage was.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_tasks.registry import history
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
    write_run_json,
)
from ml_tasks.release import live
from ml_tasks.release.policy import PromotionPolicy
from ml_tasks.release.versions import ReleaseError
from ml_tasks.settings import Settings

log = logging.getLogger(__name__)

LIVE = "live gateway traffic"
RELOAD_TIMEOUT_S = 5.0


class LiveReleaseBlocked(ReleaseError):
    """A live stage breached the policy or ran out of time; ``decision`` says why."""

    def __init__(self, message: str, decision: dict[str, Any]) -> None:
        super().__init__(message)
        self.decision = decision


@dataclass(frozen=True)
class LiveProgress:
    """Where a live stage stands after one call: ``done`` with its ``result``, or waiting."""

    stage: str
    done: bool
    message: str
    result: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None


def request_reload(gateway: str, reason: str) -> bool:
    """Ask the gateway to re-read the aliases now (POST /v1/admin/reload); False on failure."""
    request = urllib.request.Request(
        f"{gateway.rstrip('/')}/v1/admin/reload",
        data=json.dumps({"reason": reason}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_TIMEOUT_S) as response:
            response.read()
        return True
    except (urllib.error.URLError, OSError, ValueError) as err:
        # The gateway also polls the registry every few seconds: it will see the move anyway.
        log.warning(
            "gateway %s did not take the reload (%s); it will poll the change", gateway, err
        )
        return False


def _since_set(
    model_name: str, version: str, alias: str, context: ReleaseContext, settings: Settings
) -> tuple[history.AliasEvent | None, list[history.AliasEvent]]:
    """This run's ``set`` of ``alias`` to ``version`` still in force, and the events after it."""
    events = [e for e in history.read_events(model_name, settings) if e.run_id == context.run_id]
    started: history.AliasEvent | None = None
    after: list[history.AliasEvent] = []
    for event in events:
        if event.alias != alias:
            continue
        if event.action == "set":
            started, after = (event, []) if event.to_version == version else (None, [])
        elif event.action == "delete":
            started, after = None, []
        elif started is not None:
            after.append(event)
    return started, after


def stage_gateway(
    model_name: str, version: str, alias: str, context: ReleaseContext, settings: Settings
) -> str | None:
    """The gateway a live stage of this run began on (None: no live stage in progress), so a
    stage keeps its mode to the end even if discovery stops finding the gateway."""
    started, _ = _since_set(model_name, str(version), alias, context, settings)
    if started is None or started.details.get("mode") != LIVE:
        return None
    return str(started.details.get("gateway") or "") or None


def _champion(c: Any, model_name: str, version: str) -> str:
    champion = alias_version(c, model_name, CHAMPION)
    if champion is None or champion == version:
        raise ReleaseError(f"{model_name}: no other champion to compare v{version} with")
    return champion


def _record(c: Any, model_name: str, version: str, payload: dict[str, Any], name: str) -> None:
    """The stage's record on the challenger's MLflow run (artifact and metrics)."""
    run_id = get_version(model_name, version, mlflow_client=c).run_id
    write_run_json(c, run_id, payload, f"release/{name}.json")
    for key in ("alert_disagreement", "mean_abs_score_difference", "error_rate"):
        value = payload.get(key)
        if isinstance(value, int | float):
            c.log_metric(run_id, f"{name}.live.{key}", float(value))


def _age_s(started: datetime, now: datetime) -> float:
    return (now - started).total_seconds()


def _timed_out(decision: live.LiveDecision, waited: float, policy: PromotionPolicy) -> bool:
    return not decision.ready and waited > policy.release.live.wait_seconds


def _timeout_reason(decision: live.LiveDecision, waited: float) -> str:
    return (
        f"live {decision.name}: still waiting for {decision.waiting_for} after {waited:.0f} s "
        "(release.live.wait_seconds): no traffic, or the candidate does not answer"
    )


# -- shadow -------------------------------------------------------------------------------------


def _shadow_record(decision: live.LiveDecision, gateway: str, started: datetime) -> dict[str, Any]:
    n, agree = decision.numbers, decision.numbers.agreement
    return {
        "stage": "shadow",
        "mode": LIVE,
        "gateway": gateway,
        "model_name": decision.model_name,
        "version": decision.version,
        "champion_version": decision.champion_version,
        "started_at": started.isoformat(),
        "mirrored_answers": n.candidate_answers,
        "mirrors_failed": n.mirrors.get("error", 0),
        "mirrors_dropped": n.mirrors.get("dropped", 0),
        "error_rate": n.error_rate,
        "mean_abs_score_difference": agree.mean_abs_score_difference,
        "max_abs_score_difference": agree.max_abs_score_difference,
        "alerts_challenger": agree.alerts_candidate,
        "alerts_champion": agree.alerts_champion,
        "alerts_both": agree.alerts_both,
        "alert_disagreement": agree.alert_disagreement,
        "passed": decision.passed,
        "reasons": decision.reasons,
    }


def _enter_stage(
    mlflow_client: Any,
    model_name: str,
    version: str,
    stage: str,
    reason: str,
    *,
    gateway: str,
    context: ReleaseContext,
    settings: Settings,
) -> None:
    """Start a live stage: the version's digest checkpoint, then alias ``stage`` on it."""
    verify_or_quarantine(
        mlflow_client, model_name, version, stage=stage, context=context, settings=settings
    )
    move_alias(
        mlflow_client,
        model_name,
        stage,
        version,
        context=context,
        settings=settings,
        reason=reason,
        details={"mode": LIVE, "gateway": gateway},
    )


def advance_shadow(
    model_name: str,
    version: str,
    *,
    gateway: str,
    context: ReleaseContext,
    settings: Settings,
    policy: PromotionPolicy,
    now: datetime | None = None,
) -> LiveProgress:
    """One step of the live shadow stage (see the module docstring)."""
    c = client(settings)
    version = str(version)
    now = now or datetime.now(UTC)
    started, _ = _since_set(model_name, version, SHADOW, context, settings)
    champion = _champion(c, model_name, version)
    if started is None or alias_version(c, model_name, SHADOW) != version:
        _enter_stage(
            c,
            model_name,
            version,
            SHADOW,
            f"shadow: v{version} scores mirrored requests beside champion v{champion} ({LIVE})",
            gateway=gateway,
            context=context,
            settings=settings,
        )
        request_reload(gateway, f"shadow v{version}")
        return LiveProgress(SHADOW, False, f"shadow set on v{version}; waiting for mirrors")

    numbers = live.measure(settings, stage=SHADOW, version=version, since=started.at, until=now)
    decision = live.decide_shadow(numbers, policy, model_name=model_name, champion_version=champion)
    waited = _age_s(started.at, now)
    if not decision.ready and not _timed_out(decision, waited, policy):
        return LiveProgress(
            SHADOW, False, decision.summary() + f" ({waited:.0f} s)", decision=decision.to_dict()
        )
    record = _shadow_record(decision, gateway, started.at)
    outcome = "passed" if decision.passed else "blocked"
    if not decision.ready:
        record["reasons"] = [_timeout_reason(decision, waited)]
    move_alias(
        c,
        model_name,
        SHADOW,
        None,
        context=context,
        settings=settings,
        reason=f"shadow of v{version} {outcome} on {LIVE}",
        details={"mode": LIVE, "outcome": outcome},
    )
    request_reload(gateway, f"shadow v{version} {outcome}")
    _record(c, model_name, version, {**record, "decision": decision.to_dict()}, "shadow")
    if not decision.passed:
        message = decision.summary() if decision.ready else "; ".join(record["reasons"])
        raise LiveReleaseBlocked(message, {**decision.to_dict(), "reasons": record["reasons"]})
    return LiveProgress(
        SHADOW, True, decision.summary(), result=record, decision=decision.to_dict()
    )


# -- canary -------------------------------------------------------------------------------------


def _step_record(decision: live.LiveDecision, started: datetime) -> dict[str, Any]:
    n, agree = decision.numbers, decision.numbers.agreement
    canary = n.traffic.get(CANARY)
    champion = n.traffic.get(CHAMPION)
    latency = next((c for c in decision.checks if c.metric == "p99_latency_ms"), None)
    return {
        "percent": decision.step,
        "started_at": started.isoformat(),
        "canary_answers": n.candidate_answers,
        "champion_answers": champion.answers if champion else 0,
        "canary_errors": n.candidate_errors,
        "error_rate": n.error_rate,
        "canary_p50_ms": canary.p50_latency_ms if canary else None,
        "canary_p99_ms": canary.p99_latency_ms if canary else None,
        "champion_p99_ms": latency.champion if latency else None,
        "paired_answers": agree.pairs,
        "mean_abs_score_difference": agree.mean_abs_score_difference,
        "alert_disagreement": agree.alert_disagreement,
        "passed": decision.passed,
    }


def _step_numbers(
    model_name: str,
    version: str,
    champion: str,
    percent: int,
    since: datetime,
    until: datetime,
    baseline: float | None,
    settings: Settings,
    policy: PromotionPolicy,
) -> live.LiveDecision:
    numbers = live.measure(settings, stage=CANARY, version=version, since=since, until=until)
    return live.decide_canary(
        numbers,
        policy,
        model_name=model_name,
        champion_version=champion,
        percent=percent,
        baseline_p99_ms=baseline,
    )


def _roll_back(
    c: Any,
    model_name: str,
    version: str,
    *,
    gateway: str,
    context: ReleaseContext,
    settings: Settings,
    why: str,
) -> None:
    """Canary share to 0 and the canary alias removed; the champion is not touched."""
    record_traffic(
        c,
        model_name,
        version,
        0,
        context=context,
        settings=settings,
        reason=f"canary rolled back: {why}",
        details={"mode": LIVE, "outcome": "blocked"},
    )
    move_alias(
        c,
        model_name,
        CANARY,
        None,
        context=context,
        settings=settings,
        reason=f"canary of v{version} blocked on {LIVE}",
        details={"mode": LIVE, "outcome": "blocked"},
    )
    request_reload(gateway, f"canary v{version} rolled back")


def _set_step(
    c: Any,
    model_name: str,
    version: str,
    percent: int,
    *,
    gateway: str,
    context: ReleaseContext,
    settings: Settings,
    after: dict[str, Any] | None = None,
) -> None:
    # Each step gives the version more traffic: its files are checked again first.
    verify_or_quarantine(
        c, model_name, version, stage=f"canary step {percent} %", context=context, settings=settings
    )
    record_traffic(
        c,
        model_name,
        version,
        percent,
        context=context,
        settings=settings,
        reason=f"canary step {percent} % ({LIVE})",
        details={"mode": LIVE, **({"previous_step": after} if after else {})},
    )
    request_reload(gateway, f"canary v{version} at {percent} %")


def advance_canary(
    model_name: str,
    version: str,
    steps: list[int],
    *,
    gateway: str,
    context: ReleaseContext,
    settings: Settings,
    policy: PromotionPolicy,
    now: datetime | None = None,
) -> LiveProgress:
    """One step of the live canary stage (see the module docstring)."""
    if not steps or any(not 0 < p <= 100 for p in steps) or list(steps) != sorted(set(steps)):
        raise ReleaseError(f"canary steps must rise within 1..100, got {steps}")
    c = client(settings)
    version = str(version)
    now = now or datetime.now(UTC)
    champion = _champion(c, model_name, version)
    started, after = _since_set(model_name, version, CANARY, context, settings)
    if started is None or alias_version(c, model_name, CANARY) != version:
        _enter_stage(
            c,
            model_name,
            version,
            CANARY,
            f"canary: v{version} beside champion v{champion} ({LIVE})",
            gateway=gateway,
            context=context,
            settings=settings,
        )
        _set_step(
            c, model_name, version, steps[0], gateway=gateway, context=context, settings=settings
        )
        return LiveProgress(CANARY, False, f"canary v{version} at {steps[0]} %; waiting")
    shares = [
        (int(e.details.get("traffic_percent", 0)), e.at) for e in after if e.action == "traffic"
    ]
    if not shares:  # stopped between the alias and its first share
        _set_step(
            c, model_name, version, steps[0], gateway=gateway, context=context, settings=settings
        )
        return LiveProgress(CANARY, False, f"canary v{version} at {steps[0]} %; waiting")
    percent, step_started = shares[-1]
    baseline = live.champion_p99_ms(settings, started.at)
    decision = _step_numbers(
        model_name, version, champion, percent, step_started, now, baseline, settings, policy
    )
    waited = _age_s(step_started, now)
    if not decision.ready and not _timed_out(decision, waited, policy):
        return LiveProgress(
            CANARY, False, decision.summary() + f" ({waited:.0f} s)", decision=decision.to_dict()
        )
    if not decision.passed:
        reasons = decision.reasons if decision.ready else [_timeout_reason(decision, waited)]
        _roll_back(
            c,
            model_name,
            version,
            why="; ".join(reasons),
            gateway=gateway,
            context=context,
            settings=settings,
        )
        record = {
            **_result(model_name, version, champion, gateway, started.at),
            "steps": _steps(model_name, version, champion, shares, now, baseline, settings, policy),
            "passed": False,
            "reasons": reasons,
        }
        _record(c, model_name, version, {**record, "decision": decision.to_dict()}, "canary")
        message = decision.summary() if decision.ready else reasons[0]
        raise LiveReleaseBlocked(message, {**decision.to_dict(), "reasons": reasons})
    remaining = [p for p in steps if p > percent]
    if remaining:
        _set_step(
            c,
            model_name,
            version,
            remaining[0],
            after=_step_record(decision, step_started),
            gateway=gateway,
            context=context,
            settings=settings,
        )
        return LiveProgress(
            CANARY,
            False,
            f"{decision.summary()}; canary v{version} now at {remaining[0]} %",
            decision=decision.to_dict(),
        )
    record = {
        **_result(model_name, version, champion, gateway, started.at),
        "steps": _steps(model_name, version, champion, shares, now, baseline, settings, policy),
        "passed": True,
    }
    _record(c, model_name, version, record, "canary")
    return LiveProgress(
        CANARY, True, decision.summary(), result=record, decision=decision.to_dict()
    )


def _result(
    model_name: str, version: str, champion: str, gateway: str, started: datetime
) -> dict[str, Any]:
    return {
        "stage": "canary",
        "mode": LIVE,
        "gateway": gateway,
        "model_name": model_name,
        "version": version,
        "champion_version": champion,
        "started_at": started.isoformat(),
    }


def _steps(
    model_name: str,
    version: str,
    champion: str,
    shares: list[tuple[int, datetime]],
    now: datetime,
    baseline: float | None,
    settings: Settings,
    policy: PromotionPolicy,
) -> list[dict[str, Any]]:
    """Every step's numbers over its own window (a step ends where the next began)."""
    out = []
    for i, (percent, since) in enumerate(shares):
        until = shares[i + 1][1] if i + 1 < len(shares) else now
        decision = _step_numbers(
            model_name, version, champion, percent, since, until, baseline, settings, policy
        )
        out.append(_step_record(decision, since))
    return out


def abort_stage(
    model_name: str,
    version: str,
    stage: str,
    *,
    context: ReleaseContext,
    settings: Settings,
    why: str,
) -> bool:
    """Undo a live stage of this run that is still in progress (the sensor ran out of time or
    was stopped): the shadow alias removed, or the canary rolled back. False: nothing to undo."""
    c = client(settings)
    version = str(version)
    gateway = stage_gateway(model_name, version, stage, context, settings)
    if gateway is None or alias_version(c, model_name, stage) != version:
        return False
    if stage == CANARY:
        _roll_back(
            c, model_name, version, why=why, gateway=gateway, context=context, settings=settings
        )
    else:
        move_alias(
            c,
            model_name,
            SHADOW,
            None,
            context=context,
            settings=settings,
            reason=f"shadow of v{version} stopped: {why}",
            details={"mode": LIVE, "outcome": "stopped"},
        )
        request_reload(gateway, f"shadow v{version} stopped")
    return True
