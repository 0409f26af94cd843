"""Deterministic demo data: machine telemetry and maintenance work orders in the landing zone.

Layout written under ``landing_dir`` (one folder per landing day, rewritten on each run)::

    reference/machines.csv                       the fleet (asset register)
    telemetry/date=YYYY-MM-DD/events.jsonl       sensor readings that *arrived* that day
    work_orders/date=YYYY-MM-DD/cdc.jsonl        work-order change events with op_ts that day
    _truth/telemetry/date=YYYY-MM-DD.jsonl       every injected telemetry fault (line_no, kind)
    _truth/work_orders/date=YYYY-MM-DD.jsonl     every injected work-order fault
    _truth/failures.csv                          every simulated failure in the range
    manuals/date=YYYY-MM-DD/<doc_id>.md          the maintenance manuals library that day
    _truth/manuals/date=YYYY-MM-DD.json          manuals added / edited / removed / corrupt

Determinism: every draw comes from a numpy ``Generator`` seeded by ``SeedSequence([seed, stream,
key])`` where ``key`` is a calendar day or a machine number, so a day's data does not depend on
which range was generated. Only the range edges differ: late events and next-day duplicates
land only on days inside the range (otherwise they stay on time), work orders opened before
``start`` are not emitted and change events after the last day are dropped.

Everything is vectorised per day (numpy for the physics, pyarrow string kernels for the JSON
lines); Python loops run only over the injected faults and the few work orders.

The parts live in :mod:`ml_platform_demo.generator`: ``fleet`` (machines and the failure
schedule), ``telemetry`` (physics and JSON lines), ``faults`` (splicing faults into a day file),
``work_orders`` (CDC events) and ``writer`` (files, the day loop, the summary).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# The contract-level names are re-exported: the ELT tests and the benches read them from here.
from ml_platform_demo.generator.contract import (
    COMPONENTS,
    FAILURE_CODES,
    MAX_MACHINES,
    MODEL_BASELINES,
    PLANTS,
    SENSOR_RANGES,
    SENSORS,
    TECHNICIANS,
    TELEMETRY_FAULT_KINDS,
    VALID_FAULT_KINDS,
    WORK_ORDER_FAULT_KINDS,
)
from ml_platform_demo.generator.fleet import (
    Failure,
    FailureSchedule,
    build_fleet,
    failures_csv,
    machines_csv,
)
from ml_platform_demo.generator.writer import DayWriter, GenerationSummary
from ml_platform_demo.manuals import write_manuals
from ml_platform_demo.manuals.synthetic import MAX_EXTRA_MODELS
from ml_tasks.settings import get_settings


def _validate(
    days: int, machines: int, seed: int, bad_rate: float, interval_minutes: int, manual_models: int
) -> None:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 1 <= machines <= MAX_MACHINES:
        raise ValueError(f"machines must be between 1 and {MAX_MACHINES}, got {machines}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative 63-bit integer, got {seed}")
    if not 0.0 <= bad_rate <= 0.5:
        raise ValueError(f"bad_rate must be between 0 and 0.5, got {bad_rate}")
    if not 1 <= interval_minutes <= 1440 or 1440 % interval_minutes:
        raise ValueError(f"interval_minutes must divide a day (1..1440), got {interval_minutes}")
    if not 0 <= manual_models <= MAX_EXTRA_MODELS:
        raise ValueError(
            f"manual_models must be between 0 and {MAX_EXTRA_MODELS}, got {manual_models}"
        )


def generate(
    start: date,
    days: int,
    machines: int,
    seed: int = 7,
    bad_rate: float = 0.02,
    drift_start: date | None = None,
    interval_minutes: int = 5,
    landing_dir: Path | None = None,
    manual_models: int = 0,
) -> GenerationSummary:
    """Generate ``days`` landing days from ``start`` for ``machines`` machines.

    ``bad_rate`` is the share of telemetry lines that are faulty (spread evenly over
    :data:`TELEMETRY_FAULT_KINDS`; work-order files get ``bad_rate / 4``). ``drift_start`` shifts
    plant P2's pressure and temperature from that day on. The maintenance manuals of the same
    days are written too (:mod:`ml_platform_demo.manuals`), with ``manual_models`` synthetic machine
    models on top of the fleet's four. Same arguments, same bytes.
    """
    _validate(days, machines, seed, bad_rate, interval_minutes, manual_models)
    landing = Path(landing_dir) if landing_dir is not None else get_settings().landing_dir
    fleet = build_fleet(seed, machines)
    run = DayWriter(
        fleet=fleet,
        schedule=FailureSchedule(seed, machines),
        seed=seed,
        bad_rate=bad_rate,
        interval_minutes=interval_minutes,
        drift_start=drift_start,
        last_day=start + timedelta(days=days - 1),
        summary=GenerationSummary(start, days, machines, seed, landing),
    )
    run.write(landing / "reference" / "machines.csv", machines_csv(fleet))
    failures: list[Failure] = []
    # In day order: late lines and next-day duplicates are carried forward to later days.
    for offset in range(days):
        day = start + timedelta(days=offset)
        run.telemetry_day(day)
        run.work_orders_day(day)
        failures += run.schedule.on(day)
    run.summary.failures = len(failures)
    run.write(landing / "_truth" / "failures.csv", failures_csv(failures, fleet))
    manuals = write_manuals(landing, start=start, days=days, seed=seed, extra_models=manual_models)
    run.summary.manuals = manuals
    run.summary.paths += manuals.paths
    return run.summary


# --- Command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the generator's options (used by ``python -m ml_platform_demo generate``)."""
    parser.add_argument(
        "--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, required=True, help="number of days to generate")
    parser.add_argument("--machines", type=int, required=True, help="fleet size (at most 8999)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--bad-rate",
        type=float,
        default=0.02,
        help="share of faulty telemetry lines (default 0.02)",
    )
    parser.add_argument(
        "--drift-start",
        type=date.fromisoformat,
        default=None,
        help="from this day on, plant P2 sensors drift (pressure +2.5 bar, temperature +4 C)",
    )
    parser.add_argument(
        "--interval-minutes", type=int, default=5, help="minutes between readings (default 5)"
    )
    parser.add_argument(
        "--manual-models",
        type=int,
        default=0,
        help="synthetic machine models added to the maintenance manuals (default 0: the four "
        "fleet models only; 40 gives about 400 documents)",
    )
    parser.add_argument(
        "--landing-dir",
        type=Path,
        default=None,
        help="landing folder (default: settings landing_dir)",
    )


def main(args: argparse.Namespace) -> int:
    """Run :func:`generate` from parsed arguments and print a summary; 2 on bad arguments."""
    began = time.perf_counter()
    try:
        summary = generate(
            start=args.start,
            days=args.days,
            machines=args.machines,
            seed=args.seed,
            bad_rate=args.bad_rate,
            drift_start=args.drift_start,
            interval_minutes=args.interval_minutes,
            landing_dir=args.landing_dir,
            manual_models=args.manual_models,
        )
    except ValueError as error:
        print(f"generate: {error}", file=sys.stderr)
        return 2
    print(summary.describe())
    print(f"  took:        {time.perf_counter() - began:.1f} s")
    return 0


__all__ = [
    "COMPONENTS",
    "FAILURE_CODES",
    "MAX_MACHINES",
    "MODEL_BASELINES",
    "PLANTS",
    "SENSORS",
    "SENSOR_RANGES",
    "TECHNICIANS",
    "TELEMETRY_FAULT_KINDS",
    "VALID_FAULT_KINDS",
    "WORK_ORDER_FAULT_KINDS",
    "Failure",
    "FailureSchedule",
    "GenerationSummary",
    "add_arguments",
    "generate",
    "main",
]


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(
        prog="python -m ml_platform_demo.generate", description=__doc__.splitlines()[0]
    )
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
