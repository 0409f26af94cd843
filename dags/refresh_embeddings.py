"""
### Nightly refresh of the maintenance-manual search index (blue/green, gated)

Rebuilds the semantic search index of the maintenance manuals from the day's export in the
landing zone (`landing/manuals/date=YYYY-MM-DD/*.md`), re-embedding only what changed, and moves
the `live` alias to the new version only when it is at least as good as the live one.

**Date rule**: the nightly run for day D has logical date D and data interval [D, D+1) and
indexes day D's export, whether the scheduler, `make run`, `make backfill` or a trigger in the
UI/API created it (a trigger for any time on day D indexes day D).

0. `wait_for_manuals`: the export to index (the `snapshot_date` Param, else the asset event's
   date, else day D) holds at least one `*.md` file. Until then the run waits quietly
   (reschedule mode: no retry, no alert); after `PLATFORM_LANDING_WAIT_SECONDS` (default 6 h)
   it fails once and alerts once.
1. `chunk_manuals`: split every manual by section (size limit with overlap); each chunk is keyed
   by a content hash. Empty, non-UTF-8 or text-less files are skipped with a logged reason.
2. `embed_changes`: embed (all-MiniLM-L6-v2, offline) only chunks no kept version holds; every
   other vector is reused as stored. Unreadable manuals keep their live revision.
3. `build_green`: write the new version (LanceDB table) beside the live one and register it; a
   rerun with the same chunks reuses the version it built.
4. `gate_green`: corpus size, recall@5 and MRR on the golden query set
   (`include/search/golden_queries.yaml`) against the policy and the live version, and embedding
   drift live vs green (Evidently) unless the corpus change explains it. Thresholds:
   `include/policies/search_index.yaml`. A failure leaves blue live and fails the run with the
   reasons (and alerts); it is not retried.
5. `swap_live`: one atomic commit moves `live`; the previous live version is kept for rollback.
6. `clean_old_versions`: keep the newest versions of the policy's retention.

Runs nightly for the previous day's export, and early when the document system posts an event
on the `manuals_landing` asset (extra `{"date": "YYYY-MM-DD"}`). Rollback:
`python -m ml_tasks index rollback`; search: `python -m ml_tasks search "QUERY"`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#search](/ml/#search)) shows the live index version, the kept versions and their gate
verdicts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, Param, dag, task

from ml_platform_airflow.assets import MANUALS_LANDING, SEARCH_INDEX_LIVE
from ml_platform_airflow.notes import note_current_task
from ml_platform_airflow.notifiers import PlatformAlertNotifier
from ml_platform_airflow.resources import executor_config
from ml_platform_airflow.sensors import POKE_INTERVAL_S, landing_wait_seconds
from ml_platform_airflow.timetables import LandingDayTimetable


@dag(
    description="Nightly manual search index: re-embed changed chunks, gate, swap the live alias",
    # Nightly after the day's export (the run for day D starts when D ends), or on an event.
    schedule=AssetOrTimeSchedule(
        timetable=LandingDayTimetable("@daily", timezone="UTC"), assets=[MANUALS_LANDING]
    ),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One writer of the index at a time.
    max_active_runs=1,
    tags=["search", "embeddings", "blue-green", "ml"],
    default_args={
        "owner": "platform-ml",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": PlatformAlertNotifier(title="Search index refresh failed"),
    },
    params={
        "snapshot_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Manuals snapshot day",
            description="Index the export of this day (empty: the run's data interval, or the "
            "date in the triggering asset event).",
        ),
        "allow_large_change": Param(
            False,
            type="boolean",
            title="Allow a large corpus change",
            description="Let the drift gate pass when more chunks changed than the policy's "
            "max_changed_share (after a person reviewed the new manuals).",
        ),
        "full_rebuild": Param(
            False,
            type="boolean",
            title="Full rebuild",
            description="Re-embed every chunk instead of reusing stored vectors.",
        ),
    },
    doc_md=__doc__,
)
def refresh_embeddings() -> None:
    # No retries: the timeout is the only expected failure (one failure, one alert).
    @task.sensor(
        poke_interval=POKE_INTERVAL_S,
        timeout=landing_wait_seconds(),
        mode="reschedule",
        soft_fail=False,
        retries=0,
    )
    def wait_for_manuals(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        params: Any = None,
        triggering_asset_events: Any = None,
    ) -> bool:
        """Wait until the manuals export of the day to index has landed."""
        from ml_tasks.elt.readiness import missing_landing
        from ml_tasks.search.pipeline import snapshot_day

        extras = [
            event.extra or {}
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]
        # A run without a logical date has no interval: the day its run_after falls in.
        interval = data_interval_start or getattr(dag_run, "run_after", None)
        day = snapshot_day(params.get("snapshot_date"), extras, interval)
        return not missing_landing(day, ("manuals",))

    @task(multiple_outputs=False, inlets=[MANUALS_LANDING])
    def chunk_manuals(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        params: Any = None,
        triggering_asset_events: Any = None,
    ) -> dict:
        """Chunk the day's manual export (unreadable files skipped with a reason)."""
        from ml_tasks.search.pipeline import chunk_manuals, snapshot_day

        extras = [
            event.extra or {}
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]
        # A run without a logical date has no interval: the day its run_after falls in.
        interval = data_interval_start or getattr(dag_run, "run_after", None)
        day = snapshot_day(params.get("snapshot_date"), extras, interval)
        return chunk_manuals(day)

    # The embedding model runs here: its own pod size under the KubernetesExecutor.
    @task(multiple_outputs=False, executor_config=executor_config("embeddings"))
    def embed_changes(chunked: dict, *, params: Any = None) -> dict:
        """Embed new or changed chunks only; reuse every stored vector."""
        from ml_tasks.search.pipeline import embed_changes

        return embed_changes(chunked, full_rebuild=bool(params.get("full_rebuild")))

    @task(multiple_outputs=False)
    def build_green(embedded: dict, *, run_id: Any = None) -> dict:
        """Register the green version beside the live one (or reuse an identical one)."""
        from ml_tasks.search.pipeline import build_green

        return build_green(embedded, run_id=run_id).to_dict()  # XCom carries JSON

    @task(multiple_outputs=False)
    def gate_green(built: dict, *, run_id: Any = None, params: Any = None) -> dict:
        """Golden-set quality and embedding drift against live; fail with the reasons."""
        from airflow.sdk.exceptions import AirflowFailException

        from ml_tasks.search.gates import IndexGateFailed
        from ml_tasks.search.pipeline import format_decision, gate_green

        try:
            decision = gate_green(
                built, run_id=run_id, allow_large_change=bool(params.get("allow_large_change"))
            )
        except IndexGateFailed as err:
            # Deterministic: a retry would block again. Fail now, blue stays live.
            *checks, verdict = format_decision(err.decision)
            note_current_task(verdict, checks)
            raise AirflowFailException(str(err)) from err
        *checks, verdict = format_decision(decision)
        note_current_task(verdict, checks)  # the verdict (logged above) beside the task
        return decision

    @task(multiple_outputs=False, outlets=[SEARCH_INDEX_LIVE])
    def swap_live(decision: dict, *, run_id: Any = None, outlet_events: Any = None) -> dict:
        """Move the live alias to green (atomic); the old live version stays for rollback."""
        from ml_tasks.search.pipeline import swap_live

        result = swap_live(decision, run_id=run_id)
        outlet_events[SEARCH_INDEX_LIVE].extra = {**result, "interval": decision.get("interval")}
        return result

    @task(multiple_outputs=False)
    def clean_old_versions() -> dict:
        """Drop versions beyond the retention policy (never live or its rollback target)."""
        from ml_tasks.search.pipeline import clean_old_versions

        return clean_old_versions()

    chunked = chunk_manuals()
    wait_for_manuals() >> chunked
    decision = gate_green(build_green(embed_changes(chunked)))
    swap_live(decision) >> clean_old_versions()


refresh_embeddings()
