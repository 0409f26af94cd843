"""``python -m ml_tasks promote``: release a version as ``promote_model`` does, without Airflow.

    python -m ml_tasks promote [--version N] [--canary-steps 10,50,100] [--reason "..."]

Gates first (a "no", or an evaluation not yet complete, stops before any alias moves; exit 1);
with a champion, shadow then canary (live on a running gateway, else the offline replay), then
the blue/green flip. Every alias change is in the audit history (``python -m ml_tasks history``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _steps(text: str) -> list[int]:
    steps = [int(p) for p in text.split(",") if p.strip()]
    if not steps or any(not 1 <= p <= 100 for p in steps) or steps != sorted(steps):
        raise argparse.ArgumentTypeError("rising percentages in 1..100, e.g. 10,50,100")
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="failure_model", help="registered model name")
    parser.add_argument("--version", help="version to release (default: the challenger alias)")
    parser.add_argument(
        "--canary-steps",
        type=_steps,
        default=[10, 50, 100],
        help="canary traffic steps in percent, rising (default 10,50,100)",
    )
    parser.add_argument(
        "--reason", default="passed the promotion gates", help="recorded in the audit history"
    )
    parser.add_argument("--policy", help="promotion policy file (default: settings)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ml_tasks.registry.models import ModelNotFound
    from ml_tasks.release.policy import load_policy
    from ml_tasks.release.promote import PromotionRefused, format_promotion, promote
    from ml_tasks.release.versions import ReleaseError

    policy = load_policy(args.policy) if args.policy else None
    try:
        result = promote(
            args.model,
            args.version,
            canary_steps=args.canary_steps,
            reason=args.reason,
            policy=policy,
        )
    except PromotionRefused as err:
        print(str(err), file=sys.stderr)
        return 1
    except (ReleaseError, ModelNotFound, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str) if args.json else format_promotion(result))
    return 0
