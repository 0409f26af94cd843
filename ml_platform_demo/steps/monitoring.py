"""The monitoring step of the demo (`make run`): every demo day monitored, the last through
``monitor_drift``.

The days before the last run in this process through one
:class:`~ml_tasks.monitoring.pipeline.Monitor` (the platform's monitoring stage over a range:
the champion loaded once, the reference read once, per-day reports, MLflow runs and drift-table
rows as the DAG writes them); the last day runs through the real DAG with ``dag.test()``, so the
UI holds its run, its task note, its alert and its ``drift_alarm`` event. A ``dag.test()`` per
day cost more in Airflow than the monitoring itself on the demo's small days (BENCHMARKS.md).
Then it prints the days in alarm, what drifted where, the report paths, the false positives
(alarms before the generator's drift start) and the missed drift days. Features the feature
step has not computed are computed first.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any

from ml_tasks.settings import Settings, get_settings


def ensure_features(start: date, end: date, settings: Settings) -> int:
    """Compute the offline features of ``[start, end]`` if any partition is missing."""
    from ml_tasks.features.compute import compute_features
    from ml_tasks.features.layout import missing_partitions

    if not missing_partitions(settings, start, end):
        return 0
    result = compute_features(start, end, settings=settings, run_id="demo_monitoring")
    return int(result["rows"]["telemetry_stats"])


def latest_rows(days: list[date], settings: Settings) -> dict[str, dict[str, Any]]:
    """The drift-table row of each day (the latest write per day)."""
    from ml_tasks.monitoring import store

    wanted = {d.isoformat() for d in days}
    rows: dict[str, dict[str, Any]] = {}
    for row in store.read_rows(None, settings):
        if row["interval_start"] in wanted:
            rows[row["interval_start"]] = row
    return rows


def score_days(
    rows: dict[str, dict[str, Any]], days: list[date], drift_start: date | None
) -> dict[str, Any]:
    """Alarm days, false positives (before ``drift_start``) and missed drift days."""
    alarms = [d for d in days if rows.get(d.isoformat(), {}).get("breached")]
    clean = [d for d in days if drift_start is None or d < drift_start]
    drifted = [d for d in days if drift_start is not None and d >= drift_start]
    return {
        "alarm_days": alarms,
        "false_positives": [d for d in alarms if d in clean],
        "missed": [d for d in drifted if d not in alarms],
        "clean_days": len(clean),
        "drift_days": len(drifted),
        "first_drift_day_flagged": bool(drift_start and drift_start in alarms),
    }


def _sensors(columns: list[str]) -> list[str]:
    """``pressure_bar_mean_1h`` -> ``pressure_bar`` (feature columns to their sensors)."""
    return list(dict.fromkeys(c.rsplit("_", 2)[0] for c in columns))


def _fleet_html(row: dict[str, Any]) -> str:
    from pathlib import Path

    folder = Path(row["report_dir"])
    html = folder / "all.html"
    return str(html if html.exists() else folder)


def _run_days(day_list: list[date], s: Settings, failed: list[date]) -> None:
    from ml_platform_demo.orchestration import interval_run_time, load_dag, run_dag_test
    from ml_tasks.monitoring.pipeline import Monitor

    monitor = Monitor(settings=s)
    for i, day in enumerate(day_list):
        t0 = time.perf_counter()
        if i == len(day_list) - 1:
            how = "monitor_drift"
            state = str(run_dag_test(load_dag("monitor_drift", s), interval_run_time(day)).state)
        else:
            how = "monitoring"
            # The verdict's log lines (a DAG run keeps them in its task log) say what the
            # day's console line says.
            verdicts = logging.getLogger("ml_tasks.monitoring.pipeline")
            level = verdicts.level
            verdicts.setLevel(logging.ERROR)
            try:
                monitor.run(day, run_id=f"demo__{day.isoformat()}")
                state = "success"
            except Exception as err:  # reported with the day; the other days still run
                logging.getLogger(__name__).exception("monitoring %s failed", day)
                state = f"failed ({type(err).__name__})"
            finally:
                verdicts.setLevel(level)
        if state != "success":
            failed.append(day)
        row = latest_rows([day], s).get(day.isoformat())
        verdict = "-" if row is None else ("ALARM" if row["breached"] else "ok")
        where = ""
        if row and row["breached"]:
            where = "  drift in " + "; ".join(
                f"{name}: {', '.join(_sensors(cols))}"
                for name, cols in row["drifted_columns"].items()
            )
            if row["data_quality"]:
                where += "  (data quality)"
        print(
            f"      {day}  {how:<13}  {state:<8}{verdict:<6}"
            f"{time.perf_counter() - t0:5.1f} s{where}"
        )


def _print_summary(
    rows: dict[str, dict[str, Any]], day_list: list[date], drift_start: date | None, s: Settings
) -> None:
    from pathlib import Path

    from ml_tasks.monitoring.policy import load_policy
    from ml_tasks.monitoring.status import drift_status, format_status

    score = score_days(rows, day_list, drift_start)
    alarms = score["alarm_days"]
    print()
    print("Drift monitoring")
    print("-" * 78)
    references = sorted({row["reference_id"] for row in rows.values()})
    print(f"reference: {', '.join(references) or '-'}")
    print(f"days in alarm ({len(alarms)}): {', '.join(map(str, alarms)) or 'none'}")
    if drift_start is not None:
        print(
            f"injected drift from {drift_start} (plant P2 pressure +2.5 bar, temperature +4 C): "
            f"first day flagged: {'yes' if score['first_drift_day_flagged'] else 'NO'}; "
            f"missed drift days: {len(score['missed'])}"
        )
    false = score["false_positives"]
    listed = f" ({', '.join(map(str, false))})" if false else ""
    print(f"false positives: {len(false)} of {score['clean_days']} clean days{listed}")
    for day in alarms:
        print(f"  report {day}: {_fleet_html(rows[day.isoformat()])}")
    if alarms:
        first = Path(rows[alarms[0].isoformat()]["report_dir"])
        plants = sorted(str(p) for p in first.glob("plant_id=*.html"))
        if plants:
            print(f"  per-plant report(s) {alarms[0]}: {', '.join(plants)}")
    print(format_status(drift_status(load_policy(settings=s).model_name, s)))


def run_monitoring_demo(
    start: date, days: int, drift_start: date | None, settings: Settings | None = None
) -> int:
    """Monitor every demo day (the last through the DAG); print the outcome; returns a
    process exit code."""
    s = settings or get_settings()
    day_list = [start + timedelta(days=i) for i in range(days)]
    computed = ensure_features(day_list[0], day_list[-1], s)
    if computed:
        print(f"      computed the offline features first ({computed} machine-hours)")
    failed: list[date] = []
    # Each alarm is logged as a PLATFORM ALERT line (and posted to PLATFORM_ALERT_WEBHOOK when
    # set); the per-day lines say the same here, so the console keeps to the summary.
    alerts = logging.getLogger("ml_tasks.alerts")
    level = alerts.level
    alerts.setLevel(logging.CRITICAL)
    try:
        _run_days(day_list, s, failed)
    finally:
        alerts.setLevel(level)
    _print_summary(latest_rows(day_list, s), day_list, drift_start, s)
    if failed:
        print(f"FAILED monitoring days: {', '.join(map(str, failed))}")
        return 1
    return 0
