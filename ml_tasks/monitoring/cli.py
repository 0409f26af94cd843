"""``python -m ml_tasks drift``: monitor days without Airflow, or print the alarm status.

    python -m ml_tasks drift --date 2026-10-24 [--end 2026-10-30] [--json] [--no-mlflow]
    python -m ml_tasks drift --date 2026-10-30 --alias challenger   # check a candidate
    python -m ml_tasks drift --status [--json]

Runs the same :class:`ml_tasks.monitoring.pipeline.Monitor` as the ``monitor_drift`` DAG, one
for the whole range (per-day reports, MLflow runs and drift-table rows), without the alert and
the retraining asset event, which are Airflow's. Exit code 0 whether or not a day is in alarm;
1 when a day cannot be checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from ml_tasks.cli_args import iso_date as _date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_date, help="day to check (the data interval) YYYY-MM-DD")
    parser.add_argument("--end", type=_date, help="last day of a range (inclusive)")
    parser.add_argument("--model", default=None, help="registered model (default: the policy's)")
    parser.add_argument(
        "--alias",
        default="champion",
        help="registry alias whose training set is the reference (challenger: check a candidate)",
    )
    parser.add_argument("--sample-rows", type=int, help="rows compared per slice (policy default)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    parser.add_argument("--status", action="store_true", help="print the current alarm status")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    if args.status:
        from ml_tasks.monitoring.policy import load_policy
        from ml_tasks.monitoring.status import drift_status, format_status

        status = drift_status(args.model or load_policy().model_name)
        print(json.dumps(status, indent=2, default=str) if args.json else format_status(status))
        return 0
    if args.date is None:
        print("error: --date is required (or --status)", file=sys.stderr)
        return 2
    from ml_tasks.monitoring.frames import MissingFeatures
    from ml_tasks.monitoring.pipeline import format_result, run_monitoring_range

    end = args.end or args.date
    days = [args.date + timedelta(days=i) for i in range((end - args.date).days + 1)]
    results = []
    try:
        # One process for the range: the champion, references and MLflow client are shared.
        for result in run_monitoring_range(
            days,
            run_id=lambda day: f"cli__{day.isoformat()}",
            model_name=args.model,
            alias=args.alias,
            current_sample_rows=args.sample_rows,
            log_mlflow=not args.no_mlflow,
        ):
            results.append(result)
            if not args.json:
                print(format_result(result), flush=True)
    except (MissingFeatures, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        alarms = [r.interval for r in results if r.breached]
        print(f"days in alarm: {', '.join(alarms) if alarms else 'none'}")
    return 0
