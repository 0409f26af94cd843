"""Drive the embedded Airflow: initialise its metadata DB and run DAGs with ``dag.test()``.

Airflow reads its configuration when first imported, so :func:`use_embedded_airflow` must run
before anything imports ``airflow``; the functions here do that themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ml_tasks.settings import Settings, airflow_env, get_settings


def use_embedded_airflow(settings: Settings | None = None) -> dict[str, str]:
    """Point this process (and its children) at the embedded Airflow under PLATFORM_HOME."""
    env = airflow_env(settings)
    os.environ.update(env)
    return env


def init_airflow_db(settings: Settings | None = None) -> None:
    """Create or upgrade the Airflow metadata DB (idempotent; ~4 s on SQLite)."""
    s = settings or get_settings()
    env = {**os.environ, **use_embedded_airflow(s)}
    s.airflow_home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def load_dag(dag_id: str, settings: Settings | None = None) -> Any:
    """Parse the project's DAG folder and return one DAG (raises with the import errors)."""
    s = settings or get_settings()
    use_embedded_airflow(s)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(s.dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    if dag_id not in bag.dags:
        raise KeyError(f"no DAG {dag_id!r} in {s.dags_folder}")
    return bag.dags[dag_id]


def interval_run_time(day: date) -> datetime:
    """The logical date of a daily DAG's run for landing day ``day``: ``day`` 00:00 UTC.

    The platform's date rule: the run whose data interval is [D, D+1) processes landing day D
    and has logical date D, as the scheduler and ``airflow backfill create`` create it; the
    daily DAGs' timetable (``plugins/landing_timetable.py``) gives a manual run or
    ``dag.test()`` at this logical date that same interval, so a later backfill over the day
    finds and re-runs this very run.
    """
    return datetime.combine(day, time.min, tzinfo=UTC)


def as_of_run_time(day: date) -> datetime:
    """The instant landing day ``day`` ends: a manual run of an asset-scheduled DAG at this
    logical date (zero-length data interval) covers ``day`` (see features ``landing_days``)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def test_dag_for_days(
    dag_id: str, days: Iterable[date], settings: Settings | None = None
) -> list[tuple[date, str]]:
    """Run a daily DAG once per landing day with ``dag.test()``; returns (day, final state)."""
    dag = load_dag(dag_id, settings)
    results = []
    for day in days:
        dag_run = dag.test(logical_date=interval_run_time(day))
        results.append((day, str(dag_run.state)))
    return results
