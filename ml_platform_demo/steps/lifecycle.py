"""The model's story in ``make run``: each version, why it was trained, its gates and release.

The demo trains more than once so a newcomer sees the whole lifecycle: v1 on the first weeks
becomes the first ``@champion``; v2 on a later window is released through shadow and canary on
live gateway traffic (``ml_tasks serve``, driven by :mod:`ml_platform_demo.traffic`) and then the
blue/green flip. Every version gets a row of the lifecycle table printed at the end of the run.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_demo.steps.release import ReleaseOutcome, release_version
from ml_tasks.settings import Settings

if TYPE_CHECKING:
    from ml_platform_demo.traffic import ShopFloorTraffic

# Demo canary: a quarter of the machines, then half, then all; each step waits for its minimum
# of live answers (include/policies/promotion.yaml, release.live).
DEMO_CANARY_STEPS = (25, 50, 100)
# 100 machines each asking for their risk about once a second, as line HMIs would.
DEMO_TRAFFIC_RATE = 100.0


@dataclass
class LifecycleRow:
    """One version in the lifecycle table."""

    version: str
    window: str
    why: str
    gates: str = "-"
    path: str = "-"


def train_version(start: date, end: date, settings: Settings) -> str | None:
    """Train on ``[start, end]`` through ``train_failure_model``; the new ``@challenger``."""
    from ml_platform_demo.steps.training import run_training_demo
    from ml_tasks.registry.models import CHALLENGER, alias_version, client

    if run_training_demo(start, end, settings) != 0:
        return None
    return alias_version(client(settings), MODEL_NAME, CHALLENGER)


def row_for(outcome: ReleaseOutcome, window: str, why: str) -> LifecycleRow:
    return LifecycleRow(
        version=outcome.version,
        window=window,
        why=why,
        gates=outcome.gate_summary(),
        path=outcome.path(),
    )


def machine_ids(settings: Settings, limit: int = 100) -> list[str]:
    """The fleet's machine ids from the asset register the ELT curated (the online store's keys)."""
    from ml_tasks.elt import lake

    table = lake.read_table(settings.table_uri("machines"), settings, columns=["machine_id"])
    ids = sorted(set(table.column(0).to_pylist())) if table is not None else []
    return ids[:limit]


@contextmanager
def live_gateway(settings: Settings) -> Generator[ShopFloorTraffic, None, None]:
    """The gateway as a child process with shop-floor traffic on it; both stop at the end."""
    from ml_platform_demo.gateway_process import gateway_process
    from ml_platform_demo.traffic import ShopFloorTraffic

    log = Path(settings.platform_home) / "logs" / "gateway.log"
    machines = machine_ids(settings)
    with gateway_process(settings, log) as url:
        print(
            f"      gateway up at {url} (log {log}); {len(machines)} machines send "
            f"~{DEMO_TRAFFIC_RATE:.0f} requests/s to POST /v1/predict"
        )
        traffic = ShopFloorTraffic(url, machines, rate=DEMO_TRAFFIC_RATE).start()
        try:
            yield traffic
        finally:
            traffic.stop()


def release_on_live_traffic(
    settings: Settings,
    version: str,
    traffic: ShopFloorTraffic,
    *,
    steps: Sequence[int] = DEMO_CANARY_STEPS,
) -> ReleaseOutcome:
    """Release ``version`` while ``traffic`` runs; print what the traffic saw."""
    traffic.take_stats()
    outcome = release_version(settings, version, canary_steps=steps, poke_interval=2.0)
    print("  live traffic     " + traffic.take_stats().summary())
    return outcome


def format_lifecycle(rows: Sequence[LifecycleRow], aliases: dict[str, str]) -> str:
    """The lifecycle table: version, window and why, gates, release path, aliases at the end."""
    held: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        held.setdefault(version, []).append(f"@{alias}")
    lines = [f"Lifecycle of {MODEL_NAME}", "-" * 100]
    for row in rows:
        lines.append(f"v{row.version:<4} trained on {row.window}  ({row.why})")
        lines.append(f"      gates    {row.gates}")
        lines.append(f"      release  {row.path}")
        lines.append(f"      now      {', '.join(sorted(held.get(row.version, []))) or '-'}")
    return "\n".join(lines)


def regression_blocked(settings: Settings, champion: str, window: str) -> LifecycleRow:
    """Register a shuffled-label model and put it through the real gates: they must block it."""
    from ml_platform_demo.degraded import register_shuffled_label_model

    version = register_shuffled_label_model(champion, settings)
    print(f"      v{version}: trained on v{champion}'s training set with shuffled labels")
    outcome = release_version(settings, version)
    return row_for(outcome, window, f"deliberately degraded: shuffled labels of v{champion}")


def rollback_drill(settings: Settings, reason: str) -> str | None:
    """Roll the champion back one step through ``rollback_model``; the audit line it wrote."""
    from ml_platform_demo.orchestration import load_dag, run_dag_test
    from ml_tasks.registry import history

    before = len(history.read_events(MODEL_NAME, settings))
    run = run_dag_test(load_dag("rollback_model", settings), run_conf={"reason": reason})
    print(f"      rollback_model  {run.state}")
    events = history.read_events(MODEL_NAME, settings)[before:]
    for event in events:
        print("  " + event.describe())
    moved = [e for e in events if e.alias == "champion"] or events
    return moved[0].describe() if moved else None


def retrain_on_drift_alarm(settings: Settings, since: datetime) -> LifecycleRow | None:
    """Train on the ``drift_alarm`` event monitoring recorded, then evaluate and gate it.

    The event is the one ``monitor_drift``'s run emitted; the ``train_failure_model`` run
    consumes it as the scheduler's run for the asset would (``dag.test()`` has no scheduler to
    deliver it), so the trigger, the window and the recorded alarm come from the DAG's own code.
    """
    from ml_platform_airflow.assets import DRIFT_ALARM
    from ml_platform_demo.orchestration import latest_asset_event, load_dag, run_dag_test
    from ml_platform_demo.steps.training import challenger_summary, format_challenger

    found = latest_asset_event(DRIFT_ALARM.uri, since)
    if found is None:
        print("      no drift_alarm event from monitoring: nothing to retrain")
        return None
    event_id, extra = found
    print(
        f"      drift_alarm of {extra.get('interval')} ({', '.join(extra.get('kinds') or [])}) "
        f"-> train_failure_model"
    )
    run = run_dag_test(
        load_dag("train_failure_model", settings),
        run_conf={"mode": "local"},
        consumed_event_ids=[event_id],
    )
    print(f"      train_failure_model (drift alarm)  {run.state}")
    if str(run.state) != "success":
        return LifecycleRow("-", "-", "drift alarm: training failed")
    summary = challenger_summary(settings)
    print()
    print(format_challenger(summary))
    tags = summary["tags"]
    print(
        f"  trigger        {tags.get('trigger.reason')}: alarm of {tags.get('trigger.alarm.day')}"
        f" in {tags.get('trigger.alarm.plants')} ({tags.get('trigger.alarm.kinds')}: "
        f"{tags.get('trigger.alarm.columns')}), window {tags.get('trigger.window')}"
    )
    # The drift gate stays closed while the champion is in alarm, unless a candidate check
    # shows the challenger fits the day that alarmed (its own training data as the reference).
    from ml_tasks.monitoring.pipeline import format_result, run_monitoring

    alarm_day = date.fromisoformat(str(extra.get("interval")))
    check = run_monitoring(alarm_day, settings=settings, alias="challenger")
    print(
        f"      candidate check of v{summary['version']} on {alarm_day} "
        "(python -m ml_tasks drift --alias challenger):"
    )
    print("        " + format_result(check).replace("\n", "\n        "))
    outcome = release_version(settings, str(summary["version"]))
    return row_for(
        outcome,
        str(tags.get("trigger.window", "?")),
        f"drift alarm of {extra.get('interval')} in {tags.get('trigger.alarm.plants', '?')}",
    )
