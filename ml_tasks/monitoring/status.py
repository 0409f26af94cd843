"""The current drift status of a model, and the promotion gate it drives.

The status is read from the drift table: the latest monitored interval decides. When its row
breached the policy, the model is **in alarm** since the first interval of the unbroken run of
breached intervals that ends there; a later interval that passes clears the alarm. A backfill
of an old interval changes the status only if that interval is the latest.

The promotion gate (the ``drift`` gate of :mod:`ml_tasks.release.gates`, run by the
``promote_model`` DAG) reads :func:`promotion_gate`: closed while in alarm, open otherwise. A
model that was never monitored is open (nothing says its data drifted) and says so in the
reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_tasks.monitoring import store
from ml_tasks.monitoring.results import MonitoringDay
from ml_tasks.settings import Settings, get_settings


def _latest_per_interval(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # ordered by interval, then write time: the last write wins
        latest[row["interval_start"]] = row
    return [latest[k] for k in sorted(latest)]


def _watched(row: dict[str, Any], model_version: str | None) -> bool:
    if model_version is not None:
        return str(row.get("model_version")) == str(model_version)
    # The serving model's monitoring: the champion, or the fixed window before there is one;
    # candidate checks (alias challenger) do not change it.
    return row.get("alias") in (None, "", store.NO_CHAMPION, "champion")


def drift_status(
    model_name: str = "failure_model",
    settings: Settings | None = None,
    model_version: str | None = None,
) -> dict:
    """``{"in_alarm", "since", "reasons", ...}`` for ``model_name`` from the drift table.

    By default the serving model's monitoring decides; with ``model_version``, only the rows
    that compared the data with that version's training set (a candidate check).
    """
    s = settings or get_settings()
    rows = [r for r in store.read_rows(model_name, s) if _watched(r, model_version)]
    intervals = _latest_per_interval(rows)
    if not intervals:
        return {
            "model_name": model_name,
            "in_alarm": False,
            "since": None,
            "reasons": [],
            "evaluated": False,
            "latest_interval": None,
            "model_version": None,
            "kinds": [],
            "report_dir": None,
            "alarm_intervals": [],
        }
    latest = intervals[-1]
    since = None
    streak: list[str] = []
    for row in reversed(intervals):
        if not row["breached"]:
            break
        since = row["interval_start"]
        streak.append(row["interval_start"])
    return {
        "model_name": model_name,
        "in_alarm": bool(latest["breached"]),
        "since": since,
        "reasons": [r["message"] for r in latest["reasons"]] if latest["breached"] else [],
        "evaluated": True,
        "latest_interval": latest["interval_start"],
        "model_version": latest["model_version"],
        "kinds": sorted({r["kind"] for r in latest["reasons"]}) if latest["breached"] else [],
        "report_dir": latest["report_dir"],
        "alarm_intervals": sorted(streak),
    }


@dataclass(frozen=True)
class GateDecision:
    """Whether promotion may go ahead, and why."""

    open: bool
    reason: str
    status: dict


def promotion_gate(
    model_name: str = "failure_model",
    settings: Settings | None = None,
    model_version: str | None = None,
) -> GateDecision:
    """Closed while ``model_name``'s data is in drift or data-quality alarm.

    With ``model_version`` (the candidate), a candidate check of that version decides when one
    was run (``python -m ml_tasks drift --alias challenger``): a model retrained on the drifted
    data can pass while the champion is still in alarm. Without such a check, the serving
    model's status decides. Also closed while the champion's latest labelled day of live
    performance is in alarm (:func:`_live_decision`).
    """
    status = drift_status(model_name, settings, model_version) if model_version else None
    if status is None or not status["evaluated"]:
        status = drift_status(model_name, settings)
    live = _live_decision(model_name, settings)
    if live is not None and not status["in_alarm"]:
        return live
    if status["in_alarm"]:
        reasons = "; ".join(status["reasons"][:5])
        more = len(status["reasons"]) - 5
        return GateDecision(
            open=False,
            reason=(
                f"{model_name}: monitoring in alarm since {status['since']} (latest interval "
                f"{status['latest_interval']}, reference v{status['model_version']}): {reasons}"
                + (f" (+{more} more)" if more > 0 else "")
            ),
            status=status,
        )
    if not status["evaluated"]:
        return GateDecision(True, f"{model_name}: not monitored yet, no drift alarm", status)
    return GateDecision(
        True,
        f"{model_name}: no alarm (latest monitored interval {status['latest_interval']}, "
        f"reference v{status['model_version']})",
        status,
    )


def _live_decision(model_name: str, settings: Settings | None) -> GateDecision | None:
    """Closed while the champion's latest computed live-performance day is in alarm.

    The champion serving worse than its evaluation promised is a reason to stop releasing on
    the current evidence, as drift is (``ml_tasks.monitoring.live_performance``); None when
    there is no live alarm.
    """
    from ml_tasks.monitoring.live_performance import live_status

    live = live_status(model_name, settings)
    if not live["in_alarm"]:
        return None
    reasons = "; ".join(live["reasons"][:5])
    return GateDecision(
        open=False,
        reason=(
            f"{model_name}: live performance in alarm since {live['since']} (latest labelled "
            f"day {live['latest_day']}, champion v{live['model_version']}): {reasons}"
        ),
        status={**drift_status(model_name, settings), "live_performance": live},
    )


def day_verdict(result: MonitoringDay, drift_share: float) -> tuple[str, list[str]]:
    """One monitored day's decision for the task log and the task note: headline, reasons.

    ``result`` is what :func:`ml_tasks.monitoring.pipeline.run_monitoring` returns (its verdict
    is not read). Each reason names its slice, column, statistic and threshold; the fleet's
    line gives its drifted share against the policy's ``drift_share``.
    """
    version = result.model_version
    model = f"{result.model_name} " + ("(no champion)" if version == "none" else f"v{version}")
    verdict = f"BREACH ({', '.join(result.kinds)})" if result.breached else "no breach"
    headline = f"drift gate {result.interval}: {verdict}: {model} against {result.reference_id}"
    share = result.share_drifted
    fleet = (
        f"fleet: {share:.0%} of the monitored columns drifted (dataset drift at >= "
        f"drift_share {drift_share:.0%})"
        if share is not None
        else "fleet: drift not evaluated (too few rows)"
    )
    lines = [*result.reasons, fleet]
    if result.retrain:
        lines.append("retraining requested (drift_alarm asset event)")
    if result.report_dir:
        lines.append(f"reports: {result.report_dir}")
    return headline, lines


def format_status(status: dict) -> str:
    """Human-readable status for the CLI."""
    if not status["evaluated"]:
        return f"{status['model_name']}: not monitored yet"
    head = (
        f"{status['model_name']}: IN ALARM since {status['since']}"
        if status["in_alarm"]
        else f"{status['model_name']}: no alarm"
    )
    lines = [
        f"{head} (latest interval {status['latest_interval']}, "
        f"model version {status['model_version']})"
    ]
    lines += [f"  - {reason}" for reason in status["reasons"]]
    if status["report_dir"]:
        lines.append(f"  reports: {status['report_dir']}")
    return "\n".join(lines)
