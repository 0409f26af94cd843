"""
### Features: curated tables -> Feast offline store (parquet) -> online store

Runs when the ELT has curated new telemetry **and** work orders (asset-scheduled). One run covers
the landing days the triggering asset events name (or, for a manual run, the `start`/`end`
Params, else the day that ended at the run's logical date):

1. `plan_days`: the feature days to recompute: the landing days plus the telemetry contract's
   `max_lateness_days` before them, because late events land in earlier days.
2. `compute_features`: per machine and hour, windowed sensor statistics (1 h and 24 h), the
   maintenance history as known at that hour and the machine's attributes, from the curated
   Delta tables at pinned versions; checked against the Feast views' declared types; one parquet
   partition per view and day, replaced atomically. Missing curated input fails with the name of
   the missing partition.
3. `register_definitions`: `include/feature_repo` into the Feast registry, only if something
   changed, so materialization state survives (feast-dev/feast#2905).
4. `materialize_online`: the days into the online store (SQLite embedded, Redis in production).
   Backfill-safe: a row older than the one online never replaces it.

The outlet asset events carry the days, row counts and the online store kind. Reruns and
backfills (`airflow dags test features_materialize` with `start`/`end`, or the CLI
`python -m ml_tasks features materialize --start ... --end ...`) give the same stores.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#data](/ml/#data)) shows the feature views' and training sets' current versions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from ml_platform_airflow.assets import (
    CURATED_TELEMETRY,
    CURATED_WORK_ORDERS,
    FEATURES_OFFLINE,
    FEATURES_ONLINE,
)


@dag(
    description="Curated telemetry and work orders -> Feast offline features -> online store",
    # Both curated inputs must have been updated since the last run.
    schedule=[CURATED_TELEMETRY, CURATED_WORK_ORDERS],
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One writer at a time for the offline partitions, the registry and the online store.
    max_active_runs=1,
    tags=["features", "feast", "ml"],
    default_args={
        "owner": "platform-ml",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
    },
    params={
        "start": Param(
            None,
            type=["null", "string"],
            format="date",
            title="First landing day",
            description="Manual runs: first landing day to (re)process, YYYY-MM-DD. Empty: the "
            "days of the triggering asset events, else the day before the logical date.",
        ),
        "end": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Last landing day",
            description="Manual runs: last landing day (inclusive). Empty: same as start.",
        ),
    },
    doc_md=__doc__,
)
def features_materialize() -> None:
    @task(multiple_outputs=False)
    def plan_days(
        *,
        params: Any = None,
        triggering_asset_events: Any = None,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
    ) -> dict:
        """Which landing days this run covers, and which feature days that means."""
        from ml_tasks.features.pipeline import landing_days, plan

        intervals = [
            str(event.extra.get("interval", ""))
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]
        first, last = landing_days(
            start=params.get("start"),
            end=params.get("end"),
            event_intervals=intervals,
            interval_start=data_interval_start,
            interval_end=data_interval_end,
        )
        return plan(first, last)

    @task(multiple_outputs=False, outlets=[FEATURES_OFFLINE])
    def compute_features(days: dict, *, run_id: Any = None, outlet_events: Any = None) -> dict:
        """Compute the days' feature partitions into the offline store."""
        from ml_tasks.features.pipeline import compute

        result = compute(days, run_id=run_id).to_dict()  # XCom carries JSON
        outlet_events[FEATURES_OFFLINE].extra = {
            k: result[k] for k in ("start", "end", "rows", "inputs")
        }
        return result

    @task(multiple_outputs=False)
    def register_definitions() -> dict:
        """Apply include/feature_repo to the registry when it changed."""
        from ml_tasks.features.pipeline import register

        return register()

    @task(multiple_outputs=False, outlets=[FEATURES_ONLINE])
    def materialize_online(days: dict, *, outlet_events: Any = None) -> dict:
        """Load the days into the online store without overwriting newer values."""
        from ml_tasks.features.pipeline import materialize

        result = materialize(days).to_dict()
        keys = ("start", "end", "offline_rows", "online_rows_offered", "online_store")
        outlet_events[FEATURES_ONLINE].extra = {k: result[k] for k in keys}
        return result

    days = plan_days()
    computed = compute_features(days)
    registered = register_definitions()
    computed >> registered
    registered >> materialize_online(days)


features_materialize()
