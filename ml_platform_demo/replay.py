"""A shop-floor replay for ``make run``: past days served again, hour by hour, by the real gateway.

The demo's live traffic comes after every day is ingested, so it only ever scores the last hour
of the last day, whose label is not known. To show the champion's **live** numbers honestly, the
replay serves a few past days as they were lived:

1. a second online store, a SQLite file of its own (the main one keeps serving the latest
   hour), starts empty;
2. for each hour ``H`` of the replayed days, the feature rows that became available since the
   previous hour (the offline store's rows with ``feature_ts`` in ``(H-1h, H]``; for the first
   hour the latest row per machine within its view's ttl) are written with Feast's online write
   (``write_to_online_store``, through the platform's guarded SQLite writer, as materialization
   writes them);
3. each machine asks the gateway (a second ``python -m ml_tasks serve`` on that store) for its
   risk once: one request per machine per hour, logged in the real prediction log with the
   machine-hour it scored (``feature_ts``);
4. the live-performance job (:mod:`ml_tasks.monitoring.live_performance`) then judges those
   days from the prediction log and the curated work orders.

What is not replayed: wall-clock answer times (``ts`` is now, ``feature_ts`` is the past hour,
which is the time live performance keys on) and the gateway's staleness flag (the replay
gateway allows old features: the days lie in the past by construction).
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings

ONLINE_DB = "online_store.db"


def replay_settings(settings: Settings, folder: Path) -> Settings:
    """``settings`` whose online store is ``folder``'s SQLite file (Feast's registry unchanged)."""
    return dataclasses.replace(
        settings,
        feature_repo_dir=folder / "feature_repo",
        feast_registry=settings.feast_registry,
        online_store="sqlite",
        # The replayed hours lie in the past: they are served, not flagged stale.
        gateway_feature_max_age_hours=1e6,
    )


def replay_env(replay: Settings) -> dict[str, str]:
    """The environment that gives a ``python -m ml_tasks serve`` process ``replay``'s store."""
    return {
        "PLATFORM_FEATURE_REPO_DIR": str(replay.feature_repo_dir),
        "PLATFORM_FEAST_REGISTRY": replay.feast_registry,
        "PLATFORM_ONLINE_STORE": "sqlite",
        "PLATFORM_GATEWAY_FEATURE_MAX_AGE_HOURS": "1000000",
    }


def empty_store(settings: Settings, replay: Settings) -> None:
    """The replay store: the main store's tables and layout file, every row deleted."""
    from ml_tasks.features.online_layout import LAYOUT_FILE

    repo = replay.feature_repo_dir
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    shutil.copy2(settings.feature_repo_dir / LAYOUT_FILE, repo / LAYOUT_FILE)
    source = sqlite3.connect(f"file:{settings.feature_repo_dir / ONLINE_DB}?mode=ro", uri=True)
    target = sqlite3.connect(repo / ONLINE_DB)
    try:
        source.backup(target)  # a consistent copy even while the main gateway reads it
        tables = [
            row[0] for row in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        with target:
            for table in tables:
                target.execute(f'DELETE FROM "{table}"')
    finally:
        source.close()
        target.close()


def offline_rows(settings: Settings, first: date, last: date) -> dict[str, Any]:
    """Per feature view, its offline rows (pandas) from the day before ``first`` to ``last``."""
    from ml_tasks.features.layout import VIEWS, feature_rows

    frames = {}
    for view in VIEWS:
        frame = feature_rows(settings, view, first - timedelta(days=1), last).to_pandas()
        frame["feature_ts"] = frame["feature_ts"].astype("datetime64[us, UTC]")
        frames[view] = frame.sort_values("feature_ts")
    return frames


def rows_due(frame: Any, hour: datetime, previous: datetime | None, ttl: timedelta) -> Any:
    """The rows to write at ``hour``: new since ``previous``, or (first hour) the latest per
    machine within ``ttl``."""
    if previous is None:
        window = frame[(frame["feature_ts"] <= hour) & (frame["feature_ts"] > hour - ttl)]
        return window.drop_duplicates("machine_id", keep="last")
    due = frame[(frame["feature_ts"] > previous) & (frame["feature_ts"] <= hour)]
    return due.drop_duplicates("machine_id", keep="last")


def ask_every_machine(url: str, machines: Sequence[str], workers: int = 4) -> dict[int, int]:
    """One ``POST /v1/predict`` per machine; returns the count per HTTP status."""
    import httpx

    counts: dict[int, int] = {}

    def ask(chunk: Sequence[str]) -> list[int]:
        with httpx.Client(timeout=10.0) as http:
            return [
                http.post(f"{url}/v1/predict", json={"machine_ids": [m]}).status_code for m in chunk
            ]

    chunks = [machines[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        for statuses in pool.map(ask, chunks):
            for status in statuses:
                counts[status] = counts.get(status, 0) + 1
    return counts


def replay_days(
    settings: Settings,
    replay: Settings,
    days: Sequence[date],
    machines: Sequence[str],
    url: str,
) -> dict[str, Any]:
    """Write each hour's features to the replay store, then ask the gateway at ``url`` for every
    machine. Returns what was written and answered."""
    from ml_tasks.features.store import get_store

    store = get_store(replay)
    frames = offline_rows(settings, days[0], days[-1])
    ttl = {view: store.get_feature_view(view).ttl for view in frames}
    written = 0
    statuses: dict[int, int] = {}
    previous: datetime | None = None
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    for i in range(24 * len(days)):
        hour = start + timedelta(hours=i)
        for view, frame in frames.items():
            due = rows_due(frame, hour, previous, ttl[view])
            if len(due):
                store.write_to_online_store(view, due.reset_index(drop=True))
                written += len(due)
        previous = hour
        for status, n in ask_every_machine(url, machines).items():
            statuses[status] = statuses.get(status, 0) + n
    return {"hours": 24 * len(days), "feature_rows_written": written, "answers": statuses}


def serve_days(
    settings: Settings, days: Sequence[date], log_name: str = "gateway_replay.log"
) -> dict[str, Any]:
    """Replay ``days`` through a second gateway process (logging to ``logs/<log_name>``) on the
    replay store, emptied first. Returns :func:`replay_days`'s dict with ``machines`` (how many
    were asked each hour) and ``seconds``."""
    from ml_platform_demo.gateway_process import gateway_process
    from ml_platform_demo.steps.lifecycle import machine_ids

    live = replay_settings(settings, settings.platform_home / "replay")
    machines = machine_ids(settings)
    t0 = time.perf_counter()
    empty_store(settings, live)
    log = settings.platform_home / "logs" / log_name
    with gateway_process(settings, log, env=replay_env(live)) as url:
        done = replay_days(settings, live, days, machines, url)
    return {**done, "machines": len(machines), "seconds": time.perf_counter() - t0}


def format_live_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The fleet's live numbers per day and served version (``live_performance`` table rows)."""
    lines = [
        f"{'day':<12}{'version':<16}{'rows':>6}{'fail':>6}{'ROC-AUC':>9}{'PR-AUC':>8}"
        f"{'recall':>8}{'prec':>7}{'Brier':>8}  verdict",
        "-" * 100,
    ]

    def n(value: Any, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    for row in rows:
        offline = row["offline_roc_auc"]
        verdict = "ALARM" if row["in_alarm"] else "holds"
        if row["roc_auc"] is None:
            verdict = f"{verdict}: ROC-AUC not computed ({row['note']})"
        elif offline is not None:
            verdict += f" (offline ROC-AUC {offline:.3f})"
        lines.append(
            f"{row['day']:<12}{'v' + row['model_version'] + ' @' + row['alias']:<16}"
            f"{row['rows']:>6}{row['positives']:>6}{n(row['roc_auc']):>9}{n(row['pr_auc']):>8}"
            f"{n(row['recall_at_alert'], 2):>8}{n(row['precision_at_alert'], 2):>7}"
            f"{n(row['brier'], 4):>8}  {verdict}"
        )
    return "\n".join(lines)
