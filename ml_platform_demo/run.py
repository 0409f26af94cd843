"""The main job (`make run`): the whole nightly pipeline on the embedded default.

Initialise the embedded Airflow, generate the demo data set, run every day through the real
DAGs with ``dag.test()``, then print what each table holds. Safe to run again: the data is
regenerated identically and the ELT replaces each day's rows, so the tables end up the same.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ml_tasks.settings import Settings, get_settings


def _days(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


def run_demo(start: date, days: int, machines: int, seed: int = 7) -> int:
    """Run the demo end to end; returns a process exit code.

    A local Ray head starts in the background first (its start-up overlaps the ELT), training
    connects to it through ``RAY_ADDRESS``, and it stops at the end (``ml_platform_demo.ray_head``).
    """
    from ml_platform_demo.ray_head import ray_head

    with ray_head(get_settings(), wait=False) as head:
        return _run_steps(start, days, machines, seed, head)


def _run_steps(start: date, days: int, machines: int, seed: int, head: Any) -> int:
    from ml_platform_demo.orchestration import (
        init_airflow_db,
        load_dag,
        quiet_console,
        run_dag_test,
        use_embedded_airflow,
    )

    s = get_settings()
    use_embedded_airflow(s)
    # INFO for the task logs the UI shows; the console keeps to the summary (quiet_console).
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    began = datetime.now(UTC).isoformat()

    print(f"[1/8] Initialising the embedded platform in {s.platform_home}")
    init_airflow_db(s)
    quiet_console()

    print(f"[2/8] Generating {days} days x {machines} machines from {start} (seed {seed})")
    from ml_platform_demo.generate import generate

    # The last week drifts (plant P2 sensor recalibration), so monitoring has something to find.
    drift_start = start + timedelta(days=max(days - 7, 1))
    end = start + timedelta(days=days - 1)
    generated = generate(
        start,
        days,
        machines,
        seed=seed,
        bad_rate=0.02,
        drift_start=drift_start,
        landing_dir=s.landing_dir,
    )
    print("      " + generated.describe().replace("\n", "\n      "))

    print("[3/8] Running elt_telemetry with real Airflow (dag.test) for every day")
    from ml_platform_demo.orchestration import interval_run_time

    dag = load_dag("elt_telemetry", s)
    failed = []
    for day in _days(start, days):
        t0 = time.perf_counter()
        run = run_dag_test(dag, interval_run_time(day))
        state = str(run.state)
        print(f"      {day}  elt_telemetry  {state:<8} {time.perf_counter() - t0:5.1f} s")
        if state != "success":
            failed.append(day)
    print()
    print(format_summary(summarise_since(began, s)))
    if failed:
        print(f"FAILED days: {', '.join(map(str, failed))}")
        return 1

    print()
    print("[4/8] Materializing the features of the demo range (features_materialize, dag.test)")
    from ml_platform_demo.steps.features import run_features_demo

    if run_features_demo(start, end, s) != 0:
        print("FAILED: features_materialize")
        return 1

    # Train on the days before the drift: a champion that has seen the drift in its training
    # data would hide it from monitoring (and raise false alarms on clean weekends).
    print()
    print(f"[5/8] Training failure_model on {start}..{drift_start - timedelta(days=1)} (Ray)")
    from ml_platform_demo.steps.training import run_training_demo

    head.ready()  # the local Ray head started in the background: training connects to it
    if run_training_demo(start, drift_start - timedelta(days=1), s) != 0:
        print("FAILED: train_failure_model")
        return 1

    # Release before monitoring, so monitoring compares with the champion's training data.
    print()
    print("[6/8] Evaluation -> gates -> release of the challenger (evaluate_model, promote_model)")
    from ml_platform_demo.steps.release import run_release_demo

    if run_release_demo(s) != 0:
        print("FAILED: evaluate_model")
        return 1

    print()
    print("[7/8] Monitoring drift and data quality over the demo range (monitor_drift, dag.test)")
    from ml_platform_demo.steps.monitoring import run_monitoring_demo

    if run_monitoring_demo(start, days, drift_start, s) != 0:
        print("FAILED: monitor_drift")
        return 1

    print()
    print("[8/8] Refreshing the maintenance-manual search index (refresh_embeddings, dag.test)")
    from ml_platform_demo.steps.search import run_search_demo

    if run_search_demo(start, days, s) != 0:
        print("FAILED: refresh_embeddings")
        return 1
    return 0


def summarise_since(written_after: str, settings: Settings) -> dict[str, dict[str, Any]]:
    """Per table, the writes recorded since ``written_after``: totals, reasons, latest version."""
    from ml_tasks.elt import manifest

    tables: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"curated": 0, "quarantined": 0, "duplicates": 0, "read": 0, "reasons": Counter()}
    )
    for entry in manifest.history(settings.manifest_path):
        if entry.written_at < written_after:
            continue
        t = tables[entry.table_name]
        t["version"] = entry.version
        t["rows"] = entry.row_count
        stats = entry.stats
        if "rows_read" in stats:
            t["read"] += stats["rows_read"]
            t["curated"] += stats["rows_curated"]
            t["quarantined"] += stats["rows_quarantined"]
            t["duplicates"] += stats["rows_duplicate"]
            t["reasons"].update(stats.get("quarantine_reasons", {}))
    from ml_tasks.elt import lake

    for name, t in tables.items():
        t["delta_version"] = lake.table_version(settings.table_uri(name), settings)
    return dict(tables)


def format_summary(tables: dict[str, dict[str, Any]]) -> str:
    lines = ["Curated tables", "-" * 78]
    lines.append(
        f"{'table':<22}{'read':>10}{'curated':>10}{'quarantined':>13}{'dups':>8}{'version':>9}"
    )
    for name, t in sorted(tables.items()):
        if t["read"]:
            lines.append(
                f"{name:<22}{t['read']:>10}{t['curated']:>10}{t['quarantined']:>13}"
                f"{t['duplicates']:>8}{t['delta_version']:>9}"
            )
            for reason, count in t["reasons"].most_common():
                lines.append(f"{'':<24}quarantined  {reason:<30}{count:>8}")
        else:
            lines.append(
                f"{name:<22}{'rows now':>10}{t['rows']:>10}{'':>21}{t['delta_version']:>9}"
            )
    return "\n".join(lines)
