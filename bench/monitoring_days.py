"""Daily monitoring on the demo's small days: where a day's seconds go, and a range in one run.

Builds the demo's data (or reuses ``--home``): 30 days x 100 machines from 2026-10-01, seed 7,
2 % bad records, plant P2 recalibrated from 2026-10-24, curated and turned into offline features,
and a champion as ``make run`` has one when monitoring starts (an XGBoost model on the days before
the drift, registered as ``failure_model@champion`` with its training set's path). Then, with
the load average printed before each part:

1. **floors**: ``python -c pass``; importing what a day needs (``python -c "import evidently,
   mlflow.pyfunc, xgboost, ml_tasks.monitoring.pipeline"``, with ``-X importtime``'s biggest
   packages); and the Evidently work a day cannot avoid under the policy: the fleet's full
   report (``DataDriftPreset`` + ``DataSummaryPreset``, the HTML engineers open) on the day's
   rows against the champion's reference, built and rendered alone;
2. **a day through the DAG** (``dag.test()``, as ``make run`` ran every day) against the same
   day through the monitoring stage in this process: the difference is Airflow's share;
3. **before**: ``--compare-days`` days, each a fresh ``run_monitoring`` with Evidently's screen
   (the per-day path: champion loaded, reference read, MLflow client opened every day),
   interleaved day by day with
   **after**: the same days through one ``Monitor`` with the built-in screen; the verdicts of
   both must be identical (breach, kinds, drifted columns per slice, shares);
4. **the demo range**: all ``--days`` days through one ``Monitor`` (what ``make run``'s step does
   for all days but the last), per-day seconds and the total against the goal (90 s);
5. ``--profile``: ``cProfile`` of one before-path day, cumulative seconds of the parts.

    .venv/bin/python bench/monitoring_days.py [--home DIR] [--days 30] [--compare-days 4]
        [--no-dag] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml_tasks.monitoring.results import MonitoringDay

START = date(2026, 10, 1)
DAYS = 30
DRIFT_START = START + timedelta(days=23)
COMPARE_FROM = date(2026, 10, 22)  # Thursday, Friday, the first drift day (Saturday), Sunday


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def build_home(settings) -> None:
    """The demo's data and a champion trained on the days before the drift."""
    import mlflow
    import pandas as pd
    import xgboost as xgb
    from mlflow.models import infer_signature

    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.features.compute import compute_features
    from ml_tasks.monitoring import frames
    from ml_tasks.registry.models import client

    days = [START + timedelta(days=i) for i in range(DAYS)]
    t0 = time.perf_counter()
    generate(
        START,
        DAYS,
        100,
        seed=7,
        bad_rate=0.02,
        drift_start=DRIFT_START,
        landing_dir=settings.landing_dir,
    )
    for day in days:
        run_elt(day, settings=settings, run_id=f"bench__{day}")
    compute_features(days[0], days[-1], settings=settings, run_id="bench")
    training = pd.concat(
        [frames.read_day(d, None, settings) for d in days if d < DRIFT_START], ignore_index=True
    ).rename(columns={"feature_ts": "event_timestamp"})
    features = [c for c in training.columns if c.endswith(("_1h", "_24h")) or c == "failures_30d"]
    x = training[features].astype("float64")
    # A stand-in label the model can learn (the demo's comes from work orders): top vibration.
    vibration = training["vibration_mm_s_max_1h"]
    label = (vibration > vibration.quantile(0.97)).astype(int)
    path = settings.platform_home / "training_sets" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    training.drop(columns=["day_type"]).assign(label=label).to_parquet(path / "data.parquet")
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, label=label), 20
    )
    registry = client(settings)
    example = x.head(5)
    with mlflow.start_run() as run:
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            signature=infer_signature(example, booster.predict(xgb.DMatrix(example))),
            model_format="ubj",
        )
    registry.create_registered_model("failure_model")
    version = registry.create_model_version(
        "failure_model",
        source=info.model_uri,
        run_id=run.info.run_id,
        tags={"training_set.path": str(path), "training_set.version": "bench"},
        model_id=info.model_id,
    )
    registry.set_registered_model_alias("failure_model", "champion", version.version)
    print(f"demo data, features and champion v{version.version}: {time.perf_counter() - t0:.0f} s")


def _wall(cmd: list[str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def import_floors() -> None:
    print(f"-- floors ({load()})")
    py = sys.executable
    imports = "import evidently, mlflow.pyfunc, xgboost, ml_tasks.monitoring.pipeline"
    start = _wall([py, "-c", "pass"])
    loaded = _wall([py, "-c", imports])
    print(
        f"python -c pass: {start:.2f} s; importing a day's libraries: {loaded:.2f} s (median of 3)"
    )
    err = subprocess.run(
        [py, "-X", "importtime", "-c", imports], check=True, capture_output=True, text=True
    ).stderr
    top: dict[str, int] = {}
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        if name.startswith("  ") or not name.strip():
            continue
        package = name.strip().split(".")[0]
        top[package] = top.get(package, 0) + int(parts[1])
    biggest = sorted(top.items(), key=lambda kv: -kv[1])[:8]
    print(
        "  -X importtime, cumulative by top-level package: "
        + ", ".join(f"{k} {v / 1e6:.2f} s" for k, v in biggest)
    )


def evidently_floor(settings, policy, day: date) -> float:
    """The fleet's full report on the day alone (no slices, no files): the per-day floor."""
    from ml_tasks.monitoring import frames
    from ml_tasks.monitoring.drift import compare_slice
    from ml_tasks.monitoring.pipeline import Monitor, _summary_columns

    monitor = Monitor(settings=settings, policy=policy, log_mlflow=False)
    champion = monitor.champion()
    reference, _ = monitor.reference(day, champion)
    current = frames.read_day(day, None, settings)
    current[policy.prediction.column] = champion.score(current)
    t0 = time.perf_counter()
    _, snapshot = compare_slice(
        "all",
        current,
        reference,
        policy,
        current_day_type=frames.day_type(day),
        with_prediction=True,
        detail=True,
        summary_columns=_summary_columns(policy),
    )
    snapshot.get_html_str(as_iframe=False)
    return time.perf_counter() - t0


def verdict(result: MonitoringDay) -> tuple:
    return (
        result.interval,
        result.breached,
        tuple(result.kinds),
        tuple(sorted((k, tuple(v)) for k, v in result.drifted_columns.items())),
        result.share_drifted,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing PLATFORM_HOME with the demo data")
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--compare-days", type=int, default=4)
    parser.add_argument("--no-dag", action="store_true", help="skip the dag.test() day")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-monitoring-")) / "platform"
    fresh = not (home / "offline").exists()
    os.environ["PLATFORM_HOME"] = str(home)
    logging_quiet()

    from ml_tasks.monitoring.pipeline import Monitor, run_monitoring
    from ml_tasks.monitoring.policy import load_policy
    from ml_tasks.settings import get_settings

    settings = get_settings()
    print(f"PLATFORM_HOME {home} ({load()})")
    if fresh:
        build_home(settings)
    policy = load_policy(settings=settings)
    import_floors()
    floor_day = COMPARE_FROM
    # Warm the imports and the champion's scored reference cache, as the first day of a run does.
    run_monitoring(floor_day, settings=settings, run_id="bench-warmup")

    floor = evidently_floor(settings, policy, floor_day)
    print(
        f"Evidently floor, the fleet's full report on {floor_day} alone: {floor:.2f} s ({load()})"
    )

    if not args.no_dag:
        from ml_platform_demo.orchestration import (
            init_airflow_db,
            interval_run_time,
            load_dag,
            quiet_console,
            run_dag_test,
        )

        init_airflow_db(settings)
        quiet_console()  # dag.test() prints every task's log lines otherwise
        dag = load_dag("monitor_drift", settings)
        run_dag_test(dag, interval_run_time(floor_day))  # warm: the first parse and DB session
        t0 = time.perf_counter()
        state = run_dag_test(dag, interval_run_time(floor_day)).state
        via_dag = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_monitoring(floor_day, settings=settings, run_id="bench-stage", evidently_screen=True)
        stage = time.perf_counter() - t0
        print(
            f"-- {floor_day} through monitor_drift (dag.test, {state}): {via_dag:.2f} s; "
            f"the same day through run_monitoring: {stage:.2f} s; Airflow's share "
            f"{via_dag - stage:.2f} s ({load()})"
        )

    days = [COMPARE_FROM + timedelta(days=i) for i in range(args.compare_days)]
    print(f"-- before vs after on {days[0]}..{days[-1]} ({load()})")
    # Interleaved day by day (before, then after, on the same day), so that a change in the
    # machine's load hits both paths alike; the after-path Monitor is shared over the days.
    before, after = [], []
    before_s = after_s = 0.0
    monitor = Monitor(settings=settings)
    for day in days:
        t0 = time.perf_counter()
        before.append(
            run_monitoring(day, settings=settings, run_id="bench-before", evidently_screen=True)
        )
        t1 = time.perf_counter()
        after.append(monitor.run(day, run_id="bench-after"))
        before_s += t1 - t0
        after_s += time.perf_counter() - t1
    n = len(days)
    for name, results, total in (("before", before, before_s), ("after", after, after_s)):
        drift = statistics.mean(r.timings["drift"] for r in results)
        parts = {
            k: round(statistics.mean(r.timings[k] for r in results), 2) for k in results[0].timings
        }
        print(f"{name}: {total / n:.2f} s a day (drift {drift:.2f} s); mean timings {parts}")
    print(
        f"per-day ratio after / before: {after_s / before_s:.2f}; after / Evidently floor: "
        f"{after_s / n / floor:.2f}"
    )
    same = [verdict(r) for r in before] == [verdict(r) for r in after]
    print(f"identical verdicts before and after on {n} days: {same}")

    every = [START + timedelta(days=i) for i in range(args.days)]
    if not every:
        if args.profile:
            profile_day(settings, floor_day)
        return
    print(f"-- the demo range, {every[0]}..{every[-1]}, one Monitor ({load()})")
    monitor = Monitor(settings=settings)
    per_day = []
    t0 = time.perf_counter()
    alarms = []
    for day in every:
        t1 = time.perf_counter()
        result = monitor.run(day, run_id="bench-range")
        per_day.append(time.perf_counter() - t1)
        if result.breached:
            alarms.append(day.isoformat())
    total = time.perf_counter() - t0
    # The floor again, after the range: the load moves while the range runs.
    floor = (floor + evidently_floor(settings, policy, floor_day)) / 2
    print(
        f"{len(every)} days in {total:.1f} s (goal < 90 s): per day median "
        f"{statistics.median(per_day):.2f} s, max {max(per_day):.2f} s (goal < 3 s); "
        f"ratio to the Evidently floor (mean before/after) x days "
        f"{total / (floor * len(every)):.2f}; "
        f"alarm days {len(alarms)}: {alarms[0] if alarms else '-'}..{alarms[-1] if alarms else ''}"
        f" ({load()})"
    )

    if args.profile:
        profile_day(settings, floor_day)


def profile_day(settings, day: date) -> None:
    import cProfile
    import pstats

    from ml_tasks.monitoring.pipeline import run_monitoring

    profiler = cProfile.Profile()
    profiler.enable()
    run_monitoring(day, settings=settings, run_id="bench-profile", evidently_screen=True)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    wanted = {
        "Evidently Report.run (all slices)": ("evidently/core/report.py", "run"),
        "  of it plotly figures (make_subplots)": ("plotly/_subplots.py", "make_subplots"),
        "  of it per-column drift (get_one_column_drift)": (
            "legacy/calculations/data_drift.py",
            "get_one_column_drift",
        ),
        "  of it the data summary (column statistics)": (
            "evidently/metrics/column_statistics.py",
            "calculate",
        ),
        "HTML rendering (save_html)": ("evidently/core/report.py", "save_html"),
        "champion lookup": ("ml_tasks/monitoring/champion.py", "champion"),
        "MLflow logging": ("ml_tasks/monitoring/reports.py", "_log_run"),
        "drift-table write": ("ml_tasks/monitoring/store.py", "write_row"),
        "whole day": ("ml_tasks/monitoring/pipeline.py", "run"),
    }
    print(f"-- cProfile of {day}, the before path (cumulative seconds, {load()})")
    for label, (path, func) in wanted.items():
        cum = max(
            (v[3] for (f, _, name), v in stats.items() if f.endswith(path) and name == func),
            default=0.0,
        )
        print(f"  {label}: {cum:.2f} s")


def logging_quiet() -> None:
    import logging
    import warnings

    logging.basicConfig(level=logging.ERROR)
    # Each day's verdict lines; the bench prints what it measures.
    logging.getLogger("ml_tasks.monitoring.pipeline").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    main()
