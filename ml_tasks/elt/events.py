"""Curate one landing day of an event stream (telemetry, work-order changes) into Delta.

Idempotency and order independence: every curated row remembers the landing day it came from
(``ingest_date``). Processing day L replaces exactly the rows that came from L, in one MERGE
commit bounded to the event partitions L can touch (``max_lateness_days`` back). When the same
event arrives on two landing days, the copy from the earlier day wins, whichever day is
processed first, so reruns, backfills and reverse-order runs converge to the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.contracts import Contract, arrow_schema, build_schema
from ml_tasks.elt.landing import landing_files, parse_json_lines, read_lines
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


def day_bounds(day: date, lateness_days: int) -> tuple[datetime, datetime]:
    """``[oldest accepted event time, end of the landing day)`` in UTC."""
    start = datetime.combine(day - timedelta(days=lateness_days), time.min, tzinfo=UTC)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def curate_events(
    contract: Contract,
    day: date,
    settings: Settings,
    *,
    known: dict[str, Any],
    run_id: str | None = None,
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> TableRun:
    """Validate, quarantine, deduplicate and merge one landing day of ``contract``'s stream."""
    assert contract.event_time and contract.partition_by, "event contracts need both"
    window = day_bounds(day, contract.max_lateness_days)
    parsed = parse_json_lines(
        read_lines(landing_files(settings.landing_dir, contract, day)), contract
    )
    checked = validate(parsed, build_schema(contract, known=known, event_time_window=window))

    pk = contract.primary_key
    valid = checked.valid.sort_values(["source_file", "line_no"])
    in_batch_dup = valid.duplicated(pk, keep="first")
    valid = valid.loc[~in_batch_dup]
    curated_uri = settings.table_uri(contract.curated_table)
    earlier = _keys_from_earlier_days(curated_uri, contract, day, settings)
    seen_before = valid[pk].isin(earlier)
    valid = valid.loc[~seen_before]

    run = TableRun(
        table=contract.curated_table,
        interval=day.isoformat(),
        rows_read=len(parsed),
        rows_curated=len(valid),
        rows_quarantined=len(checked.rejected),
        rows_duplicate=int(in_batch_dup.sum() + seen_before.sum()),
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
    if run.rows_read and run.rows_quarantined / run.rows_read > contract.max_bad_share:
        top = ", ".join(f"{r} ({n})" for r, n in list(run.quarantine_reasons.items())[:5])
        raise BadShareExceeded(
            f"{contract.name} {day}: {run.rows_quarantined} of {run.rows_read} records rejected "
            f"({run.rows_quarantined / run.rows_read:.1%} > max_bad_share "
            f"{contract.max_bad_share:.1%}); top reasons: {top}. Quarantine written to "
            f"{contract.quarantine_table} version {run.quarantine_version}; curated table unchanged"
        )

    curated = valid[contract.column_names].copy()
    if transform is not None:
        curated = transform(curated)
    oldest = window[0].date().isoformat()
    part = contract.partition_by
    run.version, metrics = lake.merge_rows(
        curated_uri,
        _curated_table(curated, contract, day),
        on=[part, pk],
        target_filter=f"t.{part} >= '{oldest}' AND t.{part} <= '{day.isoformat()}'",
        # Only a copy from a later landing day is taken over; earlier ones were filtered above.
        update_when=f"t.{INGEST} >= s.{INGEST}",
        delete_when=f"t.{INGEST} = '{day.isoformat()}'",
        settings=settings,
        partition_by=[part],
    )
    run.extra = {
        k: int(v) for k, v in metrics.items() if k.startswith("num_target_rows") and v is not None
    }
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


def _keys_from_earlier_days(
    uri: str, contract: Contract, day: date, settings: Settings
) -> np.ndarray:
    """Primary keys already curated from an earlier landing day, in the partitions L can touch."""
    oldest = day - timedelta(days=contract.max_lateness_days)
    prior = lake.read_table(
        uri,
        settings,
        columns=[contract.primary_key],
        filters=[
            (contract.partition_by or "", ">=", oldest),
            (contract.partition_by or "", "<=", day),
            (INGEST, "<", day),
        ],
    )
    if prior is None:
        return np.array([])
    return prior.column(contract.primary_key).to_numpy()


def _curated_table(frame: pd.DataFrame, contract: Contract, day: date) -> pa.Table:
    schema = arrow_schema(contract)
    # Nullability is enforced by the contract checks; Delta columns stay nullable for evolution.
    schema = pa.schema([f.with_nullable(True) for f in schema])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    event_date = pc.cast(table.column(contract.event_time or ""), pa.date32())
    table = table.append_column(contract.partition_by or "", event_date)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))


def _quarantine_table(rejected: pd.DataFrame, day: date) -> pa.Table:
    schema = pa.schema(
        [
            ("source_file", pa.string()),
            ("line_no", pa.int64()),
            ("raw_line", pa.large_string()),
            ("reason", pa.string()),
            ("details", pa.string()),
        ]
    )
    table = pa.Table.from_pandas(rejected[QUARANTINE_COLUMNS], schema=schema, preserve_index=False)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))
