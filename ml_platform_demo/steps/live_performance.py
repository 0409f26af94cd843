"""The live-performance step of ``make run``: the champion's live numbers from delayed labels.

The last :data:`REPLAY_DAYS` days whose labels the demo data holds are served again by a second
gateway process on an online store of its own, hour by hour, one request per machine per hour
(:mod:`ml_platform_demo.replay`); then ``monitor_live_performance`` runs with ``dag.test()`` for
each following day (the run for D judges D-1), and the step prints the fleet's numbers per day
and version from the ``live_performance`` table, the champion's training window (replayed days
inside it make the numbers in-sample) and the promotion gate's view of it.
"""

from __future__ import annotations

from datetime import date, timedelta

from ml_tasks.settings import Settings

# Three days: enough failure hours per day on 100 machines for ROC-AUC (the policy's
# min_positives) and a short replay (72 hours x 100 requests).
REPLAY_DAYS = 3


def replay_window(end: date, days: int = REPLAY_DAYS) -> list[date]:
    """The last ``days`` days labelled by data ending on ``end``: their horizon (24 h) ends by
    the end of ``end``, so the last one is the day before."""
    last = end - timedelta(days=1)
    return [last - timedelta(days=days - 1 - i) for i in range(days)]


def _training_window(settings: Settings, version: str) -> tuple[date, date] | None:
    from ml_platform_demo.steps.lifecycle import MODEL_NAME
    from ml_tasks.registry.models import client

    window = client(settings).get_model_version(MODEL_NAME, version).tags.get("trigger.window")
    if not window or ".." not in window:
        return None
    first, last = window.split("..", 1)
    return date.fromisoformat(first), date.fromisoformat(last)


def run_live_performance_demo(end: date, settings: Settings, days: int = REPLAY_DAYS) -> int:
    """Replay the last ``days`` labelled days, judge and print; returns a process exit code."""
    from ml_platform_demo import replay
    from ml_platform_demo.orchestration import test_dag_for_days
    from ml_platform_demo.steps.lifecycle import MODEL_NAME
    from ml_tasks.monitoring.live_performance import FLEET, read_rows
    from ml_tasks.monitoring.status import promotion_gate
    from ml_tasks.registry.models import CHAMPION, alias_version, client

    champion = alias_version(client(settings), MODEL_NAME, CHAMPION)
    if champion is None:
        print("      no @champion: nothing was served, nothing to judge")
        return 0
    replayed = replay_window(end, days)
    done = replay.serve_days(settings, replayed)
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(done["answers"].items()))
    print(
        f"      replayed {replayed[0]}..{replayed[-1]} through a second gateway: "
        f"{done['hours']} hours x {done['machines']} machines ({answers}), "
        f"{done['feature_rows_written']} feature rows written hour by hour "
        f"({done['seconds']:.1f} s)"
    )
    judged = test_dag_for_days(
        "monitor_live_performance", [d + timedelta(days=1) for d in replayed], settings
    )
    for run_day, state in judged:
        print(f"      {run_day}  monitor_live_performance (judges {run_day - timedelta(days=1)})"
              f"  {state}")  # fmt: skip
    wanted = {d.isoformat() for d in replayed}
    rows = [
        r for r in read_rows(MODEL_NAME, settings) if r["day"] in wanted and r["slice"] == FLEET
    ]
    print()
    print(replay.format_live_table(rows))
    window = _training_window(settings, champion)
    if window is not None:
        inside = [d for d in replayed if window[0] <= d <= window[1]]
        print(
            f"      champion v{champion} trained on {window[0]}..{window[1]}"
            + (
                f": {len(inside)} replayed day(s) inside it, numbers in-sample (optimistic)"
                if inside
                else ": every replayed day is after it (out of sample)"
            )
        )
    gate = promotion_gate(MODEL_NAME, settings)
    print(f"      promotion gate: {'open' if gate.open else 'CLOSED'}: {gate.reason}")
    reports = sorted({str(r["report_path"]) for r in rows if r.get("report_path")})
    if reports:
        print(f"      Evidently classification reports: {reports[-1]} (+{len(reports) - 1} more)")
    return 0 if all(state == "success" for _, state in judged) else 1
