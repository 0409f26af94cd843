"""Feature-store benchmark: computation, materialization, online lookups, each beside a baseline.

On the demo data set (30 days x 100 machines, a reading every 5 minutes) in a scratch
PLATFORM_HOME (or ``--home`` with curated data already there):

1. Feature computation, curated readings per second: the production numpy windows over the 30
   days beside the two alternatives measured, a DuckDB window query and pandas rolling windows
   (results checked equal); numpy and DuckDB both include the out-of-range extraction from the
   quarantine, pandas computes the statistics only; all views end to end; one DAG interval
   (the day + 2 late days).
2. Training set: Feast's point-in-time retrieval (the configured offline engine, DuckDB) for the
   first ``--train-days`` days beside its floor, the same join written as one DuckDB ASOF JOIN
   per view over the same parquet files with the same ttl (rows checked identical), interleaved,
   median of ``--repeats``; the peak RSS each adds over the process before it, and the size of
   the feature data; the whole build (labels, retrieval, write) once; with ``--dask-days N`` the
   engine before, Feast's dask file store, on the first N days (slow: kept out by default).
3. Materialization per daily interval into SQLite and into Redis: offline rows read and online
   rows written per second.
4. Online lookups, p50/p99 over ``--lookups`` requests for 1 and for 100 machines, on SQLite and
   on Redis: the platform's reader beside the raw storage lookup of the same rows (SQLite: one
   primary-key query, fetchall; Redis: ``HGETALL`` per machine, one pipeline), with the ratio;
   Feast's generic ``get_online_features`` is shown for reference on a sample of the requests.
   The three run interleaved, request by request, so they see the same machine load.

    .venv/bin/python bench/features.py [--days 30] [--machines 100] [--lookups 10000]
                                       [--train-days 23] [--repeats 5] [--dask-days N]
                                       [--home PATH]
                                       [--no-redis] [--training-set-only]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from peak_rss import PeakRss

START = date(2026, 10, 1)


def _prepare(home: Path, days: int, machines: int) -> None:
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.settings import get_settings

    s = get_settings()
    if (home / "manifest.sqlite").exists():
        print(f"reusing the curated data in {home}")
        return
    t0 = time.perf_counter()
    generate(START, days, machines, seed=7, bad_rate=0.02, landing_dir=s.landing_dir)
    for i in range(days):
        run_elt(START + timedelta(days=i), settings=s, run_id="bench")
    took = time.perf_counter() - t0
    print(f"generated and curated {days} days x {machines} machines in {took:.0f} s")


def pandas_telemetry_stats(telemetry: Any, start: date, end: date) -> Any:
    """The telemetry windows in vectorised pandas: hourly partial sums, 24-bucket rolling sums."""
    import numpy as np
    import pandas as pd

    from ml_tasks.features.compute import SENSORS

    df = telemetry.to_pandas()
    df["hour_end"] = df["event_ts"].dt.floor("h") + pd.Timedelta(hours=1)
    parts = {"n": df.groupby(["machine_id", "hour_end"]).size()}
    grouped = df.groupby(["machine_id", "hour_end"])
    for s in SENSORS:
        df[f"{s}__sq"] = df[s] * df[s]
    grouped = df.groupby(["machine_id", "hour_end"])
    for s in SENSORS:
        parts[f"{s}__n"] = grouped[s].count()
        parts[f"{s}__sum"] = grouped[s].sum(min_count=1)
        parts[f"{s}__sq"] = grouped[f"{s}__sq"].sum(min_count=1)
        parts[f"{s}__min"] = grouped[s].min()
        parts[f"{s}__max"] = grouped[s].max()
    hourly = pd.DataFrame(parts)
    first = pd.Timestamp(start, tz="UTC") - pd.Timedelta(hours=23)
    hours = pd.date_range(first, pd.Timestamp(end, tz="UTC") + pd.Timedelta(hours=23), freq="h")
    machines = hourly.index.get_level_values(0).unique()
    full = hourly.reindex(pd.MultiIndex.from_product([machines, hours], names=hourly.index.names))
    out = {}
    for w, hours_back in (("1h", 1), ("24h", 24)):
        roll = full.groupby(level=0, group_keys=False).rolling(hours_back, min_periods=1)
        sums = roll.sum()
        mins, maxs = roll.min(), roll.max()
        out[f"reading_count_{w}"] = sums["n"].fillna(0)
        for s in SENSORS:
            n, total, sq = sums[f"{s}__n"], sums[f"{s}__sum"], sums[f"{s}__sq"]
            out[f"{s}_mean_{w}"] = (total / n).where(n > 0)
            var = ((sq - total * total / n) / (n - 1)).clip(lower=0)
            out[f"{s}_std_{w}"] = np.sqrt(var).where(n > 1)
            out[f"{s}_min_{w}"] = mins[f"{s}__min"]
            out[f"{s}_max_{w}"] = maxs[f"{s}__max"]
    result = pd.DataFrame(out)
    result.index = result.index.droplevel(0) if result.index.nlevels > 2 else result.index
    keep = result.index.get_level_values(1) >= pd.Timestamp(start, tz="UTC")
    return result[keep]


# How each hourly partial combines into a window (DuckDB alternative).
_PARTIAL_AGGREGATES = (
    ("n", "sum"),
    ("sum", "sum"),
    ("sq", "sum"),
    ("min", "min"),
    ("max", "max"),
    ("oor", "sum"),
)


def duckdb_telemetry_sql(start: date, end: date) -> str:
    """The windows as one DuckDB query (hourly buckets, then window frames): the alternative."""
    from ml_tasks.features.compute import SENSORS, WINDOWS, _grid_sql

    sums = ",\n".join(
        f"count({s}) AS {s}__n, sum({s}) AS {s}__sum, sum({s} * {s}) AS {s}__sq, "
        f"min({s}) AS {s}__min, max({s}) AS {s}__max"
        for s in SENSORS
    )
    oor = ",\n".join(f"count(*) FILTER (WHERE sensor = '{s}') AS {s}__oor" for s in SENSORS)
    bucket_cols = ",\n".join(
        f"coalesce(h.{s}__n, 0) AS {s}__n, h.{s}__sum, h.{s}__sq, h.{s}__min, h.{s}__max, "
        f"coalesce(o.{s}__oor, 0) AS {s}__oor"
        for s in SENSORS
    )
    # Each window is a frame of hourly buckets over a dense per-machine grid of hours, so the
    # database runs one streaming window aggregate per column (no grid x bucket join).
    longest = max(WINDOWS.values())
    frames = ",\n".join(
        f"w{w} AS (PARTITION BY machine_id ORDER BY hour_end"
        f" ROWS BETWEEN {hours - 1} PRECEDING AND CURRENT ROW)"
        for w, hours in WINDOWS.items()
        if hours > 1
    )

    def over(column: str, agg: str, w: str) -> str:
        # A one-hour window is the bucket itself.
        return column if WINDOWS[w] == 1 else f"{agg}({column}) OVER w{w}"

    window_aggs = []
    for w in WINDOWS:
        window_aggs.append(f"{over('n', 'sum', w)} AS reading_count_{w}")
        for s in SENSORS:
            for part, agg in _PARTIAL_AGGREGATES:
                window_aggs.append(f"{over(f'{s}__{part}', agg, w)} AS {s}__{part}_{w}")
    stats = []
    for w in WINDOWS:
        stats.append(f"CAST(reading_count_{w} AS BIGINT) AS reading_count_{w}")
    for s in SENSORS:
        for w in WINDOWS:
            n, total, sq = f"{s}__n_{w}", f"{s}__sum_{w}", f"{s}__sq_{w}"
            stats += [
                f"CASE WHEN {n} > 0 THEN {total} / {n} END AS {s}_mean_{w}",
                # Sample std from the partial sums; tiny negative rounding is clamped to 0.
                f"CASE WHEN {n} > 1 THEN sqrt(greatest(({sq} - {total} * {total} / {n})"
                f" / ({n} - 1), 0)) END AS {s}_std_{w}",
                f"{s}__min_{w} AS {s}_min_{w}",
                f"{s}__max_{w} AS {s}_max_{w}",
                f"CAST({s}__oor_{w} AS BIGINT) AS {s}_out_of_range_{w}",
            ]
    first_bucket = f"TIMESTAMP '{start}' - INTERVAL {longest - 1} HOUR"
    return f"""
    WITH grid AS ({_grid_sql(start, end)}),
    readings AS (
        SELECT machine_id, CAST(event_ts AS TIMESTAMP) AS ts, {", ".join(SENSORS)}
        FROM telemetry
    ),
    hourly AS (
        SELECT machine_id, date_trunc('hour', ts) + INTERVAL 1 HOUR AS hour_end,
               count(*) AS n, {sums}
        FROM readings GROUP BY ALL
    ),
    rejected AS (
        SELECT json_extract_string(raw_line, '$.machine_id') AS machine_id,
               CAST(TRY_CAST(json_extract_string(raw_line, '$.event_ts') AS TIMESTAMPTZ)
                    AS TIMESTAMP) AS ts,
               substr(reason, {len("out_of_range:") + 1}) AS sensor
        FROM quarantine
        WHERE reason LIKE 'out_of_range:%' AND json_valid(raw_line)
    ),
    out_of_range AS (
        SELECT machine_id, date_trunc('hour', ts) + INTERVAL 1 HOUR AS hour_end, {oor}
        FROM rejected WHERE machine_id IS NOT NULL AND ts IS NOT NULL GROUP BY ALL
    ),
    -- Every machine x every hour the windows can reach (bucket = readings in [end - 1 h, end)).
    dense AS (
        SELECT m.machine_id, h.hour_end
        FROM machines m
        CROSS JOIN range({first_bucket}, TIMESTAMP '{end + timedelta(days=1)}',
                         INTERVAL 1 HOUR) AS h(hour_end)
    ),
    buckets AS (
        SELECT d.machine_id, d.hour_end, coalesce(h.n, 0) AS n, {bucket_cols}
        FROM dense d
        LEFT JOIN hourly h USING (machine_id, hour_end)
        LEFT JOIN out_of_range o USING (machine_id, hour_end)
    ),
    windows AS (
        SELECT machine_id, hour_end AS feature_ts, {", ".join(window_aggs)}
        FROM buckets
        WINDOW {frames}
    )
    SELECT g.machine_id, g.feature_ts, {", ".join(stats)}
    FROM grid g JOIN windows w USING (machine_id, feature_ts)
    ORDER BY feature_ts, machine_id
    """


def _max_rel_diff(ours: Any, other: Any) -> tuple[int, float]:
    import numpy as np

    common = ours.index.intersection(other.index)
    worst = 0.0
    for column in other.columns:
        a = ours.loc[common, column].to_numpy(dtype="float64")
        b = other.loc[common, column].to_numpy(dtype="float64")
        assert (np.isnan(a) == np.isnan(b)).all(), column
        both = ~np.isnan(a)
        if both.any():
            worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / (1 + np.abs(b[both])))))
    return len(common), worst


def bench_compute(days: int) -> dict[str, Any]:
    import duckdb

    from ml_tasks.features import compute
    from ml_tasks.features.store import load_definitions
    from ml_tasks.settings import get_settings

    s = get_settings()
    load_definitions(s)  # import Feast once (about 6 s), as a long-lived worker would have
    end = START + timedelta(days=days - 1)
    inputs = compute.read_inputs(START, end, s)
    rows = inputs.telemetry.num_rows
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("telemetry", "quarantine", "machines"):
        con.register(name, getattr(inputs, name))

    timings: dict[str, float] = {}
    # The same work as the DuckDB query: it recovers the out-of-range readings from the
    # quarantine itself, so numpy's time includes that extraction (as compute_tables runs it).
    t0 = time.perf_counter()
    out_of_range = con.sql(compute._OUT_OF_RANGE_SQL).to_arrow_table()
    ours = compute.telemetry_stats(inputs, out_of_range, START, end)
    timings["numpy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    duck = con.sql(duckdb_telemetry_sql(START, end)).to_arrow_table()
    timings["duckdb"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = pandas_telemetry_stats(inputs.telemetry, START, end)
    timings["pandas"] = time.perf_counter() - t0

    ours_df = ours.to_pandas().set_index(["machine_id", "feature_ts"])
    duck_df = compute._as_utc(duck).to_pandas().set_index(["machine_id", "feature_ts"])
    checked, worst_pandas = _max_rel_diff(ours_df, reference)
    _, worst_duck = _max_rel_diff(ours_df, duck_df[ours_df.columns])

    t0 = time.perf_counter()
    full = compute.compute_features(START, end, settings=s)
    end_to_end = time.perf_counter() - t0

    per_day = []
    for i in range(3, min(days, 10)):
        day = START + timedelta(days=i)
        t0 = time.perf_counter()
        result = compute.compute_features(day - timedelta(days=2), day, settings=s)
        per_day.append((time.perf_counter() - t0, result["telemetry_rows_read"]))
    return {
        "telemetry_rows": rows,
        "seconds": timings,
        "checked_rows": checked,
        "max_rel_diff": {"pandas": worst_pandas, "duckdb": worst_duck},
        "end_to_end_s": end_to_end,
        "feature_rows": sum(full["rows"].values()),
        "dag_interval_s": sum(t for t, _ in per_day) / len(per_day),
        "dag_interval_rows": sum(r for _, r in per_day) / len(per_day),
    }


def _dask_retrieval(
    s: Any, entity_df: Any, days: int, sampler: PeakRss, floor: Any
) -> dict[str, Any]:
    """The engine before DuckDB, for the record: Feast's file (dask) store on the first days,
    one call, on the same registry and files (its rows checked equal to the floor's)."""
    import warnings

    import pandas as pd
    import yaml
    from feast import FeatureStore

    from ml_tasks.features import store
    from ml_tasks.features.training import EVENT_TIMESTAMP, historical_features

    repo = Path(tempfile.mkdtemp(prefix="bench-dask-repo-"))
    config = store.render_config(s) | {"offline_store": {"type": "file"}}
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(config))
    first = entity_df[
        entity_df[EVENT_TIMESTAMP] < pd.Timestamp(START + timedelta(days=days), tz="UTC")
    ]
    before = sampler.reset()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        got = historical_features(first, FeatureStore(repo_path=str(repo)))
    seconds = time.perf_counter() - t0
    added = sampler.peak - before
    shutil.rmtree(repo, ignore_errors=True)
    t0 = time.perf_counter()
    floor_rows = floor()
    floor_s = time.perf_counter() - t0
    expected = floor_rows[floor_rows[EVENT_TIMESTAMP].isin(first[EVENT_TIMESTAMP])]
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True))
    return {
        "days": days,
        "entity_rows": len(first),
        "seconds": seconds,
        "peak_rss_added_mb": added / 2**20,
        "floor_full_range_s": floor_s,
    }


def bench_training_set(
    train_days: int, repeats: int, sampler: PeakRss, dask_days: int = 0
) -> dict[str, Any]:
    import pandas as pd

    from ml_tasks.elt import lake
    from ml_tasks.features import store
    from ml_tasks.features.layout import VIEWS, feature_rows
    from ml_tasks.features.training import (
        _curated_until,
        asof_features,
        build_training_set,
        historical_features,
        label_frame,
        service_views,
    )
    from ml_tasks.settings import get_settings

    s = get_settings()
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    end = START + timedelta(days=train_days - 1)
    machines = lake.read_table(s.table_uri("machines"), s).to_pandas()
    orders = lake.read_table(s.table_uri("work_orders"), s).to_pandas()
    entity_df = label_frame(machines, orders, START, end, known_until=_curated_until(s))
    views = service_views(fs)
    feature_bytes = feature_count = 0
    for view in VIEWS:
        rows = feature_rows(s, view, START, START + timedelta(days=365))
        feature_bytes += rows.nbytes
        feature_count += rows.num_rows

    def feast() -> Any:
        return historical_features(entity_df, fs)

    def floor() -> Any:
        return asof_features(entity_df, s, views)

    pd.testing.assert_frame_equal(feast(), floor())  # warm-up, and the rows must be identical
    seconds: dict[str, list[float]] = {"feast": [], "floor": []}
    rss: dict[str, int] = {"feast": 0, "floor": 0}
    for _ in range(repeats):
        for name, fn in (("feast", feast), ("floor", floor)):
            before = sampler.reset()
            t0 = time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - t0)
            rss[name] = max(rss[name], sampler.peak - before)
    t0 = time.perf_counter()
    built = build_training_set(START, end, settings=s, store=fs, run_id="bench")
    build_s = time.perf_counter() - t0
    # This process's peak so far (the feature computation above included), before the old engine.
    process_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dask = _dask_retrieval(s, entity_df, dask_days, sampler, floor) if dask_days else None
    return {
        "dask": dask,
        "engine": fs.config.offline_store.type,
        "train_days": train_days,
        "entity_rows": len(entity_df),
        "columns": len(built["features"]) + 3,
        "feature_rows": feature_count,
        "feature_mb": feature_bytes / 2**20,
        "seconds": seconds,
        "median_s": {k: statistics.median(v) for k, v in seconds.items()},
        "ratios": [a / b for a, b in zip(seconds["feast"], seconds["floor"], strict=True)],
        "peak_rss_added_mb": {k: v / 2**20 for k, v in rss.items()},
        "build_s": build_s,
        "process_peak_rss_mb": process_peak_mb,
    }


def print_training_set(t: dict[str, Any]) -> None:
    feast, floor = t["median_s"]["feast"], t["median_s"]["floor"]
    ratios = sorted(t["ratios"])
    print(
        f"\nTraining set: {t['train_days']} days, {t['entity_rows']:,} labelled machine-hours x"
        f" {t['columns']} columns, from {t['feature_rows']:,} feature rows"
        f" ({t['feature_mb']:.0f} MB in Arrow); median of {len(ratios)}"
    )
    print(
        f"  {'Feast get_historical_features (' + t['engine'] + ')':<42}{feast:6.2f} s"
        f"  (runs {', '.join(f'{x:.2f}' for x in t['seconds']['feast'])})"
        f"  peak RSS +{t['peak_rss_added_mb']['feast']:.0f} MB"
    )
    print(
        f"  {'floor: DuckDB ASOF JOIN per view':<42}{floor:6.2f} s"
        f"  (runs {', '.join(f'{x:.2f}' for x in t['seconds']['floor'])})"
        f"  peak RSS +{t['peak_rss_added_mb']['floor']:.0f} MB"
    )
    print(
        f"  ratio Feast / floor: {feast / floor:.2f}x median"
        f" (per run {ratios[0]:.2f}x to {ratios[-1]:.2f}x); rows and values identical"
    )
    print(
        f"  whole build (labels, retrieval, write, manifest): {t['build_s']:.2f} s;"
        f" process peak RSS so far {t['process_peak_rss_mb']:.0f} MB"
    )
    if t["dask"]:
        d = t["dask"]
        print(
            f"  before (Feast's file/dask store, first {d['days']} days only, one call):"
            f" {d['seconds']:.1f} s for {d['entity_rows']:,} rows, peak RSS"
            f" +{d['peak_rss_added_mb']:,.0f} MB; rows identical"
        )


def bench_materialize(days: int) -> dict[str, Any]:
    from ml_tasks.features import store
    from ml_tasks.settings import get_settings

    s = get_settings()
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    offline = online = 0
    elapsed = 0.0
    for i in range(days):
        day = START + timedelta(days=i)
        result = store.materialize(day, day, settings=s, store=fs)
        elapsed += result["seconds"]
        offline += result["offline_rows"]
        online += result["online_rows_offered"]
    return {"intervals": days, "offline_rows": offline, "online_rows": online, "seconds": elapsed}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    import numpy as np

    return float(np.percentile(samples, 50) * 1e3), float(np.percentile(samples, 99) * 1e3)


def _time_paired(fns: list[Any], batches: list[list[str]]) -> list[tuple[float, float]]:
    """p50/p99 (ms) of each function over the same requests, interleaved request by request so
    that every function sees the same machine load; the last one (Feast's generic path, the
    slowest) only on a sample of the requests."""
    for fn in fns:
        for batch in batches[:50]:
            fn(batch)  # warm up
    # As a serving process does after start-up: move everything alive now out of the collector's
    # way, so a collection scans only the objects of the requests (not Feast's and pandas' heap).
    gc.collect()
    gc.freeze()
    samples: list[list[float]] = [[] for _ in fns]
    for i, batch in enumerate(batches):
        for j, fn in enumerate(fns):
            if j == len(fns) - 1 and i % _SDK_STRIDE[len(batch) > 1]:
                continue  # Feast's generic path: a sample of the requests
            t0 = time.perf_counter()
            fn(batch)
            samples[j].append(time.perf_counter() - t0)
    gc.unfreeze()
    return [_percentiles(s) for s in samples]


# Feast's generic read is measured on every 5th single-machine and every 50th 100-machine request.
_SDK_STRIDE = {False: 5, True: 50}


def bench_lookups(kind: str, machines: int, lookups: int) -> list[dict[str, Any]]:
    from ml_tasks.features.online import OnlineFeatureReader
    from ml_tasks.settings import get_settings

    reader = OnlineFeatureReader.from_settings(get_settings())
    sdk = OnlineFeatureReader.from_settings(get_settings(), fast=False)
    assert reader.fast, "the fast path should serve this store"
    ids = [f"M-{i:04d}" for i in range(1, machines + 1)]
    keys = {m: reader.entity_key(m) for m in ids}

    if kind == "sqlite":
        import sqlite3

        path = sdk.store.config.online_store.path
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = [f"{sdk.store.project}_{v}" for v in dict.fromkeys(v for v, _ in reader.features)]
        sql: dict[int, str] = {}

        def raw(batch: list[str]) -> Any:
            n = len(batch)
            if n not in sql:
                marks = ", ".join("?" * n)
                sql[n] = " UNION ALL ".join(
                    f'SELECT entity_key, feature_name, value FROM "{t}"'
                    f" WHERE entity_key IN ({marks})"
                    for t in tables
                )
            return con.execute(sql[n], [keys[m] for m in batch] * len(tables)).fetchall()

        raw_name = "raw sqlite3 primary-key query"
    else:
        online = sdk.store._get_provider().online_store
        client = online._get_client(sdk.store.config.online_store)
        project = sdk.store.project.encode()

        def raw(batch: list[str]) -> Any:
            with client.pipeline(transaction=False) as pipe:
                for m in batch:
                    pipe.hgetall(keys[m] + project)
                return pipe.execute()

        raw_name = "raw Redis HGETALL (pipelined)"

    rng = random.Random(7)
    results = []
    for size in (1, 100):
        batches = [[ids[rng.randrange(machines)] for _ in range(size)] for _ in range(lookups)]
        base, ours, feast = _time_paired([raw, reader.get, sdk.get], batches)
        results.append(
            {
                "store": kind,
                "entities": size,
                "lookups": lookups,
                "baseline": raw_name,
                "raw_ms": base,
                "platform_ms": ours,
                "feast_sdk_ms": feast,
            }
        )
    return results


def _start_redis() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    binary = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        return None, None
    if binary is None:
        return None, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(200):
        try:
            client.ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    return None, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--machines", type=int, default=100)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument(
        "--home", type=Path, help="PLATFORM_HOME to use (kept); default: a temp dir"
    )
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--train-days", type=int, default=23, help="training-set range, days")
    parser.add_argument("--repeats", type=int, default=5, help="training-set timing runs")
    parser.add_argument(
        "--dask-days",
        type=int,
        default=0,
        help="also time the old engine (Feast's dask file store) on this many days (slow)",
    )
    parser.add_argument(
        "--training-set-only",
        action="store_true",
        help="stop after the training set (skip materialization and lookups)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-features-")) / "platform"
    os.environ["PLATFORM_HOME"] = str(home.resolve())
    os.environ.pop("PLATFORM_REDIS_URL", None)
    os.environ.pop("PLATFORM_ONLINE_STORE", None)
    os.environ.pop("PLATFORM_OFFLINE_ENGINE", None)
    _prepare(home, args.days, args.machines)
    sampler = PeakRss()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])} ({os.cpu_count()} cores)")

    report: dict[str, Any] = {"days": args.days, "machines": args.machines}
    c = report["compute"] = bench_compute(args.days)
    print("\nFeature computation: telemetry_stats windows, curated readings per second")
    labels = {
        "numpy": "numpy (production)",
        "duckdb": "DuckDB window SQL",
        "pandas": "pandas groupby-rolling",
    }
    for engine, seconds in c["seconds"].items():
        diff = "" if engine == "numpy" else f"  max rel. diff {c['max_rel_diff'][engine]:.1e}"
        print(
            f"  {labels[engine]:<24}{c['telemetry_rows'] / seconds:>12,.0f} rows/s"
            f"  ({seconds:.2f} s, {c['seconds']['numpy'] / seconds:.2f}x numpy's speed){diff}"
        )
    print(
        f"  all views end to end (read Delta, compute, type checks, write), {args.days} days: "
        f"{c['telemetry_rows'] / c['end_to_end_s']:,.0f} rows/s ({c['end_to_end_s']:.2f} s, "
        f"{c['feature_rows']:,} feature rows)"
    )
    print(
        f"  one DAG interval (the day + 2 late-data days): {c['dag_interval_s']:.2f} s for "
        f"{c['dag_interval_rows']:,.0f} readings"
    )
    report["training_set"] = bench_training_set(
        args.train_days, args.repeats, sampler, args.dask_days
    )
    print_training_set(report["training_set"])
    if args.training_set_only:
        return _finish(args, report, home)

    proc, url = (None, None) if args.no_redis else _start_redis()
    stores = ["sqlite"] + (["redis"] if url else [])
    if not url:
        print("\n(Redis skipped: --no-redis, or redis-server / the redis client not installed)")
    report["materialize"], report["lookups"] = {}, []
    try:
        for kind in stores:
            if kind == "redis":
                os.environ["PLATFORM_REDIS_URL"] = url or ""
            m = report["materialize"][kind] = bench_materialize(args.days)
            print(f"\nMaterialization into {kind}, {m['intervals']} daily intervals")
            print(f"  offline rows read:     {m['offline_rows'] / m['seconds']:>10,.0f} rows/s")
            print(
                f"  online rows written:   {m['online_rows'] / m['seconds']:>10,.0f} rows/s"
                f"  ({m['seconds'] / m['intervals']:.2f} s per interval)"
            )
            report["lookups"] += bench_lookups(kind, args.machines, args.lookups)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"\nOnline lookups, {args.lookups:,} requests each (ms)")
    print(
        f"  {'store':<7}{'machines':>9}  {'raw p50':>8}{'raw p99':>8}"
        f"  {'ours p50':>9}{'ours p99':>9}"
        f"  {'ratio p50':>9}{'ratio p99':>10}  {'Feast SDK p50/p99':>18}"
    )
    for r in report["lookups"]:
        (r50, r99), (o50, o99), (f50, f99) = r["raw_ms"], r["platform_ms"], r["feast_sdk_ms"]
        print(
            f"  {r['store']:<7}{r['entities']:>9}  {r50:>8.3f}{r99:>8.3f}  {o50:>9.3f}{o99:>9.3f}"
            f"  {o50 / r50:>8.2f}x{o99 / r99:>9.2f}x  {f50:>8.3f} /{f99:>8.3f}"
        )
    print(
        "  baselines: SQLite = one primary-key query for the same rows, fetchall; Redis ="
        " HGETALL of each machine's hash in one pipeline"
    )
    return _finish(args, report, home)


def _finish(args: argparse.Namespace, report: dict[str, Any], home: Path) -> int:
    with open("/proc/loadavg") as f:
        print(f"load average at end: {' '.join(f.read().split()[:3])}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    if not args.home:
        shutil.rmtree(home.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
