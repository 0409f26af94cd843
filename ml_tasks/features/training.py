"""Point-in-time-correct training sets: labelled machine-hours joined with Feast features.

For every installed machine and every hour ``T`` of the date range, the label is 1 when a
failure work order for the machine is opened in ``(T, T + horizon]`` (cancelled and deleted
orders do not count). Features come from Feast's historical retrieval with the entity timestamp
``T``: for each view the latest row with ``feature_ts <= T`` within the view's ttl, and a
feature row at ``T`` only holds data from before ``T``, so nothing from the label's future leaks
in. Hours whose label window reaches past the curated data are left out (their label is not
known yet), and by default so are hours in which the machine is already down for a failure.

The set is written once, as ``<training_sets_uri>/v<NNNN>/data.parquet`` plus ``metadata.json``
(the dataset versions it came from), and recorded in the manifest as ``training_set``.

Builds are idempotent: a build's **content key** (:func:`content_key`: the window, the label
spec, the feature service's views and features, the versions of the source datasets and
:data:`FORMAT`, the version of the code that shapes the set) is recorded with it, and a build
whose key is already recorded returns that version without writing anything. So a retried
build task gets the version the first try wrote, and the retried training (whose Ray run name
derives from the training-set version) resumes the same Ray run from its checkpoints. A new
dataset version, another window or other feature definitions give a new version.

The parquet file is written in row groups of at most :func:`row_group_rows` rows (time order),
so each Ray worker, which reads a contiguous range of rows (``ml_tasks.training.data``), reads
only the row groups its share touches rather than the whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ml_tasks.elt import lake, manifest
from ml_tasks.features.layout import days_between, interval_bounds
from ml_tasks.settings import Settings, get_settings

LABEL = "failure_within_horizon"
EVENT_TIMESTAMP = "event_timestamp"
SOURCE_TABLES = (
    "telemetry",
    "work_orders_history",
    "work_orders",
    "machines",
    "features_telemetry_stats",
    "features_maintenance_history",
    "features_machine_attributes",
)


# The version of the code that shapes a training set (labels, join, columns, file layout): bump
# it when that code changes, so a build after the change does not reuse a set built before.
FORMAT = 2
# Row groups: enough per planned worker that a worker's contiguous share of rows touches few
# groups it shares with another worker; never so small that metadata and per-group overhead
# dominate.
GROUPS_PER_WORKER = 8
MIN_PLANNED_WORKERS = 4
MIN_GROUP_ROWS = 1024


class TrainingSetError(RuntimeError):
    """The requested training set cannot be built from the data there is."""


def label_frame(
    machines: pd.DataFrame,
    work_orders: pd.DataFrame,
    start: date,
    end: date,
    *,
    horizon: timedelta = timedelta(hours=24),
    known_until: datetime | None = None,
    exclude_in_repair: bool = True,
) -> pd.DataFrame:
    """Entity rows ``machine_id, event_timestamp, label`` on the hourly grid of ``[start, end]``.

    ``work_orders`` is the current state of every work order (the final word on each); rows
    whose horizon ends after ``known_until`` are dropped.
    """
    begin, stop = interval_bounds(start, end)
    hours = pd.date_range(begin, stop, freq="h", inclusive="left").astype("datetime64[ns, UTC]")
    installed = pd.to_datetime(machines["install_date"]).dt.tz_localize("UTC")
    grid = (
        machines[["machine_id"]]
        .assign(_installed=installed.to_numpy())
        .merge(pd.DataFrame({EVENT_TIMESTAMP: hours}), how="cross")
    )
    grid = grid[grid["_installed"] <= grid[EVENT_TIMESTAMP]].drop(columns="_installed")
    if known_until is not None:
        grid = grid[grid[EVENT_TIMESTAMP] + horizon <= known_until]

    failures = work_orders[
        (work_orders["order_type"] == "failure") & (work_orders["status"] != "cancelled")
    ][["machine_id", "opened_ts", "closed_ts"]]
    failures = failures.astype(
        {"opened_ts": "datetime64[ns, UTC]", "closed_ts": "datetime64[ns, UTC]"}
    )
    # Per grid row, the first failure opened after T: label when it is within the horizon.
    grid = grid.sort_values(EVENT_TIMESTAMP)
    opened = failures.dropna(subset=["opened_ts"]).sort_values("opened_ts")
    nxt = pd.merge_asof(
        grid,
        opened[["machine_id", "opened_ts"]].rename(columns={"opened_ts": "_next"}),
        left_on=EVENT_TIMESTAMP,
        right_on="_next",
        by="machine_id",
        direction="forward",
        allow_exact_matches=False,
    )
    nxt[LABEL] = (nxt["_next"].notna() & (nxt["_next"] - nxt[EVENT_TIMESTAMP] <= horizon)).astype(
        "int64"
    )
    if exclude_in_repair and len(opened):
        # The latest failure opened at or before T: still open (or closed after T) = down.
        prev = pd.merge_asof(
            nxt.sort_values(EVENT_TIMESTAMP),
            opened.rename(columns={"opened_ts": "_prev_open", "closed_ts": "_prev_close"}),
            left_on=EVENT_TIMESTAMP,
            right_on="_prev_open",
            by="machine_id",
            direction="backward",
        )
        down = prev["_prev_open"].notna() & (
            prev["_prev_close"].isna() | (prev["_prev_close"] > prev[EVENT_TIMESTAMP])
        )
        nxt = prev[~down]
    out = nxt[["machine_id", EVENT_TIMESTAMP, LABEL]]
    return out.sort_values([EVENT_TIMESTAMP, "machine_id"]).reset_index(drop=True)


def historical_features(entity_df: pd.DataFrame, store: Any) -> pd.DataFrame:
    """Feast's point-in-time join of the failure model's features onto ``entity_df``.

    ``entity_df`` has ``machine_id`` and ``event_timestamp`` (UTC) plus any other columns, which
    are passed through. Rows come back sorted by time, then machine, with the entity columns'
    types. One retrieval for the whole range: the offline engine (DuckDB by default) streams the
    join, so memory is bounded by the feature data, not by entity x feature rows.
    """
    from ml_tasks.features.store import FEATURE_SERVICE, offline_session

    service = store.get_feature_service(FEATURE_SERVICE)
    with offline_session():
        frame = store.get_historical_features(entity_df=entity_df, features=service).to_df()
    # Engines differ in what they hand back: the timestamp unit (DuckDB: microseconds), extra
    # bookkeeping columns (Ray). Keep the entity frame's columns and types, then the service's
    # features in order, so a training set is the same file whatever engine built it.
    features = [f.name for p in service.feature_view_projections for f in p.features]
    frame = frame[[*entity_df.columns, *features]]
    frame = frame.astype({c: entity_df[c].dtype for c in entity_df.columns})
    return frame.sort_values([EVENT_TIMESTAMP, "machine_id"]).reset_index(drop=True)


def service_views(store: Any) -> list[tuple[str, timedelta, list[str]]]:
    """``(view, ttl, features)`` of each view of the failure model's feature service, in order."""
    from ml_tasks.features.store import FEATURE_SERVICE

    service = store.get_feature_service(FEATURE_SERVICE)
    return [
        (p.name, store.get_feature_view(p.name).ttl, [f.name for f in p.features])
        for p in service.feature_view_projections
    ]


def asof_features(
    entity_df: pd.DataFrame, settings: Settings, views: list[tuple[str, timedelta, list[str]]]
) -> pd.DataFrame:
    """The same point-in-time join as one DuckDB ``ASOF JOIN`` per view, without Feast.

    ``views`` lists ``(view, ttl, features)``. Per entity row and view: the latest row with
    ``feature_ts <= event_timestamp``, its features null when that row is older than the ttl
    (Feast's semantics: the latest row within ``[T - ttl, T]``). It reads the same parquet
    partitions Feast reads. This is the floor the benchmark measures Feast's retrieval against
    and the reference the tests hold it to; training uses Feast's retrieval.
    """
    import duckdb

    from ml_tasks.features.layout import ENTITY, TIMESTAMP, view_uri

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("entity_rows", entity_df)
        selects, joins = [], []
        for i, (view, ttl, features) in enumerate(views):
            alias = f"v{i}"
            ttl_us = int(ttl / timedelta(microseconds=1))
            fresh = f"e.{EVENT_TIMESTAMP} - {alias}.{TIMESTAMP} <= to_microseconds({ttl_us})"
            selects += [f"CASE WHEN {fresh} THEN {alias}.{f} END AS {f}" for f in features]
            source = f"{view_uri(settings, view)}/*/*.parquet"
            joins.append(
                f"ASOF LEFT JOIN read_parquet('{source}', hive_partitioning = false) {alias}"
                f" ON e.{ENTITY} = {alias}.{ENTITY} AND e.{EVENT_TIMESTAMP} >= {alias}.{TIMESTAMP}"
            )
        sql = f"SELECT e.*, {', '.join(selects)} FROM entity_rows e {' '.join(joins)}"
        # Through Arrow, as Feast hands it over: integers with nulls become float64 NaN.
        frame = con.sql(sql).to_arrow_table().to_pandas()
    finally:
        con.close()
    frame = frame.astype({c: entity_df[c].dtype for c in entity_df.columns})
    return frame.sort_values([EVENT_TIMESTAMP, "machine_id"]).reset_index(drop=True)


def _curated_until(settings: Settings) -> datetime | None:
    """End of the last landing day whose work orders are curated (labels are known until)."""
    days = [
        date.fromisoformat(e.interval_start)
        for e in manifest.history(settings.manifest_path, "work_orders_history")
    ]
    if not days:
        return None
    return datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _next_version(settings: Settings) -> int:
    latest = manifest.latest(settings.manifest_path).get("training_set")
    return (latest.version + 1) if latest else 1


def row_group_rows(rows: int, workers: int) -> int:
    """Rows per parquet row group for a set of ``rows`` rows trained on by ``workers`` workers.

    ``GROUPS_PER_WORKER`` groups per worker (at least ``MIN_PLANNED_WORKERS`` planned, since a
    set outlives the run that built it and may be trained on more workers later), each at
    least ``MIN_GROUP_ROWS`` rows. A worker then reads its share plus at most one partial group
    at each end of its range.
    """
    groups = GROUPS_PER_WORKER * max(workers, MIN_PLANNED_WORKERS)
    return max(MIN_GROUP_ROWS, -(-rows // groups))


def content_key(
    start: date,
    end: date,
    *,
    sources: dict[str, Any],
    views: list[tuple[str, timedelta, list[str]]],
    feature_service: str,
    horizon_hours: int,
    exclude_in_repair: bool,
) -> str:
    """What determines a training set's rows: equal keys, equal sets (sha256, hex).

    ``sources``: dataset -> version of :data:`SOURCE_TABLES` (the manifest's latest);
    ``views``: :func:`service_views` of the feature service.
    """
    key = {
        "format": FORMAT,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "label": {
            "name": LABEL,
            "horizon_hours": horizon_hours,
            "exclude_in_repair": exclude_in_repair,
        },
        "feature_service": feature_service,
        "views": [[name, ttl.total_seconds(), list(features)] for name, ttl, features in views],
        "sources": {name: sources[name] for name in sorted(sources)},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _read_metadata(path: str) -> dict[str, Any] | None:
    """A written set's ``metadata.json``, or None when the folder is gone or incomplete."""
    if "://" in path and not path.startswith("file://"):
        from pyarrow import fs

        filesystem, base = fs.FileSystem.from_uri(path)
        if filesystem.get_file_info(f"{base}/metadata.json").type == fs.FileType.NotFound:
            return None
        with filesystem.open_input_stream(f"{base}/metadata.json") as f:
            return dict(json.loads(f.read()))
    file = Path(path.removeprefix("file://")) / "metadata.json"
    return dict(json.loads(file.read_text())) if file.exists() else None


def find_built(settings: Settings, key: str) -> dict[str, Any] | None:
    """The metadata of the newest recorded training set with content key ``key``, if its files
    are still there."""
    for entry in reversed(manifest.history(settings.manifest_path, "training_set")):
        if entry.stats.get("content_key") != key:
            continue
        path = str(entry.stats.get("path") or "")
        metadata = _read_metadata(path) if path else None
        if metadata is not None and metadata.get("content_key") == key:
            return {**metadata, "path": path}
    return None


def build_training_set(
    start: date,
    end: date,
    *,
    settings: Settings | None = None,
    store: Any = None,
    horizon_hours: int = 24,
    exclude_in_repair: bool = True,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Build, write and record a training set for ``[start, end]``; returns its metadata."""
    from ml_tasks.features.store import FEATURE_SERVICE, get_store

    s = settings or get_settings()
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    started = time.perf_counter()
    fs = store or get_store(s)
    sources = {
        name: {
            "version": e.version,
            "interval_start": e.interval_start,
            "interval_end": e.interval_end,
        }
        for name, e in manifest.latest(s.manifest_path).items()
        if name in SOURCE_TABLES
    }
    key = content_key(
        start,
        end,
        sources={name: src["version"] for name, src in sources.items()},
        views=service_views(fs),
        feature_service=FEATURE_SERVICE,
        horizon_hours=horizon_hours,
        exclude_in_repair=exclude_in_repair,
    )
    built = find_built(s, key)
    if built is not None:
        # The same window over the same data and definitions: the version built before.
        return {**built, "reused": True, "seconds": round(time.perf_counter() - started, 3)}
    horizon = timedelta(hours=horizon_hours)
    machines = lake.read_table(s.table_uri("machines"), s)
    work_orders = lake.read_table(s.table_uri("work_orders"), s)
    if machines is None or work_orders is None:
        raise TrainingSetError("curated machines/work_orders missing: run the ELT first")
    known_until = _curated_until(s)
    entity_df = label_frame(
        machines.to_pandas(),
        work_orders.to_pandas(),
        start,
        end,
        horizon=horizon,
        known_until=known_until,
        exclude_in_repair=exclude_in_repair,
    )
    if entity_df.empty:
        raise TrainingSetError(
            f"no labelled hours in {start}..{end}: labels need {horizon_hours} h of curated work"
            f" orders after each hour (curated until {known_until})"
        )
    frame = historical_features(entity_df, fs)
    table = pa.Table.from_pandas(frame, preserve_index=False)

    version = _next_version(s)
    feature_names = [c for c in frame.columns if c not in ("machine_id", EVENT_TIMESTAMP, LABEL)]
    metadata = {
        "name": "training_set",
        "version": version,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": len(days_between(start, end)),
        "feature_service": FEATURE_SERVICE,
        "label": LABEL,
        "entity": "machine_id",
        "timestamp": EVENT_TIMESTAMP,
        "horizon_hours": horizon_hours,
        "exclude_in_repair": exclude_in_repair,
        "labels_known_until": known_until.isoformat() if known_until else None,
        "rows": table.num_rows,
        "positives": int(frame[LABEL].sum()),
        "features": feature_names,
        "sources": sources,
        # Flat dataset -> version map, what a training run records as its lineage.
        "lineage": {name: src["version"] for name, src in sources.items()},
        "row_count": table.num_rows,
        "row_group_rows": row_group_rows(table.num_rows, s.training_workers),
        "content_key": key,
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "reused": False,
    }
    path = _write(s, version, table, metadata)
    metadata["path"] = path
    metadata["seconds"] = round(time.perf_counter() - started, 3)
    manifest.record(
        s.manifest_path,
        manifest.DatasetVersion(
            table_name="training_set",
            version=version,
            interval_start=start.isoformat(),
            interval_end=(end + timedelta(days=1)).isoformat(),
            row_count=table.num_rows,
            stats={
                k: metadata[k]
                for k in (
                    "path",
                    "positives",
                    "feature_service",
                    "sources",
                    "sha256",
                    "content_key",
                )
            },
            run_id=run_id,
        ),
    )
    return metadata


def _write(settings: Settings, version: int, table: pa.Table, metadata: dict[str, Any]) -> str:
    """Write ``v<NNNN>/`` once: into a temporary folder, renamed into place when complete."""
    import pyarrow.parquet as pq

    root = settings.training_sets_uri.rstrip("/")
    name = f"v{version:04d}"
    group_rows = int(metadata["row_group_rows"])
    if "://" in root and not root.startswith("file://"):
        from pyarrow import fs

        filesystem, base = fs.FileSystem.from_uri(f"{root}/{name}")
        pq.write_table(
            table, f"{base}/data.parquet", filesystem=filesystem, row_group_size=group_rows
        )
        metadata["sha256"] = None
        with filesystem.open_output_stream(f"{base}/metadata.json") as out:
            out.write(json.dumps(metadata, indent=2, default=str).encode())
        return f"{root}/{name}"
    final = Path(root.removeprefix("file://")) / name
    if final.exists():
        raise TrainingSetError(f"training set {final} already exists; versions are immutable")
    tmp = final.with_name(f".{name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pq.write_table(table, tmp / "data.parquet", row_group_size=group_rows)
    metadata["sha256"] = hashlib.sha256((tmp / "data.parquet").read_bytes()).hexdigest()
    (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
    os.replace(tmp, final)
    return str(final)


def read_training_set(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A written training set and its metadata."""
    import pyarrow.parquet as pq

    folder = Path(path)
    return (
        pq.read_table(folder / "data.parquet").to_pandas(),
        json.loads((folder / "metadata.json").read_text()),
    )
