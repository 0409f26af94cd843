"""Curate one landing day of an event stream (telemetry, work-order changes) into Delta.

Idempotency and order independence: every curated row remembers the landing day it came from
(``ingest_date``). Processing day L replaces exactly the rows that came from L, in one MERGE
commit bounded to the event partitions L can touch (``max_lateness_days`` back). When the same
event arrives twice, the rule of :mod:`ml_tasks.elt.conflicts` keeps one copy (earliest landing
day, then smallest content hash), whichever day is processed first, so reruns, backfills and
reverse-order runs converge to the same table. An identical copy is a duplicate; a different one
is a conflict and goes to the quarantine:

    rows_read = rows_curated + rows_quarantined + rows_duplicate + rows_conflict
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.conflicts import LANDING, RULE, Resolution, resolve, superseded
from ml_tasks.elt.contracts import Contract, arrow_schema, build_schema
from ml_tasks.elt.landing import attach_raw_lines, parse_json_lines, read_landing
from ml_tasks.elt.pseudonymise import load_key, pseudonymise, redact_quarantine_rows
from ml_tasks.elt.validate import QUARANTINE_COLUMNS, validate
from ml_tasks.settings import Settings

INGEST = "ingest_date"
_log = logging.getLogger(__name__)


class BadShareExceeded(RuntimeError):
    """More records were rejected than the contract allows; the quarantine is already written."""


@dataclass(frozen=True)
class TableRun:
    """What one curation run read and wrote (the figures the run reports and the manifest keeps).

    ELT's stage result: the DAG pushes :meth:`as_dict` through XCom (JSON), the CLI prints it.
    """

    table: str
    interval: str
    rows_read: int
    rows_curated: int
    rows_quarantined: int
    rows_duplicate: int
    # Same key as a kept copy, different content: quarantined as conflict:<key>, not counted
    # in rows_quarantined (which holds contract failures).
    rows_conflict: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    version: int | None = None
    quarantine_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableRun:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


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
) -> TableRun:
    """Validate, quarantine, deduplicate and merge one landing day of ``contract``'s stream.

    The contract's ``pseudonymise`` fields are replaced by keyed tokens before anything is
    compared or written: in the curated rows and inside every quarantined raw line.
    """
    assert contract.event_time and contract.partition_by, "event contracts need both"
    window = day_bounds(day, contract.max_lateness_days)
    clock = _Stopwatch()
    landing = read_landing(settings.landing_dir, contract, day)
    lines = landing.lines
    clock.lap("read")
    parsed = parse_json_lines(lines, contract)
    clock.lap("parse")
    checked = validate(parsed, build_schema(contract, known=known, event_time_window=window))
    clock.lap("validate")

    key = load_key(settings.secrets_dir) if contract.pseudonymise else b""
    valid = _pseudonymised(checked.valid, contract, key)
    curated_uri = settings.table_uri(contract.curated_table)
    in_window = _rows_in_window(curated_uri, contract, day, settings)
    clock.lap("read_window")
    outcome, later = _resolve(valid, in_window, contract, day, settings)
    clock.lap("resolve")

    run = TableRun(
        table=contract.curated_table,
        interval=day.isoformat(),
        rows_read=len(parsed),
        rows_curated=len(outcome.curated),
        rows_quarantined=len(checked.rejected),
        rows_duplicate=outcome.duplicates,
        rows_conflict=len(outcome.conflicts),
        quarantine_reasons=checked.reason_counts(),
    )
    assert run.rows_read == (
        run.rows_curated + run.rows_quarantined + run.rows_duplicate + run.rows_conflict
    )
    rejected = pl.concat([checked.rejected, outcome.conflicts], how="diagonal_relaxed")
    rejected = attach_raw_lines(rejected, lines)
    quarantine_version = lake.replace_where(
        settings.table_uri(contract.quarantine_table),
        _quarantine_table(rejected, day, contract.pseudonymise, key),
        f"{INGEST} = '{day.isoformat()}'",
        settings,
        partition_by=[INGEST],
    )
    run = replace(run, quarantine_version=quarantine_version)
    clock.lap("write_quarantine")
    _check_bad_share(run, contract)

    curated = outcome.curated.select(contract.column_names)
    oldest = window[0].date().isoformat()
    data = _curated_table(curated, contract, day)
    overruled = later.filter(pl.col("conflict"))
    if not overruled.is_empty():
        _log.warning(
            "%s %s: %d copies curated from later landing days differ and are overruled by this"
            " day's copy (%s); rerun those days to quarantine them",
            contract.name,
            day,
            len(overruled),
            RULE,
        )
    if in_window.filter(pl.col(INGEST) >= day).is_empty():
        # Nothing from this landing day or a later one is in the table yet (the nightly case):
        # nothing to replace or take over, so an append is the same single commit, cheaper.
        version = lake.append(curated_uri, data, settings, partition_by=[contract.partition_by])
        extra: dict[str, Any] = {"num_target_rows_inserted": data.num_rows}
    else:
        version, metrics = _merge(curated_uri, data, contract, day, oldest, later, settings)
        extra = {
            k: int(v)
            for k, v in metrics.items()
            if k.startswith("num_target_rows") and v is not None
        }
    extra["overruled_later_conflicts"] = len(overruled)
    clock.lap("write_curated")
    extra.update(landing.report(parsed))  # ignored files, file errors, unknown columns
    extra["seconds"] = clock.laps
    run = replace(run, version=version, extra=extra)
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name=contract.curated_table,
            version=version,
            interval_start=day.isoformat(),
            interval_end=(day + timedelta(days=1)).isoformat(),
            row_count=run.rows_curated,
            stats={k: v for k, v in run.as_dict().items() if k not in ("table", "interval")},
            run_id=run_id,
        ),
    )
    return run


def _pseudonymised(frame: pl.DataFrame, contract: Contract, key: bytes) -> pl.DataFrame:
    return frame.with_columns(pseudonymise(frame[c], key) for c in contract.pseudonymise)


def is_bad_day(bad: int, read: int, contract: Contract) -> bool:
    """A day fails when its bad share passes ``max_bad_share`` AND it has ``min_bad_records``.

    The count floor keeps a tiny stream from failing on one line (1 of 6 is 16.7 %) while a
    real outbreak still fails; below it the share says little about the source.
    """
    return bool(read) and bad > contract.max_bad_share * read and bad >= contract.min_bad_records


def _check_bad_share(run: TableRun, contract: Contract) -> None:
    # Conflicts count as bad: two versions of one record mean the source is wrong about one of
    # them and the data cannot say which; a day full of them is as untrustworthy as malformed
    # lines. Duplicates are not bad: an identical re-send loses nothing.
    bad = run.rows_quarantined + run.rows_conflict
    if not is_bad_day(bad, run.rows_read, contract):
        return
    reasons = dict(run.quarantine_reasons)
    if run.rows_conflict:
        reasons[f"conflict:{contract.primary_key}"] = run.rows_conflict
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ", ".join(f"{r} ({n})" for r, n in ranked[:5])
    raise BadShareExceeded(
        f"{contract.name} {run.interval}: {bad} of {run.rows_read} records rejected "
        f"({bad / run.rows_read:.1%} > max_bad_share {contract.max_bad_share:.1%}, and at least "
        f"min_bad_records {contract.min_bad_records}); top reasons: {top}. Quarantine written to "
        f"{contract.quarantine_table} version {run.quarantine_version}; curated table unchanged"
    )


def _resolve(
    valid: pl.DataFrame, in_window: pl.DataFrame, contract: Contract, day: date, settings: Settings
) -> tuple[Resolution, pl.DataFrame]:
    """Duplicates and conflicts against today and the curated copies of other landing days."""
    pk, columns = contract.primary_key, contract.column_names
    schema = _nullable(arrow_schema(contract))
    keys = valid[pk].unique()
    others = in_window.filter(
        (pl.col(INGEST) != day) & pl.col(pk).cast(valid[pk].dtype).is_in(keys.implode())
    )
    copies = _read_copies(others, contract, day, settings)
    earlier = copies.filter(pl.col(LANDING) < day)
    outcome = resolve(valid, earlier, key=pk, day=day, columns=columns, schema=schema)
    later = superseded(
        outcome.curated,
        copies.filter(pl.col(LANDING) > day),
        key=pk,
        event_date=pl.col(contract.event_time or "").dt.date(),
        lateness_days=contract.max_lateness_days,
        columns=columns,
        schema=schema,
    )
    return outcome, later


def _read_copies(
    others: pl.DataFrame, contract: Contract, day: date, settings: Settings
) -> pl.DataFrame:
    """The full curated rows behind ``others`` (keys seen on other landing days), or none."""
    pk, part = contract.primary_key, contract.partition_by or ""
    curated = pl.from_arrow(_nullable(arrow_schema(contract)).empty_table())
    assert isinstance(curated, pl.DataFrame)  # a table converts to a frame, never a series
    empty = pl.DataFrame(schema={**curated.schema, LANDING: pl.Date})
    if others.is_empty():
        return empty
    lo, hi = others[part].min(), others[part].max()
    rows = lake.read_table(
        settings.table_uri(contract.curated_table),
        settings,
        columns=[*contract.column_names, INGEST],
        # Partition bounds only: files MERGE wrote may type strings as string_view, which
        # pyarrow cannot compare in a row filter; the few rows are filtered here instead.
        filters=[(part, ">=", lo), (part, "<=", hi)],
    )
    if rows is None:
        return empty
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    wanted = others[pk].unique().cast(frame[pk].dtype).implode()
    frame = frame.filter((pl.col(INGEST) != day) & pl.col(pk).is_in(wanted))
    return frame.rename({INGEST: LANDING})


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema])


def _merge(
    uri: str,
    data: pa.Table,
    contract: Contract,
    day: date,
    oldest: str,
    later: pl.DataFrame,
    settings: Settings,
) -> tuple[int, dict[str, Any]]:
    part, pk = contract.partition_by or "", contract.primary_key
    newest = (day + timedelta(days=contract.max_lateness_days)).isoformat()
    bounds = f"t.{part} >= '{oldest}' AND t.{part} <= '{newest}'"
    # A later landing day's copy of a key curated today is taken over: updated in place when it
    # sits in the same event-date partition, deleted when its event date differs (a conflict).
    delete_when = f"t.{INGEST} = '{day.isoformat()}'"
    if not later.is_empty():
        keys = ", ".join(_sql_literal(k) for k in later[pk].unique().sort().to_list())
        overruled = f"t.{INGEST} > '{day.isoformat()}' AND t.{pk} IN ({keys})"
        delete_when = f"({delete_when} OR ({overruled}))"
    return lake.merge_rows(
        uri,
        data,
        on=[part, pk],
        target_filter=bounds,
        # Only a copy from a later landing day is taken over; earlier ones were filtered out.
        update_when=f"t.{INGEST} >= s.{INGEST}",
        delete_when=delete_when,
        settings=settings,
        partition_by=[part],
    )


def _sql_literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _rows_in_window(uri: str, contract: Contract, day: date, settings: Settings) -> pl.DataFrame:
    """(key, partition, ingest_date) of the curated rows in the partitions day ``day`` competes
    with: its own window back (``max_lateness_days``) and as far forward, where later landing
    days may hold copies of its events."""
    lateness = timedelta(days=contract.max_lateness_days)
    part = contract.partition_by or ""
    rows = lake.read_table(
        uri,
        settings,
        columns=[contract.primary_key, part, INGEST],
        filters=[(part, ">=", day - lateness), (part, "<=", day + lateness)],
    )
    if rows is None:
        return pl.DataFrame(
            schema={contract.primary_key: pl.String, part: pl.Date, INGEST: pl.Date}
        )
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _curated_table(frame: pl.DataFrame, contract: Contract, day: date) -> pa.Table:
    # Nullability is enforced by the contract checks; Delta columns stay nullable for evolution.
    schema = pa.schema([f.with_nullable(True) for f in arrow_schema(contract)])
    table = frame.to_arrow().cast(schema)
    event_date = pc.cast(table.column(contract.event_time or ""), pa.date32())
    table = table.append_column(contract.partition_by or "", event_date)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))


def _quarantine_table(
    rejected: pl.DataFrame, day: date, personal: tuple[str, ...], key: bytes
) -> pa.Table:
    """The quarantine rows of one landing day, personal fields redacted inside ``raw_line``.

    This is the one place every quarantine row passes (contract failures, conflicts, file-level
    records), so no raw personal value reaches the Delta table, its old versions or its log.
    """
    schema = pa.schema(
        [
            ("source_file", pa.string()),
            ("line_no", pa.int64()),
            ("raw_line", pa.large_string()),
            ("reason", pa.string()),
            ("details", pa.string()),
        ]
    )
    frame = redact_quarantine_rows(rejected.select(QUARANTINE_COLUMNS), personal, key)
    table = frame.to_arrow().cast(schema)
    return table.append_column(INGEST, pa.array([day] * table.num_rows, pa.date32()))
