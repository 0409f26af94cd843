"""``make backfill``: an Airflow backfill run to completion by a real scheduler, embedded.

Airflow is driven only through its CLI and REST API v2, never its metadata tables:

1. ``airflow db migrate`` and ``airflow dags reserialize`` (no dag-processor needed);
2. the API server starts alone; a token from ``POST /auth/token``;
3. a paused DAG is unpaused (``PATCH /api/v2/dags/{id}``; paused DAGs run nothing, backfills
   included) and paused again at the end; backfills an earlier crash left open are cancelled
   (``PUT /api/v2/backfills/{id}/cancel``, their stale running runs marked failed);
4. ``POST /api/v2/backfills`` creates the runs (as ``airflow backfill create`` would) before
   any scheduler runs: on SQLite a concurrent scheduler makes the clearing of reprocessed runs
   fail with "database is locked";
5. the scheduler starts with ``[scheduler] use_job_schedule = False``: it runs the queued
   backfill runs and creates no scheduled run, so unpausing a ``catchup=False`` DAG does not
   also start "yesterday", whose landing data usually does not exist;
6. the runs are polled (``GET /api/v2/dags/{id}/dagRuns``) until all are finished; a backfill
   that did not finish is cancelled once the scheduler has stopped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ml_platform_airflow.api_client import login_from_password_file
from ml_platform_demo.airflow_api import AirflowApi, parse_time
from ml_platform_demo.services import (
    Services,
    ensure_not_running,
    more_services,
    running_services,
)
from ml_tasks.cli_args import iso_date
from ml_tasks.settings import Settings, airflow_env, get_settings

TERMINAL_STATES = frozenset({"success", "failed"})
# Backfill runs only: no scheduled or asset-triggered runs while the DAG is unpaused for it.
BACKFILL_SCHEDULER_ENV = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}


@dataclass(frozen=True)
class RunStatus:
    """One logical date of a backfill: its run's state, or ``not_created`` when it has none."""

    logical_date: datetime
    state: str
    interval_start: datetime | None
    interval_end: datetime | None

    def line(self) -> str:
        """``  <logical date>  [<interval start>, <interval end>)  <state>``."""
        if self.interval_start is None or self.interval_end is None:
            interval = "-"
        else:
            interval = f"[{self.interval_start:%Y-%m-%dT%H:%M}, {self.interval_end:%Y-%m-%dT%H:%M})"
        return f"  {self.logical_date.isoformat():<27} {interval:<36} {self.state}"


def airflow_cli(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one ``airflow`` CLI command; raise with its output when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"airflow {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def backfill_command(dag_id: str, start: date, end: date) -> list[str]:
    """The ``airflow`` CLI arguments of the same backfill (the documented equivalent).

    ``--reprocess-behavior completed``: a day that already has a finished run (success or
    failed) is cleared and run again, so re-running a backfill after fixing landing data
    reprocesses it; the ELT replaces exactly the rows from that landing day, so reruns never
    duplicate. ``--max-active-runs 1``: backfills default to 10 concurrent runs whatever the
    DAG says, and two runs would race on the same Delta tables.

    With the DAG's data-interval timetable the logical date *is* the interval start, so
    ``--from-date START --to-date END`` gives the runs for landing days START..END inclusive.
    """
    return [
        "backfill", "create",
        "--dag-id", dag_id,
        "--from-date", start.isoformat(),
        "--to-date", end.isoformat(),
        "--reprocess-behavior", "completed",
        "--max-active-runs", "1",
    ]  # fmt: skip


def backfill_body(dag_id: str, start: date, end: date) -> dict[str, Any]:
    """The ``POST /api/v2/backfills`` body of :func:`backfill_command`'s backfill."""
    return {
        "dag_id": dag_id,
        "from_date": f"{start.isoformat()}T00:00:00Z",
        "to_date": f"{end.isoformat()}T00:00:00Z",
        "run_backwards": False,
        "reprocess_behavior": "completed",
        "max_active_runs": 1,
    }


def backfill_runs(api: AirflowApi, dag_id: str, planned: Sequence[datetime]) -> list[RunStatus]:
    """The state of the run of each planned logical date, in order."""
    if not planned:
        return []
    found = {
        parse_time(run.get("logical_date")): run
        for run in api.dag_runs(dag_id, min(planned), max(planned))
    }
    statuses = []
    for logical_date in planned:
        run = found.get(logical_date)
        statuses.append(
            RunStatus(
                logical_date=logical_date,
                state=str(run["state"]) if run else "not_created",
                interval_start=parse_time(run.get("data_interval_start")) if run else None,
                interval_end=parse_time(run.get("data_interval_end")) if run else None,
            )
        )
    return statuses


def _fail_running_runs(api: AirflowApi, dag_id: str, start: datetime, end: datetime) -> None:
    """Mark failed the runs in ``[start, end]`` still "running" with no scheduler to run them.

    Left "running" behind stopped services, the next backfill would skip their days as in
    flight until a scheduler timed their tasks out.
    """
    for run in api.dag_runs(dag_id, start, end):
        if run["state"] == "running":
            print(f"marking run {run['dag_run_id']} failed", flush=True)
            api.fail_dag_run(dag_id, run["dag_run_id"])


def cancel_backfill(api: AirflowApi, dag_id: str, backfill: dict[str, Any]) -> None:
    """Cancel like the UI does (pause, fail queued runs, complete), then fail its running runs."""
    api.cancel_backfill(int(backfill["id"]))
    start, end = parse_time(backfill["from_date"]), parse_time(backfill["to_date"])
    if start is not None and end is not None:
        _fail_running_runs(api, dag_id, start, end)


def settle_earlier_backfills(api: AirflowApi, dag_id: str) -> None:
    """Cancel the backfills an earlier crash left open: Airflow allows one active per DAG.

    With no scheduler running (checked before), nothing can still be working on them; a
    finished one is only marked completed (the scheduler does that every 30 s at best).
    """
    for backfill in api.backfills(dag_id):
        if backfill["completed_at"] is None:
            print(f"settling backfill {backfill['id']} left open by an earlier run", flush=True)
            cancel_backfill(api, dag_id, backfill)


def wait_for_backfill(
    api: AirflowApi,
    dag_id: str,
    backfill_id: int,
    planned: Sequence[datetime],
    timeout_s: float,
    services: Services,
    poll_s: float = 2.0,
) -> bool:
    """Poll until every planned run is finished, printing state changes; False on timeout."""
    deadline = time.monotonic() + timeout_s
    seen: dict[datetime, str] = {}
    while True:
        services.check_alive()
        runs = backfill_runs(api, dag_id, planned)
        for run in runs:
            if seen.get(run.logical_date) != run.state:
                seen[run.logical_date] = run.state
                print(run.line(), flush=True)
        if all(r.state in TERMINAL_STATES or r.state == "not_created" for r in runs):
            return True
        if api.backfill(backfill_id)["completed_at"] is not None:
            print(f"backfill {backfill_id} was cancelled", flush=True)
            return True
        if time.monotonic() > deadline:
            print(f"timed out after {timeout_s}s", flush=True)
            return False
        time.sleep(poll_s)


def _run_created_backfill(
    api: AirflowApi, services: Services, dag_id: str, start: date, end: date, timeout_s: float
) -> list[RunStatus]:
    """Create the backfill, run it with a scheduler, settle it; returns its runs' states."""
    settle_earlier_backfills(api, dag_id)
    body = backfill_body(dag_id, start, end)
    planned = sorted(api.dry_run_backfill(body))
    print(f"$ airflow {' '.join(backfill_command(dag_id, start, end))}", flush=True)
    backfill = api.create_backfill(body)
    backfill_id = int(backfill["id"])
    finished = False
    try:
        with more_services(services, ("scheduler",), env_overrides=BACKFILL_SCHEDULER_ENV):
            t_runs = time.monotonic()
            print(f"backfill {backfill_id}: logical date, data interval, state", flush=True)
            finished = wait_for_backfill(api, dag_id, backfill_id, planned, timeout_s, services)
            print(f"backfill {backfill_id} ran for {time.monotonic() - t_runs:.1f}s", flush=True)
    finally:
        # Timed out, interrupted or a service died. Cancelled only once the scheduler is
        # stopped (no SQLite lock contention); an active backfill would block the next one.
        if not finished:
            print(f"backfill {backfill_id} unfinished; cancelling it", flush=True)
            cancel_backfill(api, dag_id, backfill)
    # Every run finished: complete it now rather than wait for a scheduler loop.
    api.cancel_backfill(backfill_id)
    runs = backfill_runs(api, dag_id, planned)
    print(f"backfill {backfill_id}:")
    for run in runs:
        print(run.line(), flush=True)
    return runs


def run_backfill(
    dag_id: str,
    start: date,
    end: date,
    *,
    timeout_s: int = 1800,
    settings: Settings | None = None,
) -> list[tuple[str, str]]:
    """Backfill ``dag_id`` for landing days ``start``..``end`` through a real scheduler.

    Returns ``[(logical_date_iso, state)]``; a state other than ``success`` means that day
    failed, timed out (``queued``/``running``) or got no run (``not_created``).
    """
    from ml_platform_demo.orchestration import init_airflow_db

    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    s = settings or get_settings()
    ensure_not_running(s)
    t0 = time.monotonic()
    init_airflow_db(s)
    # Serialize now: backfills run without a dag-processor.
    airflow_cli(["dags", "reserialize"], {**os.environ, **airflow_env(s)})
    print(f"airflow DB ready and DAGs serialized in {time.monotonic() - t0:.1f}s", flush=True)
    with running_services(("api-server",), s) as services:
        api = AirflowApi.login(services.api_url, *login_from_password_file(s.airflow_home))
        was_paused = bool(api.dag(dag_id)["is_paused"])
        if was_paused:
            api.set_paused(dag_id, False)
        try:
            runs = _run_created_backfill(api, services, dag_id, start, end, timeout_s)
        finally:
            if was_paused:
                api.set_paused(dag_id, True)
    print(f"total {time.monotonic() - t0:.1f}s", flush=True)
    return [(run.logical_date.isoformat(), run.state) for run in runs]


# --------------------------------------------------------------------------- CLI glue


def add_backfill_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``backfill`` command (landing days, inclusive)."""
    parser.add_argument("--dag-id", default="elt_telemetry", help="DAG to backfill")
    parser.add_argument(
        "--from",
        dest="from_date",
        type=iso_date,
        required=True,
        help="first landing day YYYY-MM-DD",
    )
    parser.add_argument(
        "--to", dest="to_date", type=iso_date, required=True, help="last landing day (inclusive)"
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds to wait for all runs (default 1800)"
    )


def main_backfill(args: argparse.Namespace) -> int:
    """``backfill`` command: 0 when every day succeeded, 1 otherwise."""
    try:
        results = run_backfill(args.dag_id, args.from_date, args.to_date, timeout_s=args.timeout)
    except (RuntimeError, TimeoutError, KeyError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; services stopped, backfill cancelled", file=sys.stderr)
        return 130
    failed = [(day, state) for day, state in results if state != "success"]
    for day, state in failed:
        print(f"not successful: {day} {state}", file=sys.stderr)
    return 1 if failed or not results else 0
