"""The landing day a daily run processes, whatever created the run.

Kept apart from :mod:`ml_platform_airflow.timetables`, which the platform's plugin imports: a
running DAG processor keeps the plugin's modules loaded, so a name added there is invisible to
DAG files parsed before a restart. The tasks and sensors import this module when they run.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any


def landing_day(data_interval_start: Any, dag_run: Any = None) -> date:
    """The landing day a daily run processes (UTC).

    Its data interval's start, normally. A run created without a logical date (REST API
    ``"logical_date": null``, or the UI's trigger form with the field cleared) has no data
    interval in Airflow 3; it processes the day its ``run_after`` falls in, as the daily
    ``LandingDayTimetable`` gives a trigger at that time, instead of failing deep in a task on
    ``None``.
    """
    moment = data_interval_start
    if moment is None:
        moment = getattr(dag_run, "run_after", None)
        if moment is None:
            raise ValueError(
                "this run has no data interval and no run_after: trigger it with a logical date"
            )
    return moment.astimezone(UTC).date()
