"""Compute the feature views for a range of days from the curated Delta tables.

One call covers whole UTC days ``[start, end]`` (the data interval, plus the late-data refresh
the DAG adds). Every feature row sits on an hourly grid: the row of machine ``m`` at ``T``
describes what was known strictly before ``T``:

- ``telemetry_stats``: readings with ``event_ts`` in ``[T - 1 h, T)`` and ``[T - 24 h, T)``, so
  day ``D`` needs day ``D - 1`` too (the look-back of the longest window); out-of-range readings
  come from the quarantine, where the ELT put them;
- ``maintenance_history``: the work-order change log as of ``T`` (changes with ``op_ts < T``);
- ``machine_attributes``: the asset register, one snapshot per day at 00:00.

Vectorised throughout, never row by row. Telemetry windows: readings are reduced to per-machine
hourly partial sums (count, sum, sum of squares, min, max) with numpy ``bincount``/``reduceat``,
then each grid point combines the buckets its window covers, so the cost is linear in the
readings and every value is computed in a content-defined order (a day recomputed inside any
range is bit-identical). ``bench/features.py`` measured this against a DuckDB window query and
pandas rolling windows (same results to 1e-11; numpy the fastest). The work-order history, an
as-of reconstruction, is one DuckDB query. Inputs are read from Delta at pinned versions.

Each day's rows of each view go to one parquet partition of the offline store, replaced
atomically (:mod:`ml_tasks.features.layout` owns where and how). Before writing, every column
is cast to the type the Feast view declares; a value that does not fit fails the computation
with the view, column and example.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from ml_tasks.elt import lake, manifest
from ml_tasks.features.layout import (
    ENTITY,
    TIMESTAMP,
    VIEWS,
    days_between,
    write_partition,
)
from ml_tasks.features.store import arrow_feature_types, load_definitions
from ml_tasks.settings import Settings, get_settings

SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar", "rotation_rpm", "power_kw")
WINDOWS = {"1h": 1, "24h": 24}
LOOKBACK_DAYS = 1  # the 24 h window of the first grid point of a day reaches into the day before
FAILURE_WINDOW_DAYS = 30
MAINTENANCE_ORDER_TYPES = ("failure", "preventive")

# Curated tables whose landing days must have been processed before a day's features.
REQUIRED_INPUTS = {"telemetry": "event_date", "work_orders_history": "op_date"}


class MissingCuratedData(RuntimeError):
    """A curated partition a feature interval needs has not been written yet."""


class FeatureTypeError(ValueError):
    """A computed feature value does not fit the type its feature view declares."""


@dataclass
class Inputs:
    """The curated data one computation reads, with the Delta versions it was read at."""

    telemetry: pa.Table
    quarantine: pa.Table
    work_orders: pa.Table
    machines: pa.Table
    versions: dict[str, int | None]


def _curated_landing_days(settings: Settings, table: str) -> set[date]:
    return {
        date.fromisoformat(entry.interval_start)
        for entry in manifest.history(settings.manifest_path, table)
    }


def check_inputs(start: date, end: date, settings: Settings) -> None:
    """Fail with the missing partition's name unless the ELT has curated every day needed.

    Needed: each day of ``[start, end]`` and the look-back day before ``start``; the look-back
    day may precede the first curated day (the start of the data), the interval days may not.
    """
    for table, partition in REQUIRED_INPUTS.items():
        curated = _curated_landing_days(settings, table)
        first = min(curated) if curated else None
        for day in days_between(start - timedelta(days=LOOKBACK_DAYS), end):
            lookback_before_history = day < start and (first is None or day < first)
            if day in curated or lookback_before_history:
                continue
            uri = settings.table_uri(table)
            raise MissingCuratedData(
                f"missing curated input for features {start}..{end}: {table} partition "
                f"{partition}={day} ({uri}) has not been curated; run the ELT for {day} first "
                f"(python -m ml_tasks elt --date {day})"
            )


def refresh_start(start: date, settings: Settings, late_days: int) -> date:
    """First day to recompute when landing day ``start`` arrives: late events can still land in
    the ``late_days`` days before it, but nothing before the first curated day exists."""
    curated = _curated_landing_days(settings, "telemetry")
    earliest = min(curated) if curated else start
    return max(start - timedelta(days=late_days), min(earliest, start))


def _empty(schema: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([], type=t) for name, t in schema.items()})


def read_inputs(start: date, end: date, settings: Settings) -> Inputs:
    """Read what ``[start, end]`` needs from the curated tables, each at one pinned version."""
    versions = {
        table: lake.table_version(settings.table_uri(table), settings)
        for table in ("telemetry", "quarantine_telemetry", "work_orders_history", "machines")
    }

    def read(table: str, columns: list[str], filters: list[tuple[str, str, Any]]) -> Any:
        version = versions[table]
        if version is None:
            return None
        return lake.read_table(
            settings.table_uri(table), settings, columns=columns, filters=filters, version=version
        )

    first = start - timedelta(days=LOOKBACK_DAYS)
    telemetry = read(
        "telemetry",
        [ENTITY, "event_id", "event_ts", *SENSORS],
        [("event_date", ">=", first), ("event_date", "<=", end)],
    )
    # Late events of these days may have been quarantined on a later landing day.
    quarantine = read(
        "quarantine_telemetry", ["raw_line", "reason"], [("ingest_date", ">=", first)]
    )
    work_orders = read(
        "work_orders_history",
        [
            "lsn",
            "op",
            "op_ts",
            "work_order_id",
            ENTITY,
            "order_type",
            "status",
            "opened_ts",
            "closed_ts",
        ],
        [("op_date", "<=", end)],
    )
    machines = read(
        "machines", [ENTITY, "plant_id", "line_id", "machine_model", "install_date"], []
    )
    found = {"telemetry": telemetry, "work_orders_history": work_orders, "machines": machines}
    missing = [name for name, table in found.items() if table is None]
    if missing:
        raise MissingCuratedData(f"curated tables missing: {', '.join(missing)}; run the ELT first")
    if quarantine is None:  # no record was ever rejected
        quarantine = _empty({"raw_line": pa.string(), "reason": pa.string()})
    return Inputs(telemetry, quarantine, work_orders, machines, versions)


def _grid_sql(start: date, end: date) -> str:
    """Installed machines x hours of ``[start, end]`` (``feature_ts``, naive UTC)."""
    return f"""
        SELECT m.machine_id, g.feature_ts
        FROM machines m
        CROSS JOIN range(TIMESTAMP '{start}', TIMESTAMP '{end + timedelta(days=1)}',
                         INTERVAL 1 HOUR) AS g(feature_ts)
        WHERE m.install_date <= CAST(g.feature_ts AS DATE)
    """


# Out-of-range readings were quarantined by the ELT: recover machine, time and sensor.
_OUT_OF_RANGE_SQL = f"""
    SELECT * FROM (
        SELECT json_extract_string(raw_line, '$.machine_id') AS machine_id,
               epoch_us(TRY_CAST(json_extract_string(raw_line, '$.event_ts') AS TIMESTAMPTZ))
                   AS ts_us,
               substr(reason, {len("out_of_range:") + 1}) AS sensor
        FROM quarantine
        WHERE reason LIKE 'out_of_range:%' AND json_valid(raw_line)
    )
    WHERE machine_id IS NOT NULL AND ts_us IS NOT NULL
"""
_HOUR_US = 3_600_000_000


def _epoch_us(day: date) -> int:
    return int(datetime.combine(day, dtime.min, tzinfo=UTC).timestamp()) * 1_000_000


def telemetry_stats(inputs: Inputs, out_of_range: pa.Table, start: date, end: date) -> pa.Table:
    """The ``telemetry_stats`` rows of ``[start, end]`` (vectorised numpy, deterministic).

    Readings are reduced to per-machine hourly buckets (count, sum, sum of squares, min, max per
    sensor) with ``bincount`` / ``reduceat`` over rows sorted by machine, time and event id; each
    window then combines a fixed run of buckets (``sliding_window_view``). Every feature value is
    thus computed from the same numbers in the same order whatever range the call covers, so a
    recomputed day is bit-identical (a DuckDB window query was slower and differed in the last
    bits between ranges; see ``bench/features.py``).
    """
    longest = max(WINDOWS.values())
    machine_ids = inputs.machines.column(ENTITY).combine_chunks()
    machines = machine_ids.to_pylist()
    t0 = _epoch_us(start) - longest * _HOUR_US  # start of the first bucket any window needs
    hours = (end - start).days * 24 + 24 + (longest - 1)  # buckets: [t0 + b h, t0 + (b + 1) h)
    shape = (len(machines), hours)
    size = shape[0] * shape[1]

    def cells(machine: pa.ChunkedArray, ts_us: np.ndarray) -> np.ndarray:
        """Bucket cell (machine x hour) of each row; -1 outside the grid or unknown machine."""
        idx = pc.fill_null(pc.index_in(machine, value_set=machine_ids), -1).to_numpy()
        bucket = (ts_us - t0) // _HOUR_US
        ok = (idx >= 0) & (bucket >= 0) & (bucket < hours)
        return np.where(ok, idx.astype(np.int64) * hours + bucket, -1)

    tel = inputs.telemetry
    ts = pc.cast(tel.column("event_ts"), pa.int64()).to_numpy()
    all_cells = cells(tel.column(ENTITY), ts)
    # A content-defined row order (cell, then event id) makes every sum reproducible.
    keyed = pa.table({"cell": all_cells, "id": tel.column("event_id")})
    order = pc.sort_indices(keyed, sort_keys=[("cell", "ascending"), ("id", "ascending")])
    order = order.to_numpy()
    order = order[all_cells[order] >= 0]
    cell = all_cells[order]

    parts: dict[str, np.ndarray] = {"n": np.bincount(cell, minlength=size).reshape(shape)}
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]]) if len(cell) else np.array([], int)
    for s in SENSORS:
        x = tel.column(s).to_numpy(zero_copy_only=False).astype(np.float64)[order]
        valid = ~np.isnan(x)
        zero = np.where(valid, x, 0.0)
        parts[f"{s}__n"] = np.bincount(cell, weights=valid, minlength=size).reshape(shape)
        parts[f"{s}__sum"] = np.bincount(cell, weights=zero, minlength=size).reshape(shape)
        parts[f"{s}__sq"] = np.bincount(cell, weights=zero * zero, minlength=size).reshape(shape)
        for name, ufunc in (("min", np.fmin), ("max", np.fmax)):
            grid = np.full(size, np.nan)
            if len(cell):
                grid[cell[starts]] = ufunc.reduceat(x, starts)
            parts[f"{s}__{name}"] = grid.reshape(shape)
        oor = out_of_range.filter(pc.equal(out_of_range.column("sensor"), s))
        o_cells = cells(oor.column(ENTITY), oor.column("ts_us").to_numpy(zero_copy_only=False))
        parts[f"{s}__oor"] = np.bincount(o_cells[o_cells >= 0], minlength=size).reshape(shape)

    columns: dict[str, np.ndarray] = {}
    for w, span in WINDOWS.items():

        def window(a: np.ndarray, reduce: Any, span: int = span) -> np.ndarray:
            # Row b of the result combines buckets [b, b + span) and ends at bucket b + span - 1.
            view = sliding_window_view(a, span, axis=1)[:, longest - span :]
            return reduce(view, axis=-1)

        def total(a: np.ndarray) -> np.ndarray:
            return window(a, np.sum)

        columns[f"reading_count_{w}"] = total(parts["n"])
        for s in SENSORS:
            n, sm, sq = total(parts[f"{s}__n"]), total(parts[f"{s}__sum"]), total(parts[f"{s}__sq"])
            with np.errstate(invalid="ignore", divide="ignore"):
                columns[f"{s}_mean_{w}"] = np.where(n > 0, sm / n, np.nan)
                var = np.maximum((sq - sm * sm / n) / (n - 1), 0.0)
                columns[f"{s}_std_{w}"] = np.where(n > 1, np.sqrt(var), np.nan)
            columns[f"{s}_min_{w}"] = window(parts[f"{s}__min"], np.fmin.reduce)
            columns[f"{s}_max_{w}"] = window(parts[f"{s}__max"], np.fmax.reduce)
            columns[f"{s}_out_of_range_{w}"] = total(parts[f"{s}__oor"])

    # Grid rows: feature_ts = end of bucket, for the hours of [start, end], installed machines.
    n_hours = hours - (longest - 1)
    feature_us = _epoch_us(start) + np.arange(n_hours, dtype=np.int64) * _HOUR_US
    installed = pc.cast(inputs.machines.column("install_date"), pa.date32()).to_numpy(
        zero_copy_only=False
    )
    install_us = installed.astype("datetime64[us]").astype(np.int64)
    # Rows ordered by time, then machine; a machine appears from the day it was installed.
    mask = (install_us[:, None] <= feature_us[None, :] // 86_400_000_000 * 86_400_000_000).T
    machine_idx = np.broadcast_to(np.arange(len(machines))[None, :], (n_hours, len(machines)))
    time_idx = np.broadcast_to(np.arange(n_hours)[:, None], (n_hours, len(machines)))
    m_sel, t_sel = machine_idx[mask], time_idx[mask]
    out = {
        ENTITY: pa.array(np.array(machines, dtype=object)[m_sel], pa.string()),
        TIMESTAMP: pa.array(feature_us[t_sel], pa.timestamp("us", tz="UTC")),
    }
    for name, values in columns.items():
        picked = values[m_sel, t_sel]
        if name.startswith(("reading_count_",)) or "_out_of_range_" in name:
            out[name] = pa.array(picked.astype(np.int64))
        else:
            out[name] = pa.array(picked, mask=np.isnan(picked))
    return pa.table(out)


def _maintenance_sql(start: date, end: date) -> str:
    alive = "op <> 'delete'"
    types = ", ".join(f"'{t}'" for t in MAINTENANCE_ORDER_TYPES)
    return f"""
    WITH grid AS ({_grid_sql(start, end)}),
    -- Deletes carry only keys: take each order's machine from its other changes.
    order_machine AS (
        SELECT work_order_id, any_value(machine_id) AS machine_id
        FROM work_orders WHERE machine_id IS NOT NULL GROUP BY work_order_id
    ),
    changes AS (
        SELECT c.lsn, CAST(c.op_ts AS TIMESTAMP) AS op_ts, c.work_order_id, m.machine_id, c.op,
               c.order_type, c.status, CAST(c.opened_ts AS TIMESTAMP) AS opened_ts,
               CAST(c.closed_ts AS TIMESTAMP) AS closed_ts
        FROM work_orders c JOIN order_machine m USING (work_order_id)
    ),
    -- Each order's state as known at T: its latest change logged before T.
    known AS (
        SELECT g.machine_id, g.feature_ts, c.op, c.order_type, c.status, c.opened_ts, c.closed_ts
        FROM grid g JOIN changes c ON c.machine_id = g.machine_id AND c.op_ts < g.feature_ts
        QUALIFY row_number() OVER (
            PARTITION BY g.machine_id, g.feature_ts, c.work_order_id ORDER BY c.lsn DESC) = 1
    ),
    history AS (
        SELECT machine_id, feature_ts,
            max(closed_ts) FILTER (WHERE {alive} AND status = 'closed'
                AND order_type IN ({types}) AND closed_ts < feature_ts) AS last_maintenance,
            count(*) FILTER (WHERE {alive} AND order_type = 'failure' AND status <> 'cancelled'
                AND opened_ts >= feature_ts - INTERVAL {FAILURE_WINDOW_DAYS} DAY
                AND opened_ts < feature_ts) AS failures_30d,
            count(*) FILTER (WHERE {alive} AND status IN ('open', 'in_progress'))
                AS open_work_orders
        FROM known GROUP BY ALL
    )
    SELECT g.machine_id, g.feature_ts,
        epoch(g.feature_ts - h.last_maintenance) / 3600.0 AS hours_since_last_maintenance,
        CAST(coalesce(h.failures_30d, 0) AS BIGINT) AS failures_30d,
        CAST(coalesce(h.open_work_orders, 0) AS BIGINT) AS open_work_orders,
        epoch(g.feature_ts - CAST(m.install_date AS TIMESTAMP)) / 86400.0 AS machine_age_days
    FROM grid g
    JOIN machines m USING (machine_id)
    LEFT JOIN history h USING (machine_id, feature_ts)
    ORDER BY feature_ts, machine_id
    """


def _attributes_sql(start: date, end: date) -> str:
    return f"""
    SELECT m.machine_id, d.feature_ts, m.plant_id, m.line_id, m.machine_model
    FROM machines m
    CROSS JOIN range(TIMESTAMP '{start}', TIMESTAMP '{end + timedelta(days=1)}',
                     INTERVAL 1 DAY) AS d(feature_ts)
    WHERE m.install_date <= CAST(d.feature_ts AS DATE)
    ORDER BY feature_ts, machine_id
    """


def compute_tables(inputs: Inputs, start: date, end: date) -> dict[str, pa.Table]:
    """Every view's rows for ``[start, end]`` (pure: no I/O), ``feature_ts`` in UTC."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name in ("quarantine", "work_orders", "machines"):
            con.register(name, getattr(inputs, name))
        out_of_range = con.sql(_OUT_OF_RANGE_SQL).to_arrow_table()
        maintenance = _as_utc(con.sql(_maintenance_sql(start, end)).to_arrow_table())
        attributes = _as_utc(con.sql(_attributes_sql(start, end)).to_arrow_table())
    finally:
        con.close()
    return {
        "telemetry_stats": telemetry_stats(inputs, out_of_range, start, end),
        "maintenance_history": maintenance,
        "machine_attributes": attributes,
    }


def _as_utc(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index(TIMESTAMP)
    ts = table.column(i).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return table.set_column(i, TIMESTAMP, ts)


def declared_schemas(settings: Settings | None = None) -> dict[str, dict[str, pa.DataType]]:
    """Per view, feature name -> Arrow type, from the Feast definitions (the source of truth)."""
    definitions = load_definitions(settings or get_settings())
    return {fv.name: arrow_feature_types(fv) for fv in definitions.feature_views}


def _example(table: pa.Table, mask: pa.ChunkedArray) -> str:
    row = table.filter(mask).slice(0, 1).to_pylist()[0]
    return f"machine {row[ENTITY]} at {row[TIMESTAMP]}"


def conform(view: str, table: pa.Table, declared: dict[str, pa.DataType]) -> pa.Table:
    """Cast ``table`` to the declared feature types or raise :class:`FeatureTypeError`.

    Rejected: a missing or undeclared column, a string where a number is declared or the
    reverse, a lossy cast (a fraction or an overflow into an integer), a non-finite float, a null
    entity key or timestamp.
    """
    expected = [ENTITY, TIMESTAMP, *declared]
    missing = [c for c in expected if c not in table.column_names]
    extra = [c for c in table.column_names if c not in expected]
    if missing or extra:
        raise FeatureTypeError(
            f"{view}: computed columns do not match the feature view (missing {missing}, "
            f"undeclared {extra})"
        )
    for key in (ENTITY, TIMESTAMP):
        if table.column(key).null_count:
            raise FeatureTypeError(f"{view}: {table.column(key).null_count} rows without {key}")
    columns = [table.column(ENTITY).cast(pa.string()), table.column(TIMESTAMP)]
    for name, dtype in declared.items():
        column = table.column(name)
        wants_text = pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if wants_text != is_text or not (is_text or _is_number(column.type)):
            raise FeatureTypeError(
                f"{view}.{name}: computed values are {column.type}, the view declares {dtype}"
            )
        try:
            cast = column.cast(dtype, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise FeatureTypeError(
                f"{view}.{name}: values of type {column.type} do not fit the declared {dtype}: "
                f"{err}"
            ) from err
        if pa.types.is_floating(dtype):
            bad = pc.and_kleene(pc.is_valid(cast), pc.invert(pc.is_finite(cast)))
            if pc.any(bad).as_py():
                raise FeatureTypeError(
                    f"{view}.{name}: {pc.sum(bad).as_py()} non-finite values (NaN or infinity), "
                    f"e.g. {_example(table, bad)}"
                )
        columns.append(cast)
    return pa.Table.from_arrays(columns, names=expected)


def _is_number(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)


def _split_by_day(table: pa.Table, days: list[date]) -> Iterator[tuple[date, pa.Table]]:
    day_of_row = pc.cast(table.column(TIMESTAMP), pa.date32())
    for day in days:
        yield day, table.filter(pc.equal(day_of_row, pa.scalar(day, pa.date32())))


def compute_features(
    start: date,
    end: date | None = None,
    *,
    settings: Settings | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Compute, check and write every view for the days ``[start, end]``; a small summary.

    Each view's write is recorded in the dataset-version manifest as ``features_<view>`` with
    the curated versions it was computed from.
    """
    s = settings or get_settings()
    end = end or start
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    started = time.perf_counter()
    check_inputs(start, end, s)
    inputs = read_inputs(start, end, s)
    declared = declared_schemas(s)
    computed = compute_tables(inputs, start, end)
    days = days_between(start, end)
    # Every view is checked before the first partition is written.
    checked = {view: conform(view, computed[view], declared[view]) for view in VIEWS}
    rows: dict[str, int] = {}
    for view, table in checked.items():
        partitions = [
            write_partition(s, view, day, part) for day, part in _split_by_day(table, days)
        ]
        rows[view] = table.num_rows
        previous = manifest.latest(s.manifest_path).get(f"features_{view}")
        manifest.record(
            s.manifest_path,
            manifest.DatasetVersion(
                table_name=f"features_{view}",
                version=(previous.version + 1) if previous else 1,
                interval_start=start.isoformat(),
                interval_end=(end + timedelta(days=1)).isoformat(),
                row_count=table.num_rows,
                stats={"partitions": partitions, "inputs": inputs.versions},
                run_id=run_id,
            ),
        )
    seconds = time.perf_counter() - started
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": len(days),
        "rows": rows,
        "telemetry_rows_read": inputs.telemetry.num_rows,
        "inputs": inputs.versions,
        "seconds": round(seconds, 3),
    }
