"""``python -m ml_tasks features ...``: the feature store from the command line.

    features get --machine-id M-0001 [--machine-id M-0002 ...] [--json]
    features materialize --start 2026-10-01 --end 2026-10-30   (compute, register, materialize)
    features apply                                              (register the definitions only)
    features training-set --start 2026-10-01 --end 2026-10-28 [--horizon-hours 24]

Expected failures (a machine not online, missing curated input, values of the wrong type) print
one clear line and exit non-zero; they never end in a traceback. Importing this module is cheap:
Feast is imported by the command that needs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ml_tasks.cli_args import iso_date as _date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``features`` sub-commands."""
    sub = parser.add_subparsers(dest="features_command", required=True)

    get = sub.add_parser("get", help="online features of one or more machines")
    get.add_argument(
        "--machine-id", action="append", required=True, help="machine id (repeat for several)"
    )
    get.add_argument("--json", action="store_true", help="machine-readable output")

    mat = sub.add_parser(
        "materialize", help="compute the days' features, register, load the online store"
    )
    mat.add_argument("--start", type=_date, required=True, help="first landing day YYYY-MM-DD")
    mat.add_argument("--end", type=_date, help="last landing day (inclusive; default: start)")
    mat.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("apply", help="register the feature definitions (no-op when unchanged)")

    train = sub.add_parser("training-set", help="build a point-in-time training set")
    train.add_argument("--start", type=_date, required=True, help="first day YYYY-MM-DD")
    train.add_argument("--end", type=_date, required=True, help="last day (inclusive)")
    train.add_argument("--horizon-hours", type=int, default=24, help="label horizon (hours)")


def format_features(result: dict[str, dict[str, Any] | None]) -> str:
    """One block per machine: ``not found``, or its features one per line."""
    lines = []
    for machine, features in result.items():
        if features is None:
            lines.append(f"{machine}: not found in the online store")
            continue
        lines.append(f"{machine}:")
        width = max(len(name) for name in features)
        for name, value in sorted(features.items()):
            shown = f"{value:.4f}" if isinstance(value, float) else value
            lines.append(f"  {name:<{width}}  {shown}")
    return "\n".join(lines)


def _get(args: argparse.Namespace) -> int:
    from ml_tasks.features.online import OnlineStoreUnavailable, get_online_features

    try:
        result = get_online_features(args.machine_id)
    except (OnlineStoreUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {m: {"found": f is not None, "features": f} for m, f in result.items()},
                indent=2,
                default=str,
            )
        )
    else:
        print(format_features(result))
    return 0 if all(f is not None for f in result.values()) else 1


def _materialize(args: argparse.Namespace) -> int:
    from ml_tasks.features.compute import FeatureTypeError, MissingCuratedData
    from ml_tasks.features.pipeline import refresh
    from ml_tasks.features.store import MissingFeatures

    try:
        result = refresh(args.start, args.end or args.start, run_id=f"cli__{args.start}")
    except (MissingCuratedData, MissingFeatures, FeatureTypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return 0
    days, comp, online = result.days, result.compute, result.materialize
    registry = "updated" if result.register["changed"] else "unchanged"
    print(
        f"features {days['start']}..{days['end']} (landing days {days['landing_start']}.."
        f"{days['landing_end']}): computed {sum(comp.rows.values())} rows in "
        f"{comp.seconds} s; registry {registry}; materialized "
        f"{online.online_rows_offered} machine rows into {online.online_store} "
        f"in {online.seconds} s"
    )
    return 0


def _apply(args: argparse.Namespace) -> int:
    from ml_tasks.features.store import apply_definitions

    result = apply_definitions()
    print(json.dumps(result, indent=2, default=str))
    return 0


def _training_set(args: argparse.Namespace) -> int:
    from ml_tasks.features.training import TrainingSetError, build_training_set

    try:
        meta = build_training_set(args.start, args.end, horizon_hours=args.horizon_hours)
    except TrainingSetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"training_set v{meta['version']}: {meta['rows']} rows, {meta['positives']} positive, "
        f"{len(meta['features'])} features -> {meta['path']}"
        + ("  (built before from the same data: reused)" if meta.get("reused") else "")
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed ``features`` command."""
    commands = {
        "get": _get,
        "materialize": _materialize,
        "apply": _apply,
        "training-set": _training_set,
    }
    return commands[args.features_command](args)
