"""Writing the landing zone: atomic files, the per-day loop state and the run summary."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ml_platform_demo.generator.contract import TELEMETRY_FAULT_KINDS, WORK_ORDER_FAULT_KINDS
from ml_platform_demo.generator.faults import Carried, Extra, assemble_day, plan_telemetry_faults
from ml_platform_demo.generator.fleet import FailureSchedule, Fleet
from ml_platform_demo.generator.jsonlines import json_line
from ml_platform_demo.generator.streams import (
    DAY_S,
    STREAM_FAULTS,
    STREAM_WO_FAULTS,
    day_epoch,
    stream_rng,
)
from ml_platform_demo.generator.telemetry import render_telemetry, simulate_day, text_bytes
from ml_platform_demo.generator.work_orders import (
    CdcEvent,
    cdc_day_lines,
    with_lsn,
    work_order_events,
)
from ml_platform_demo.manuals import ManualsSummary


def write_atomic(path: Path, data: bytes | memoryview | str) -> Path:
    """Write via a temp file in the same folder and ``os.replace``: no half file on a kill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def day_folder(landing_dir: Path, source: str, day: date) -> Path:
    return landing_dir / source / f"date={day.isoformat()}"


def truth_path(landing_dir: Path, source: str, day: date) -> Path:
    return landing_dir / "_truth" / source / f"date={day.isoformat()}.jsonl"


@dataclass
class GenerationSummary:
    """What one :func:`generate` call wrote: lines per landing day, faults per kind, paths."""

    start: date
    days: int
    machines: int
    seed: int
    landing_dir: Path
    telemetry_lines: dict[date, int] = field(default_factory=dict)
    work_order_lines: dict[date, int] = field(default_factory=dict)
    telemetry_faults: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(TELEMETRY_FAULT_KINDS, 0)
    )
    work_order_faults: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(WORK_ORDER_FAULT_KINDS, 0)
    )
    failures: int = 0
    manuals: ManualsSummary | None = None
    paths: list[Path] = field(default_factory=list)

    @property
    def end(self) -> date:
        """The last generated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def describe(self) -> str:
        """A short human-readable report."""

        def faults(counts: dict[str, int]) -> str:
            detail = ", ".join(f"{kind} {count:,}" for kind, count in counts.items())
            return f"{sum(counts.values()):,} faulty ({detail})"

        telemetry = sum(self.telemetry_lines.values())
        work_orders = sum(self.work_order_lines.values())
        return "\n".join(
            [
                f"Generated {self.days} day(s) {self.start}..{self.end} for {self.machines} "
                f"machines (seed {self.seed}) into {self.landing_dir}",
                f"  telemetry:   {telemetry:,} lines, {faults(self.telemetry_faults)}",
                f"  work orders: {work_orders:,} CDC events, {faults(self.work_order_faults)}",
                f"  failures:    {self.failures} simulated (see _truth/failures.csv)",
                *([f"  manuals:     {self.manuals.describe()}"] if self.manuals else []),
                f"  files:       {len(self.paths)} written",
            ]
        )


def truth_jsonl(truth: list[dict[str, Any]]) -> str:
    return "".join(json_line(t) for t in truth)


@dataclass
class DayWriter:
    """State shared by the day loop of one generation."""

    fleet: Fleet
    schedule: FailureSchedule
    seed: int
    bad_rate: float
    interval_minutes: int
    drift_start: date | None
    last_day: date
    summary: GenerationSummary
    carry: dict[date, list[Carried]] = field(default_factory=lambda: defaultdict(list))
    opened: dict[date, list[CdcEvent]] = field(default_factory=dict)

    def write(self, path: Path, data: bytes | memoryview | str) -> None:
        self.summary.paths.append(write_atomic(path, data))

    def telemetry_day(self, day: date) -> None:
        """Simulate, render, splice faults and write one telemetry landing file + its truth."""
        readings = simulate_day(
            self.fleet,
            self.schedule.affecting(day),
            day,
            self.seed,
            self.interval_minutes,
            self.drift_start,
        )
        clean = render_telemetry(readings, self.fleet, day)
        rng = stream_rng(self.seed, STREAM_FAULTS, day.toordinal())
        edits = plan_telemetry_faults(clean, rng, self.bad_rate, day, self.last_day, self.carry)
        n = len(clean)
        arrived = [
            Extra(int(c.where * n), c.line, c.kind, c.event_id) for c in self.carry.pop(day, [])
        ]
        edits.extras = arrived + edits.extras
        lines, truth = assemble_day(clean, edits)
        landing = self.summary.landing_dir
        self.write(day_folder(landing, "telemetry", day) / "events.jsonl", text_bytes(lines))
        self.write(truth_path(landing, "telemetry", day), truth_jsonl(truth))
        self.summary.telemetry_lines[day] = len(lines)
        for t in truth:
            self.summary.telemetry_faults[t["kind"]] += 1

    def work_orders_day(self, day: date) -> None:
        """Write the CDC events whose op_ts falls on ``day`` (orders opened up to 3 days before)."""
        self.opened[day] = work_order_events(self.seed, day, self.fleet, self.schedule.on(day))
        for old in [d for d in self.opened if d < day - timedelta(days=3)]:
            del self.opened[old]
        day0 = day_epoch(day)
        events = [e for evs in self.opened.values() for e in evs if day0 <= e.op_ts < day0 + DAY_S]
        rng = stream_rng(self.seed, STREAM_WO_FAULTS, day.toordinal())
        lines, truth = cdc_day_lines(with_lsn(events), rng, self.bad_rate)
        landing = self.summary.landing_dir
        self.write(day_folder(landing, "work_orders", day) / "cdc.jsonl", "".join(lines))
        self.write(truth_path(landing, "work_orders", day), truth_jsonl(truth))
        self.summary.work_order_lines[day] = len(lines)
        for t in truth:
            self.summary.work_order_faults[t["kind"]] += 1
