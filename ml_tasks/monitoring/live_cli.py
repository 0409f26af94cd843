"""``python -m ml_tasks live-performance``: the served models' live numbers, without Airflow.

    python -m ml_tasks live-performance --date 2026-10-24 [--end 2026-10-30] [--json]
    python -m ml_tasks live-performance --status [--json]

Runs :func:`ml_tasks.monitoring.live_performance.evaluate_day` for each day (table rows,
Evidently report, MLflow metrics), without the alert and the ``drift_alarm`` asset event, which
are Airflow's. ``--date`` is the day of the machine-hours scored (its labels must be known:
otherwise the day is reported as pending). Exit code 0 whether or not a day is in alarm; 1 when
the curated tables are missing.
"""

from __future__ import annotations

import argparse
import json
import sys

from ml_tasks.cli_args import iso_date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=iso_date, help="day of the scored machine-hours YYYY-MM-DD")
    parser.add_argument("--end", type=iso_date, help="last day of a range (inclusive)")
    parser.add_argument("--model", default=None, help="registered model (default: the policy's)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    parser.add_argument(
        "--status", action="store_true", help="print the champion's live-performance alarm status"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ml_tasks.monitoring import live_performance as lp
    from ml_tasks.monitoring.policy import load_policy

    model = args.model or load_policy().model_name
    if args.status:
        status = lp.live_status(model)
        print(json.dumps(status, indent=2) if args.json else format_status(status))
        return 0
    if args.date is None:
        print("error: --date is required (or --status)", file=sys.stderr)
        return 2
    try:
        summaries = lp.evaluate_days(
            args.date, args.end, model_name=model, log_mlflow=not args.no_mlflow, run_id="cli"
        )
    except LookupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summaries, indent=2, default=str))
        return 0
    for summary in summaries:
        print("\n".join(lp.verdict_lines(summary)), flush=True)
    alarms = [s["day"] for s in summaries if s["in_alarm"]]
    print(f"days in alarm: {', '.join(alarms) if alarms else 'none'}")
    return 0


def format_status(status: dict) -> str:
    """Human-readable status."""
    if not status["evaluated"]:
        return f"{status['model_name']}: no labelled day of live performance yet"
    head = "IN ALARM since " + str(status["since"]) if status["in_alarm"] else "no alarm"
    lines = [
        f"{status['model_name']}: live performance {head} (latest labelled day "
        f"{status['latest_day']}, champion v{status['model_version']})"
    ]
    return "\n".join(lines + [f"  - {r}" for r in status["reasons"]])
