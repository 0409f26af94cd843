"""The main job (`make run`): the whole nightly pipeline on the embedded default.

Initialise the embedded Airflow, generate the demo data set, run every day through the real
DAGs with ``dag.test()``, then print what each table holds. Safe to run again: the data is
regenerated identically and the ELT replaces each day's rows, so the tables end up the same.
"""

from __future__ import annotations

import os
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Generator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ml_tasks.settings import Settings, get_settings


def _days(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


class StepClock:
    """Wall time per step of the run, printed as a table at the end (also after a failure)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self._began = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Generator[None, None, None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps.append((name, time.perf_counter() - t0))

    def table(self) -> str:
        total = time.perf_counter() - self._began
        lines = ["Time per step", "-" * 50]
        lines += [f"{name:<40}{seconds:>8.1f} s" for name, seconds in self.steps]
        lines.append(f"{'total':<40}{total:>8.1f} s")
        # ru_maxrss is in KiB on Linux; children: the largest process this run waited for.
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        lines.append(f"{'peak RSS: this process / largest child':<40}{own:>5.2f} / {child:.2f} GiB")
        return "\n".join(lines)


def run_demo(start: date, days: int, machines: int, seed: int = 7) -> int:
    """Run the demo end to end; returns a process exit code.

    A local Ray head starts in the background first (its start-up overlaps the ELT), training
    connects to it through ``RAY_ADDRESS``, and it stops at the end (``ml_platform_demo.ray_head``).
    """
    from ml_platform_demo.ray_head import ray_head

    clock = StepClock()
    try:
        with ray_head(get_settings(), wait=False) as head:
            return _run_steps(start, days, machines, seed, head, clock)
    finally:
        print()
        print(clock.table())


def _run_steps(
    start: date, days: int, machines: int, seed: int, head: Any, clock: StepClock
) -> int:
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

    print(f"[1/11] Initialising the embedded platform in {s.platform_home}")
    with clock.step("1 init Airflow"):
        init_airflow_db(s)
    quiet_console()

    print(f"[2/11] Generating {days} days x {machines} machines from {start} (seed {seed})")
    from ml_platform_demo.generate import generate

    # The last week drifts (plant P2 sensor recalibration), so monitoring has something to find.
    drift_start = start + timedelta(days=max(days - 7, 1))
    end = start + timedelta(days=days - 1)
    with clock.step("2 generate demo data"):
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

    print("[3/11] Running elt_telemetry with real Airflow (dag.test) for every day")
    from ml_platform_demo.orchestration import interval_run_time

    failed = []
    with clock.step(f"3 ELT ({days} days)"):
        dag = load_dag("elt_telemetry", s)
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

    from ml_platform_demo.steps import lifecycle
    from ml_platform_demo.steps.features import run_features_demo
    from ml_platform_demo.steps.live_performance import run_live_performance_demo
    from ml_platform_demo.steps.monitoring import run_monitoring_demo
    from ml_platform_demo.steps.release import release_version
    from ml_platform_demo.steps.search import run_search_demo

    # Train on the days before the drift: a champion that has seen the drift in its training
    # data would hide it from monitoring (and raise false alarms on weekends). v1 learns from the
    # first weeks, v2 from the whole pre-drift window.
    train_end = drift_start - timedelta(days=1)
    v1_end = start + timedelta(days=max((train_end - start).days - 7, 1))
    story: list[lifecycle.LifecycleRow] = []
    rollbacks: list[str] = []

    def first_release() -> int:
        head.ready()  # the local Ray head started in the background: training connects to it
        version = lifecycle.train_version(start, v1_end, s)
        if version is None:
            return 1
        print()
        outcome = release_version(s, version)
        story.append(
            lifecycle.row_for(outcome, f"{start}..{v1_end}", "first weeks: the first release")
        )
        # A blocked release is a correct outcome of the demo, not a failure of it.
        return 0 if outcome.evaluated else 1

    def live_story() -> int:
        from ml_tasks.registry.models import CHAMPION, alias_version, client

        head.ready()
        version = lifecycle.train_version(start, train_end, s)
        if version is None:
            return 1
        window, why = f"{start}..{train_end}", "a later window: nightly retrain"
        print()
        if alias_version(client(s), lifecycle.MODEL_NAME, CHAMPION) is None:
            print("      no @champion to compare with: a first release (no shadow or canary)")
            outcome = release_version(s, version)
            story.append(lifecycle.row_for(outcome, window, why))
            return 0 if outcome.evaluated else 1
        print(f"      v{version}: gates, then shadow -> canary -> flip on live gateway traffic")
        with lifecycle.live_gateway(s) as traffic:
            outcome = lifecycle.release_on_live_traffic(s, version, traffic)
            story.append(lifecycle.row_for(outcome, window, why))
            if not outcome.evaluated:
                return 1
            champion = alias_version(client(s), lifecycle.MODEL_NAME, CHAMPION)
            print()
            print("      A regression the gates must stop (still on live traffic)")
            story.append(lifecycle.regression_blocked(s, str(champion), window))
            print("  live traffic     " + traffic.take_stats().summary())
            print()
            print("      Rollback drill: the champion back one step, no gateway restart")
            audit = lifecycle.rollback_drill(s, "demo: rollback drill after the v3 regression")
            if audit:
                rollbacks.append(audit)
            # The gateway re-reads the aliases every few seconds: count what answers after it.
            time.sleep(s.gateway_poll_seconds + 1)
            traffic.take_stats()
            time.sleep(3)
            print("  after rollback   " + traffic.take_stats().summary())
        return 0

    def drift_retrain() -> int:
        head.ready()
        row = lifecycle.retrain_on_drift_alarm(s, since=monitoring_began[0])
        if row is not None:
            story.append(row)
        return 0

    monitoring_began = [datetime.now(UTC)]

    def monitoring() -> int:
        # The drift-alarm step retrains on the event this monitoring run emits, not an older one.
        monitoring_began[0] = datetime.now(UTC)
        return run_monitoring_demo(start, days, drift_start, s)

    # (banner, step name in the time table, DAG named on failure, the step).
    steps: list[tuple[str, str, str, Callable[[], int]]] = [
        (
            "[4/11] Materializing the features of the demo range (features_materialize, dag.test)",
            "4 features",
            "features_materialize",
            lambda: run_features_demo(start, end, s),
        ),
        (
            f"[5/11] v1: training on the first weeks {start}..{v1_end} (Ray), evaluation, gates, "
            "first release",
            "5 v1: training and release",
            "train_failure_model / promote_model",
            first_release,
        ),
        (
            f"[6/11] v2 on {start}..{train_end}: released on live gateway traffic; a regression "
            "blocked; a rollback drill",
            "6 v2 live release, v3, rollback",
            "train_failure_model / promote_model / rollback_model",
            live_story,
        ),
        # Monitoring after the releases, so it compares with the champion's training data.
        (
            "[7/11] Monitoring drift and data quality over the demo range "
            "(monitor_drift, dag.test)",
            "7 monitoring",
            "monitor_drift",
            monitoring,
        ),
        (
            "[8/11] A drift alarm retrains: train_failure_model on monitoring's drift_alarm "
            "event, then evaluation and gates",
            "8 drift-alarm retraining",
            "train_failure_model (drift alarm)",
            drift_retrain,
        ),
        (
            "[9/11] Live model performance: the last labelled days replayed hour by hour through "
            "a second gateway, judged by monitor_live_performance (dag.test)",
            "9 live performance (replay)",
            "monitor_live_performance",
            lambda: run_live_performance_demo(end, s),
        ),
        (
            "[10/11] Refreshing the maintenance-manual search index (refresh_embeddings, dag.test)",
            "10 search index",
            "refresh_embeddings",
            lambda: run_search_demo(start, days, s),
        ),
    ]
    for banner, name, dag_id, run_step in steps:
        print()
        print(banner)
        with clock.step(name):
            code = run_step()
        if code != 0:
            print(f"FAILED: {dag_id}")
            return 1
    from ml_tasks.registry.models import aliases, client

    print()
    print("[11/11] The story so far")
    print(lifecycle.format_lifecycle(story, aliases(client(s), lifecycle.MODEL_NAME)))
    for line in rollbacks:
        print(f"rollback: {line}")
    return 0


def summarise_since(written_after: str, settings: Settings) -> dict[str, dict[str, Any]]:
    """Per table, the writes recorded since ``written_after``: totals, reasons, latest version."""
    from ml_tasks.elt import manifest

    tables: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "curated": 0,
            "quarantined": 0,
            "duplicates": 0,
            "conflicts": 0,
            "read": 0,
            "reasons": Counter(),
        }
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
            t["conflicts"] += stats.get("rows_conflict", 0)
            t["reasons"].update(stats.get("quarantine_reasons", {}))
    from ml_tasks.elt import lake

    for name, t in tables.items():
        t["delta_version"] = lake.table_version(settings.table_uri(name), settings)
    return dict(tables)


def format_summary(tables: dict[str, dict[str, Any]]) -> str:
    """Rows read = curated + quarantined + duplicates + conflicts, per table, with the reasons."""
    lines = ["Curated tables", "-" * 88]
    lines.append(
        f"{'table':<22}{'read':>10}{'curated':>10}{'quarantined':>13}{'dups':>8}"
        f"{'conflicts':>11}{'version':>9}"
    )
    for name, t in sorted(tables.items()):
        if t["read"]:
            lines.append(
                f"{name:<22}{t['read']:>10}{t['curated']:>10}{t['quarantined']:>13}"
                f"{t['duplicates']:>8}{t['conflicts']:>11}{t['delta_version']:>9}"
            )
            for reason, count in t["reasons"].most_common():
                lines.append(f"{'':<24}quarantined  {reason:<30}{count:>8}")
        else:
            lines.append(
                f"{name:<22}{'rows now':>10}{t['rows']:>10}{'':>32}{t['delta_version']:>9}"
            )
    return "\n".join(lines)
