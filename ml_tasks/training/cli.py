"""``python -m ml_tasks train``: the training DAG's stages without Airflow.

    python -m ml_tasks train --start 2026-10-01 --end 2026-10-30 [--workers 2] [--rounds 200]
    python -m ml_tasks train --training-set path/to/set.parquet      # an existing training set
    python -m ml_tasks train --plan s3://.../plan.json               # RayJob entrypoint

The run id defaults to one derived from the window, so running the same command again resumes
an interrupted run (or returns the finished one) instead of training from scratch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from typing import Any

from ml_tasks.cli_args import iso_date as _date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=_date, help="first day of the training window")
    parser.add_argument("--end", type=_date, help="last day of the training window (inclusive)")
    parser.add_argument("--workers", type=int, help="Ray Train workers (default: settings)")
    parser.add_argument("--cpus-per-worker", type=int, help="CPUs (XGBoost threads) per worker")
    parser.add_argument("--rounds", type=int, help="boosting rounds (upper bound)")
    parser.add_argument("--checkpoint-every", type=int, help="checkpoint every N rounds")
    parser.add_argument(
        "--early-stopping-rounds", type=int, help="patience on the validation metric"
    )
    parser.add_argument("--gpu", action="store_true", default=None, help="XGBoost on CUDA")
    parser.add_argument("--run-id", help="run identity (same id = resume the same run)")
    parser.add_argument("--training-set", help="train on an existing parquet file or folder")
    parser.add_argument("--training-set-version", help="its version (default: content hash)")
    parser.add_argument("--plan", help="train an existing plan.json (no registration)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _content_version(path: str) -> str:
    """A version for an unversioned training set: sha256 of its files' bytes."""
    from ml_tasks.training import data

    filesys, files = data.parquet_files(path)
    digest = hashlib.sha256()
    for file in files:
        with filesys.open_input_stream(file) as f:
            while block := f.read(1 << 22):
                digest.update(block)
    return "sha256-" + digest.hexdigest()[:16]


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("mlflow", "alembic", "urllib3", "matplotlib", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    _logging()
    from ml_tasks.training import pipeline
    from ml_tasks.training.data import TrainingDataError
    from ml_tasks.training.spec import TrainingSetRef
    from ml_tasks.training.trigger import MANUAL, TrainingTrigger

    if args.plan:
        result = pipeline.train(pipeline.load_plan(args.plan))
        print(json.dumps(result.summary(), indent=2, default=str))
        return 0
    training_set = None
    if args.training_set:
        training_set = TrainingSetRef(
            path=args.training_set,
            version=args.training_set_version or _content_version(args.training_set),
            start=str(args.start) if args.start else None,
            end=str(args.end) if args.end else None,
        )
    elif not (args.start and args.end):
        print("error: give --start and --end, --training-set or --plan", file=sys.stderr)
        return 2
    window = f"{args.start}_{args.end}" if args.start else training_set.version  # type: ignore[union-attr]
    trigger = None
    if args.start and args.end:
        trigger = TrainingTrigger(
            reason=MANUAL,
            start=args.start.isoformat(),
            end=args.end.isoformat(),
            days=(args.end - args.start).days + 1,
        )
    overrides: dict[str, Any] = {
        "workers": args.workers,
        "cpus_per_worker": args.cpus_per_worker,
        "rounds": args.rounds,
        "checkpoint_every": args.checkpoint_every,
        "early_stopping_rounds": args.early_stopping_rounds,
        "use_gpu": args.gpu,
    }
    try:
        report = pipeline.run_training(
            args.start,
            args.end,
            run_id=args.run_id or f"cli__{window}",
            training_set=training_set,
            trigger=trigger,
            **overrides,
        )
    except (TrainingDataError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        json.dumps(report, indent=2, default=str) if args.json else pipeline.format_report(report)
    )
    return 0
