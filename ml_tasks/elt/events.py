"""Curate one landing day of an event stream (telemetry, work-order changes) into Delta.

Idempotency and order independence: every curated row remembers the landing day it came from
(``ingest_date``). Processing day L replaces exactly the rows that came from L, in one MERGE
commit bounded to the event partitions L can touch (``max_lateness_days`` back). When the same
event arrives on two landing days, the copy from the earlier day wins, whichever day is
processed first, so reruns, backfills and reverse-order runs converge to the same table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.contracts import Contract, arrow_schema, build_schema
from ml_tasks.elt.landing import attach_raw_lines, landing_files, parse_json_lines, read_lines
from ml_tasks.elt.validate import QUARANTINE_COLUMNS, validate
from ml_tasks.settings import Settings

INGEST = "ingest_date"


class BadShareExceeded(RuntimeError):
    """More records were rejected than the contract allows; the quarantine is already written."""


@dataclass
class TableRun:
    """What one curation run read and wrote (the figures the run reports and the manifest keeps)."""

    table: str
    interval: str
    rows_read: int
    rows_curated: int
    rows_quarantined: int
    rows_duplicate: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    version: int | None = None
    quarantine_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Stopwatch:
    """Seconds per stage, kept in the run's stats so slow stages show up in the manifest."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 4)
        self._last = now


def day_bounds(day: date, lateness_days: int) -> tuple[datetime, datetime]:
    """``[oldest accepted event time, end of the landing day)`` in UTC."""
    start = datetime.combine(day - timedelta(days=lateness_days), clock_time.min, tzinfo=UTC)
    return start, datetime.combine(day + timedelta(days=1), clock_time.min, tzinfo=UTC)


def curate_events(
    contract: Contract,
    day: date,
    settings: Settings,
    *,
    known: dict[str, Any],
    run_id: str | None = None,
    transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> TableRun:
    """Validate, quarantine, deduplicate and merge one landing day of ``contract``'s stream."""
    assert contract.event_time and contract.partition_by, "event contracts need both"
    window = day_bounds(day, contract.max_lateness_days)
    clock = _Stopwatch()
    lines = read_lines(landing_files(settings.landing_dir, contract, day))
    clock.lap("read")
    parsed = parse_json_lines(lines, contract)
    clock.lap("parse")
    checked = validate(parsed, build_schema(contract, known=known, event_time_window=window))
    checked.rejected = attach_raw_lines(checked.rejected, lines)
    clock.lap("validate")

    pk = contract.primary_key
    valid = checked.valid.sort(["source_file", "line_no"])
    first_copy = valid[pk].is_first_distinct()
    valid = valid.filter(first_copy)
    curated_uri = settings.table_uri(contract.curated_table)
    in_window = _rows_in_window(curated_uri, contract, day, settings)
    clock.lap("read_window")
    from_earlier = pc.less(in_window.column(INGEST), pa.scalar(day, pa.date32()))
    earlier_keys = pl.Series(in_window.filter(from_earlier).column(pk)).cast(valid[pk].dtype)
    seen_before = valid[pk].is_in(earlier_keys.implode())
    valid = valid.filter(~seen_before)

    run = TableRun(
        table=contract.curated_table,
        interval=day.isoformat(),
        rows_read=len(parsed),
        rows_curated=len(valid),
        rows_quarantined=len(checked.rejected),
        rows_duplicate=int((~first_copy).sum() + seen_before.sum()),
        quarantine_reasons=checked.reason_counts(),
    )
    assert run.rows_read == run.rows_curated + run.rows_quarantined + run.rows_duplicate

    run.quarantine_version = lake.replace_where(
        settings.table_uri(contract.quarantine_table),
        _quarantine_table(checked.rejected, day),
        f"{INGEST} = '{day.isoformat()}'",
        settings,
        partition_by=[INGEST],
    )
    clock.lap("write_quarantine")
    if run.rows_read and run.rows_quarantined / run.rows_read > contract.max_bad_share:
        top = ", ".join(f"{r} ({n})" for r, n in list(run.quarantine_reasons.items())[:5])
        raise BadShareExceeded(
            f"{contract.name} {day}: {run.rows_quarantined} of {run.rows_read} records rejected "
            f"({run.rows_quarantined / run.rows_read:.1%} > max_bad_share "
            f"{contract.max_bad_share:.1%}); top reasons: {top}. Quarantine written to "
            f"{contract.quarantine_table} version {run.quarantine_version}; curated table unchanged"
        )

    curated = valid.select(contract.column_names)
    if transform is not None:
        curated = transform(curated)
    oldest = window[0].date().isoformat()
    part = contract.partition_by
    data = _curated_table(curated, contract, day)
    if in_window.num_rows == (pc.sum(from_earlier).as_py() or 0):
        # Nothing from this landing day or a later one is in the table yet (the nightly case):
        # nothing to replace or take over, so an append is the same single commit, cheaper.
        run.version = lake.append(curated_uri, data, settings, partition_by=[part])
        run.extra = {"num_target_rows_inserted": data.num_rows}
    else:
        run.version, metrics = _merge(curated_uri, data, contract, day, oldest, settings)
        run.extra = {
            k: int(v)
            for k, v in metrics.items()
            if k.startswith("num_target_rows") and v is not None
        }
    clock.lap("write_curated")
    run.extra["seconds"] = clock.laps
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name=contract.curated_table,
            version=run.version,
            interval_start=day.isoformat(),
            interval_end=(day + timedelta(days=1)).isoformat(),
            row_count=run.rows_curated,
            stats={k: v for k, v in run.as_dict().items() if k not in ("table", "interval")},
            run_id=run_id,
        ),
    )
    return run


def _merge(
    uri: str, data: pa.Table, contract: Contract, day: date, oldest: str, settings: Settings
) -> tuple[int, dict[str, Any]]:
    part, pk = contract.partition_by or "", contract.primary_key
    return lake.merge_rows(
        uri,
        data,
        on=[part, pk],
        target_filter=f"t.{part} >= '{oldest}' AND t.{part} <= '{day.isoformat()}'",
        # Only a copy from a later landing day is taken over; earlier ones were filtered out.
        update_when=f"t.{INGEST} >= s.{INGEST}",
        delete_when=f"t.{INGEST} = '{day.isoformat()}'",
        settings=settings,
        partition_by=[part],
    )


def _rows_in_window(uri: str, contract: Contract, day: date, settings: Settings) -> pa.Table:
    """(primary key, ingest_date) of the curated rows in the partitions day ``day`` can touch."""
    oldest = day - timedelta(days=contract.max_lateness_days)
    part = contract.partition_by or ""
    rows = lake.read_table(
        uri,
        settings,
        columns=[contract.primary_key, INGEST],
        filters=[(part, ">=", oldest), (part, "<=", day)],
    )
    if rows is None:
        return pa.table({contract.primary_key: pa.array([]), INGEST: pa.array([], pa.date32())})
    return rows


def _curated_table(frame: pl.DataFrame, contract: Contract, day: date) -> pa.Table:
    # Nullability is enforced by the contract checks; Delta columns stay nullable for evolution.
    schema = pa.schema([f.with_nullable(True) for f in arrow_schema(contract)])
    table = frame.to_arrow().cast(schema)
    event_date = pc.cast(table.column(contract.event_time or ""), pa.date32())
    table = table.append_column(contract.partition_by or "", event_date)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))


def _quarantine_table(rejected: pl.DataFrame, day: date) -> pa.Table:
    schema = pa.schema(
        [
            ("source_file", pa.string()),
            ("line_no", pa.int64()),
            ("raw_line", pa.large_string()),
            ("reason", pa.string()),
            ("details", pa.string()),
        ]
    )
    table = rejected.select(QUARANTINE_COLUMNS).to_arrow().cast(schema)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))
