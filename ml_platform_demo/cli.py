"""Command-line entry points of the demo: ``python -m ml_platform_demo <command> ...``.

``run`` is the main job (``make run``), ``generate`` writes demo landing data, ``ui``,
``backfill`` and ``stop`` manage the embedded Airflow services. The platform's own stages are on
``python -m ml_tasks``.
"""

from __future__ import annotations

import argparse
from datetime import date

from ml_tasks.cli_args import iso_date


def _cmd_run(args: argparse.Namespace) -> int:
    from ml_platform_demo.run import run_demo

    return run_demo(start=args.start, days=args.days, machines=args.machines, seed=args.seed)


def _cmd_generate(args: argparse.Namespace) -> int:
    from ml_platform_demo import generate

    return generate.main(args)


def _cmd_backfill(args: argparse.Namespace) -> int:
    from ml_platform_demo import backfill

    return backfill.main_backfill(args)


def _cmd_ui(args: argparse.Namespace) -> int:
    from ml_platform_demo import services

    return services.main_ui(args)


def _cmd_stop(args: argparse.Namespace) -> int:
    from ml_platform_demo import services

    return services.main_stop(args)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start",
        type=iso_date,
        default=date(2026, 10, 1),
        help="first landing day YYYY-MM-DD (default %(default)s)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=30,
        help="days of data to generate and run; the last 7 carry the injected drift "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--machines", type=int, default=100, help="machines in the fleet (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="generator seed: same seed, same data (%(default)s)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m ml_platform_demo`` parser with every subcommand."""
    from ml_platform_demo import backfill, generate, services

    parser = argparse.ArgumentParser(prog="python -m ml_platform_demo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: init Airflow, generate data, run the DAGs")
    _add_run_arguments(run)
    run.set_defaults(func=_cmd_run)

    gen = sub.add_parser("generate", help="write a deterministic demo data set to the landing zone")
    generate.add_arguments(gen)
    gen.set_defaults(func=_cmd_generate)

    backfill_parser = sub.add_parser(
        "backfill", help="run an Airflow backfill to completion (embedded)"
    )
    backfill.add_backfill_arguments(backfill_parser)
    backfill_parser.set_defaults(func=_cmd_backfill)

    ui = sub.add_parser("ui", help="the Airflow UI with the project's DAGs (Ctrl-C stops it)")
    services.add_ui_arguments(ui)
    ui.set_defaults(func=_cmd_ui)

    stop = sub.add_parser(
        "stop", help="stop Airflow processes and the local Ray head recorded under PLATFORM_HOME"
    )
    stop.set_defaults(func=_cmd_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
