"""Drift-monitoring benchmark: one daily run on 1 million machine-hours x 20 drift features.

Builds a synthetic offline feature store (the three Feast views, in the partitions
``ml_tasks.features.compute`` writes) with ``--rows`` machine-hours per day: a 7-day reference
window and one current day on which plant P2's pressure (+2.5 bar) and temperature (+4 C) shift,
as in the demo data. Then, in this process:

1. **ours**: :func:`ml_tasks.monitoring.pipeline.run_monitoring` for the current day, the whole
   daily task (read the features, fixed-window reference, quality on every row, fleet and
   per-plant drift on at most ``current.sample_rows`` rows per slice, Evidently HTML and JSON,
   drift-table row; MLflow off unless ``--mlflow``), with the policy's sample size, then the
   same with Evidently's screen for the plants (the path before the built-in screen) and,
   unless ``--skip-all``, with every row compared (no sampling);
2. **Evidently alone**: ``Report([DataDriftPreset(...)]).run`` on the same frames: the full
   current day (all rows, 20 columns) against the same reference sample, fleet only.

Wall time and peak RSS (sampled every 20 ms) for each; the ratio ours / Evidently is our
overhead. Then the statistical check behind the sample size: how far the normalised Wasserstein
score of an n-row sample lands from the score of the full day, per column, over 5 seeds.

    .venv/bin/python bench/drift.py [--rows 1000000] [--skip-all] [--mlflow]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from peak_rss import PeakRss

START = date(2026, 10, 1)
CURRENT = START + timedelta(days=8)  # a Friday, compared with weekday reference rows
PLANTS = ("P1", "P2", "P3", "P4")
# model: temperature, vibration, pressure, rpm, power (as the demo generator's baselines)
MODELS = {
    "CNC-A": (60.0, 2.5, 6.0, 3000.0, 15.0),
    "CNC-B": (55.0, 2.0, 7.0, 4500.0, 22.0),
    "PRESS-X": (70.0, 4.0, 12.0, 600.0, 45.0),
    "PUMP-C": (45.0, 1.8, 9.0, 1800.0, 11.0),
}
SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar", "rotation_rpm", "power_kw")
NOISE = (0.8, 0.06, 0.12, 0.01, 0.03)  # absolute for temperature/pressure, relative otherwise


def _fleet(machines: int, seed: int = 3):
    import numpy as np

    rng = np.random.default_rng(seed)
    models = np.array(list(MODELS))[rng.integers(0, len(MODELS), machines)]
    base = np.array([MODELS[m] for m in models])
    base[:, 0] += rng.normal(0, 2.0, machines)
    base[:, 1:] *= rng.uniform(0.9, 1.1, (machines, 4))
    plants = np.array(PLANTS)[np.arange(machines) % len(PLANTS)]
    return models, base, plants


def write_day(settings, day: date, rows: int, drift: bool) -> None:
    """One day of the three feature views, ``rows`` machine-hours (machines x 24 hours)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from ml_tasks.features.layout import write_partition

    machines = rows // 24
    models, base, plants = _fleet(machines)
    rng = np.random.default_rng(day.toordinal())
    hours = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=24, freq="h")
    machine = np.tile(np.arange(machines), 24)
    hour = np.repeat(np.arange(24), machines)
    weekend = day.weekday() >= 5
    load = np.where((hour >= 6) & (hour < 22), 1.0, 0.55) * (0.7 if weekend else 1.0)
    ids = np.array([f"M-{i + 1:06d}" for i in range(machines)])
    telemetry = {
        "machine_id": ids[machine],
        "feature_ts": np.asarray(hours)[hour],
        "reading_count_1h": np.full(len(machine), 12, dtype="int64"),
    }
    for j, sensor in enumerate(SENSORS):
        level = (
            base[machine, j] * (0.9 + 0.15 * load) if j else base[machine, j] + 12 * (load - 0.75)
        )
        if drift and sensor in ("pressure_bar", "temperature_c"):
            level = level + np.where(plants[machine] == "P2", 2.5 if j == 2 else 4.0, 0.0)
        noise = NOISE[j] if j in (0, 2) else NOISE[j] * base[machine, j]
        mean = level + rng.normal(0, noise / np.sqrt(12), len(machine))
        std = np.abs(rng.normal(noise, noise / 5, len(machine)))
        telemetry[f"{sensor}_mean_1h"] = mean
        telemetry[f"{sensor}_std_1h"] = std
        telemetry[f"{sensor}_min_1h"] = mean - 1.6 * std
        telemetry[f"{sensor}_max_1h"] = mean + 1.6 * std
        telemetry[f"{sensor}_out_of_range_1h"] = (rng.random(len(machine)) < 0.0005).astype("int64")
    views = {
        "telemetry_stats": pa.table(telemetry),
        "maintenance_history": pa.table(
            {
                "machine_id": telemetry["machine_id"],
                "feature_ts": telemetry["feature_ts"],
                "failures_30d": np.zeros(len(machine), dtype="int64"),
            }
        ),
        "machine_attributes": pa.table(
            {
                "machine_id": ids,
                "feature_ts": np.repeat(np.asarray(hours)[:1], machines),
                "plant_id": plants,
                "line_id": np.char.add(plants.astype(str), "-L1"),
                "machine_model": models,
            }
        ),
    }
    for view, table in views.items():
        write_partition(settings, view, day, table)


def _timed(sampler: PeakRss, fn):
    base = sampler.reset()
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0, sampler.peak, base


def sampling_error(current, reference, columns, sizes, seeds=5) -> dict[int, float]:
    """Max |score(n-row sample) - score(all rows)| over columns and seeds (normalised W1)."""
    import numpy as np
    from scipy import stats

    def score(cur, ref):
        return stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)

    out = {}
    for n in sizes:
        worst = 0.0
        for column in columns:
            ref = reference[column].dropna().to_numpy()
            full = score(current[column].dropna().to_numpy(), ref)
            for seed in range(seeds):
                part = current[column].sample(n=n, random_state=seed).dropna().to_numpy()
                worst = max(worst, abs(score(part, ref) - full))
        out[n] = worst
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="machine-hours per day")
    parser.add_argument("--skip-all", action="store_true", help="skip the run without sampling")
    parser.add_argument("--mlflow", action="store_true", help="log the daily run to MLflow")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-drift-"))
    os.environ["PLATFORM_HOME"] = str(work / "platform")

    from ml_tasks.settings import get_settings

    settings = get_settings()
    t0 = time.perf_counter()
    for i in range(7):
        write_day(settings, START + timedelta(days=i), args.rows, drift=False)
    write_day(settings, CURRENT, args.rows, drift=True)
    elapsed = time.perf_counter() - t0
    print(f"synthetic features: 8 days x {args.rows:,} machine-hours in {elapsed:.0f} s")

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from ml_tasks.monitoring import frames
    from ml_tasks.monitoring.pipeline import monitored_columns, run_monitoring, window_reference
    from ml_tasks.monitoring.policy import load_policy

    policy = load_policy()
    policy = replace(policy, reference=replace(policy.reference, start=START))
    columns = list(policy.drift.columns)
    sampler = PeakRss()
    results = {}

    def ours(sample_rows: int | None, evidently_screen: bool = False):
        return run_monitoring(
            CURRENT,
            settings=settings,
            policy=policy,
            current_sample_rows=sample_rows,
            log_mlflow=args.mlflow,
            run_id="bench",
            evidently_screen=evidently_screen,
        )

    summary, secs, peak, base = _timed(sampler, lambda: ours(None))
    results["ours"] = (secs, peak, base)
    print(
        f"ours, {policy.current.sample_rows:,} rows per slice: {secs:.1f} s, peak RSS "
        f"{peak / 2**30:.2f} GiB (+{(peak - base) / 2**30:.2f}); alarm {summary.breached}, "
        f"drifted {summary.drifted_columns}; timings {summary.timings}"
    )
    before, secs, peak, base = _timed(sampler, lambda: ours(None, evidently_screen=True))
    results["ours_evidently_screen"] = (secs, peak, base)
    print(
        f"ours with Evidently's screen for the plants (the path before the built-in screen): "
        f"{secs:.1f} s, peak RSS {peak / 2**30:.2f} GiB (+{(peak - base) / 2**30:.2f}); "
        f"same verdict: {before.drifted_columns == summary.drifted_columns}; "
        f"timings {before.timings}"
    )
    if not args.skip_all:
        summary, secs, peak, base = _timed(sampler, lambda: ours(args.rows))
        results["ours_all"] = (secs, peak, base)
        print(
            f"ours, every row compared: {secs:.1f} s, peak RSS {peak / 2**30:.2f} GiB "
            f"(+{(peak - base) / 2**30:.2f}); drifted {summary.drifted_columns}; "
            f"timings {summary.timings}"
        )

    # The same frames the daily run compares, for Evidently alone.
    read_cols = monitored_columns(policy)
    reference, _, _ = window_reference(CURRENT, policy, read_cols, settings)
    reference = reference[reference[frames.DAY_TYPE] == frames.day_type(CURRENT)]
    current = frames.read_day(CURRENT, read_cols, settings)
    definition = DataDefinition(numerical_columns=columns)
    thresholds = {c: policy.drift.threshold_for(c) for c in columns}

    def evidently_alone():
        report = Report(
            [
                DataDriftPreset(
                    columns=columns,
                    method=policy.drift.method,
                    per_column_threshold=thresholds,
                    drift_share=policy.drift.drift_share,
                )
            ]
        )
        return report.run(
            Dataset.from_pandas(current[columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition),
        )

    snapshot, secs, peak, base = _timed(sampler, evidently_alone)
    results["evidently"] = (secs, peak, base)
    count = next(m for m in snapshot.dict()["metrics"] if "DriftedColumnsCount" in m["metric_name"])
    print(
        f"Evidently DataDriftPreset alone, fleet, {len(current):,} x {len(columns)} vs "
        f"{len(reference):,} reference rows: {secs:.1f} s, peak RSS {peak / 2**30:.2f} GiB "
        f"(+{(peak - base) / 2**30:.2f}); drifted {count['value']}"
    )
    sampler.stop()
    ratio = results["ours"][0] / results["evidently"][0]
    print(f"ratio ours / Evidently alone (wall): {ratio:.2f}")
    screen = results["ours"][0] / results["ours_evidently_screen"][0]
    print(f"ratio ours / ours with Evidently's screen (wall): {screen:.2f}")
    if "ours_all" in results:
        all_rows = results["ours"][0] / results["ours_all"][0]
        print(f"ratio ours sampled / ours all rows (wall): {all_rows:.2f}")

    sizes = [n for n in (10_000, 20_000, 50_000, 100_000, 200_000) if n < len(current)]
    errors = sampling_error(current, reference, columns, sizes)
    print("sampling error of the normalised Wasserstein score (max over 20 columns x 5 seeds):")
    for n, err in errors.items():
        print(f"  n = {n:>7,}: {err:.4f} reference standard deviations")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
