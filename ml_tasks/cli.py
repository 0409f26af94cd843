"""Command-line entry points: ``python -m ml_tasks <command> ...``.

Each command runs a stage without Airflow, on the same functions the DAG tasks call. The demo
(data generator, ``make run``, the embedded Airflow UI and backfills) has its own CLI:
``python -m ml_platform_demo``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from ml_tasks.cli_args import iso_date as _date


def _cmd_elt(args: argparse.Namespace) -> int:
    from ml_tasks.elt.events import BadShareExceeded
    from ml_tasks.elt.landing import MissingLandingData
    from ml_tasks.elt.machines import ReferenceDataError
    from ml_tasks.elt.pipeline import TableRun, format_runs, run_elt

    end = args.end or args.date
    runs: list[TableRun] = []
    day = args.date
    try:
        while day <= end:
            runs.extend(run_elt(day, run_id=f"cli__{day.isoformat()}"))
            day += timedelta(days=1)
    except (BadShareExceeded, MissingLandingData, ReferenceDataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    out = [r.as_dict() for r in runs]
    print(json.dumps(out, indent=2, default=str) if args.json else format_runs(runs))
    return 0


def _cmd_redact_quarantine(args: argparse.Namespace) -> int:
    from ml_tasks.elt.privacy import redact_quarantine
    from ml_tasks.settings import get_settings

    done = [r.as_dict() for r in redact_quarantine(get_settings())]
    for r in done:
        print(
            f"{r['table']}: {r['rows']} rows, {r['lines_redacted']} raw lines redacted,"
            f" {r['files_removed']} old files removed, now version {r['version']}"
        )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from ml_tasks.status import current_status, format_status

    status = current_status()
    print(json.dumps(status, indent=2, default=str) if args.json else format_status(status))
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from ml_tasks.features.cli import run

    return run(args)


def _cmd_train(args: argparse.Namespace) -> int:
    from ml_tasks.training.cli import run

    return run(args)


def _cmd_drift(args: argparse.Namespace) -> int:
    from ml_tasks.monitoring.cli import run

    return run(args)


def _cmd_live_performance(args: argparse.Namespace) -> int:
    from ml_tasks.monitoring.live_cli import run

    return run(args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ml_tasks.release.cli import run_evaluate

    return run_evaluate(args)


def _cmd_promote(args: argparse.Namespace) -> int:
    from ml_tasks.release.promote_cli import run

    return run(args)


def _cmd_history(args: argparse.Namespace) -> int:
    from ml_tasks.release.cli import run_history

    return run_history(args)


def _cmd_rollback(args: argparse.Namespace) -> int:
    from ml_tasks.release.cli import run_rollback

    return run_rollback(args)


def _cmd_index(args: argparse.Namespace) -> int:
    from ml_tasks.search.cli import run_index

    return run_index(args)


def _cmd_search(args: argparse.Namespace) -> int:
    from ml_tasks.search.cli import run_search

    return run_search(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from ml_tasks.serving.cli import run_serve

    return run_serve(args)


def _cmd_predict(args: argparse.Namespace) -> int:
    from ml_tasks.serving.cli import run_predict

    return run_predict(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml_tasks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    elt = sub.add_parser(
        "elt", help="run the ELT for one day (or --end for a range) without Airflow"
    )
    elt.add_argument("--date", type=_date, required=True, help="landing day YYYY-MM-DD")
    elt.add_argument("--end", type=_date, help="last landing day of a range (inclusive)")
    elt.add_argument("--json", action="store_true", help="machine-readable output")
    elt.set_defaults(func=_cmd_elt)

    redact = sub.add_parser(
        "redact-quarantine",
        help="redact personal fields in existing quarantine tables and delete their old versions"
        " (pause the ELT first)",
    )
    redact.set_defaults(func=_cmd_redact_quarantine)

    status = sub.add_parser("status", help="current dataset versions from the manifest")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_cmd_status)

    features = sub.add_parser(
        "features", help="feature store: online get, materialize, apply, training sets"
    )
    from ml_tasks.features import cli as features_cli

    features_cli.add_arguments(features)
    features.set_defaults(func=_cmd_features)

    train = sub.add_parser(
        "train", help="train failure_model on Ray (resumable) and register it in MLflow"
    )
    from ml_tasks.training import cli as training_cli

    training_cli.add_arguments(train)
    train.set_defaults(func=_cmd_train)

    drift = sub.add_parser(
        "drift", help="drift and data-quality monitoring of a day (or --status: the alarm)"
    )
    from ml_tasks.monitoring import cli as monitoring_cli

    monitoring_cli.add_arguments(drift)
    drift.set_defaults(func=_cmd_drift)

    live = sub.add_parser(
        "live-performance",
        help="live model performance of a labelled day from the prediction log (or --status)",
    )
    from ml_tasks.monitoring import live_cli

    live_cli.add_arguments(live)
    live.set_defaults(func=_cmd_live_performance)

    from ml_tasks.release import cli as release_cli

    evaluate = sub.add_parser(
        "evaluate", help="evaluate a model version against the champion; print the gate decision"
    )
    release_cli.add_evaluate_arguments(evaluate)
    evaluate.set_defaults(func=_cmd_evaluate)

    from ml_tasks.release import promote_cli

    promote = sub.add_parser(
        "promote",
        help="release a version as promote_model does: gates, then shadow -> canary -> flip",
    )
    promote_cli.add_arguments(promote)
    promote.set_defaults(func=_cmd_promote)

    history = sub.add_parser(
        "history", help="audit history of a model's aliases (which version was champion when)"
    )
    release_cli.add_history_arguments(history)
    history.set_defaults(func=_cmd_history)

    rollback = sub.add_parser(
        "rollback", help="move champion back to the previous champion (sha256 verified first)"
    )
    release_cli.add_rollback_arguments(rollback)
    rollback.set_defaults(func=_cmd_rollback)

    from ml_tasks.search import cli as search_cli

    index = sub.add_parser("index", help="manual search index: refresh, status, rollback, history")
    search_cli.add_index_arguments(index)
    index.set_defaults(func=_cmd_index)

    search = sub.add_parser("search", help="search the maintenance manuals (live index)")
    search_cli.add_search_arguments(search)
    search.set_defaults(func=_cmd_search)

    from ml_tasks.serving import cli as serving_cli

    serve = sub.add_parser(
        "serve", help="run the inference gateway (HTTP, until Ctrl-C; graceful stop)"
    )
    serving_cli.add_serve_arguments(serve)
    serve.set_defaults(func=_cmd_serve)

    predict = sub.add_parser("predict", help="score machines on the running inference gateway")
    serving_cli.add_predict_arguments(predict)
    predict.set_defaults(func=_cmd_predict)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
