"""
### ELT: raw telemetry and maintenance records -> versioned, curated Delta tables

One run curates **one landing day** (the run's data interval, UTC).

**Date rule**: the run for landing day D has logical date D and data interval [D, D+1),
whether the scheduler, `make run`, `make backfill` or a trigger in the UI/API created it (a
trigger for any time on day D runs day D; a day that already has a run is re-run with *Clear*).

0. `wait_for_landing`: the day's telemetry and work-order landing folders each hold at least one
   `*.jsonl` file. Until then the run waits quietly (reschedule mode: no retry, no alert); after
   `PLATFORM_LANDING_WAIT_SECONDS` (default 6 h) it fails once and alerts once.
1. `load_machines`: the machines reference table (asset register); rewritten only when it changed.
2. `curate_telemetry`: telemetry events, validated against `include/contracts/telemetry.yaml`.
3. `curate_work_orders`: maintenance work-order change events (CDC) into a history table, then
   the current state per work order; technician names are pseudonymised.

Every rejected record is written to a quarantine table with its reason; nothing is dropped
silently (rows read = curated + quarantined + duplicates + conflicts, reported by each task; a
conflict is the same key with different content). A day whose rejected share passes the
contract's `max_bad_share` (with at least `min_bad_records` bad) fails after writing its
quarantine and leaves the curated table untouched. Each write is one Delta commit that
replaces exactly the rows that came from this landing day, so reruns and backfills never
duplicate records; late events go to their own event-date partition. Outlet asset events carry
the table version and row counts; the dataset-version manifest (`python -m ml_tasks status`)
records every write.

Backfill from the CLI: `make backfill FROM=2026-10-01 TO=2026-10-30` runs landing days 10-01 to
10-30 inclusive (see README). Unpausing does not catch up (`catchup=False`): the scheduler starts
only the latest finished day; older days come from a backfill.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#data](/ml/#data)) shows rows read and the quarantined share per landing day, the tables'
versions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from ml_platform_airflow.assets import CURATED_MACHINES, CURATED_TELEMETRY, CURATED_WORK_ORDERS
from ml_platform_airflow.notifiers import PlatformAlertNotifier
from ml_platform_airflow.sensors import LandingDataSensor
from ml_platform_airflow.timetables import LandingDayTimetable


def _event_extra(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("table", "interval", "version", "rows_read", "rows_curated")
    return {k: result[k] for k in keys} | {
        "rows_quarantined": result["rows_quarantined"],
        "rows_duplicate": result["rows_duplicate"],
        # Same key, different content: quarantined as conflict:<key> (read = the four buckets).
        "rows_conflict": result.get("rows_conflict", 0),
    }


@dag(
    description="Daily ELT: one landing day of telemetry and work orders -> curated Delta tables",
    # Data-interval schedule: the run for day D starts after D ends and processes landing day D
    # (logical date D); manual runs follow the same rule (LandingDayTimetable).
    schedule=LandingDayTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One writer at a time per Delta table: concurrent runs would only fight over commits.
    max_active_runs=1,
    tags=["elt", "data", "telemetry"],
    default_args={
        "owner": "platform-data",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        # A bad day (over max_bad_share) alerts once retries are spent; missing landing data
        # alerts once, when wait_for_landing times out.
        "on_failure_callback": PlatformAlertNotifier(title="ELT failed"),
    },
    doc_md=__doc__,
)
def elt_telemetry() -> None:
    @task(multiple_outputs=False, outlets=[CURATED_MACHINES])
    def load_machines(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        run_id: Any = None,
        outlet_events: Any = None,
    ) -> dict:
        """Validate and load the machines reference table."""
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.elt.pipeline import load_machines as run

        # XCom carries JSON.
        result = run(landing_day(data_interval_start, dag_run), run_id=run_id).as_dict()
        outlet_events[CURATED_MACHINES].extra = _event_extra(result)
        return result

    @task(multiple_outputs=False, outlets=[CURATED_TELEMETRY])
    def curate_telemetry(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        run_id: Any = None,
        outlet_events: Any = None,
    ) -> dict:
        """Validate, quarantine, deduplicate and merge one landing day of telemetry."""
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.elt.pipeline import curate_telemetry as run

        result = run(landing_day(data_interval_start, dag_run), run_id=run_id).as_dict()
        outlet_events[CURATED_TELEMETRY].extra = _event_extra(result)
        return result

    @task(multiple_outputs=False, outlets=[CURATED_WORK_ORDERS])
    def curate_work_orders(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        run_id: Any = None,
        outlet_events: Any = None,
    ) -> dict:
        """Curate one landing day of work-order changes and rebuild the current state."""
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.elt.pipeline import curate_maintenance as run

        result = run(landing_day(data_interval_start, dag_run), run_id=run_id).as_dict()
        outlet_events[CURATED_WORK_ORDERS].extra = _event_extra(result["current"]) | {
            "history_version": result["history"]["version"],
            "history_rows_curated": result["history"]["rows_curated"],
        }
        return result

    # No retries: the timeout is the only expected failure (one failure, one alert).
    landed = LandingDataSensor(
        task_id="wait_for_landing", sources=("telemetry", "work_orders"), retries=0
    )
    machines = load_machines()
    landed >> machines >> [curate_telemetry(), curate_work_orders()]


elt_telemetry()
