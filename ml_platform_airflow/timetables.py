"""The daily DAGs' timetable: one run per landing day, whatever creates the run.

The date rule of the platform: **a run whose data interval is [D, D+1) processes landing day D,
and its logical date is D.** Airflow's ``CronDataIntervalTimetable`` already gives scheduled
runs and ``airflow backfill create`` exactly that (logical date = data interval start). A run
triggered by hand (UI, REST API, ``dag.test``) is different: Airflow infers its interval as the
last *complete* period before the logical date, so a trigger for 2026-10-02 00:00 curated
2026-10-01 and collided with the run that covers 2026-10-02 (HTTP 409), and ``make run``'s
runs (``dag.test``) sat one day off the backfill's.

:class:`LandingDayTimetable` keeps the schedule and only changes that inference: a manual run
covers the day its logical date falls in. A trigger for any time on day D runs day D, with the
logical date, run dates and data interval the scheduler would give D's run. It is registered
by the ``ml_platform`` plugin (``plugins/ml_platform.py``) because Airflow serializes only the
timetables its plugins declare, by this class path.

    schedule=LandingDayTimetable("@daily", timezone="UTC")
"""

from __future__ import annotations

from airflow.timetables.base import DataInterval
from airflow.timetables.interval import CronDataIntervalTimetable
from pendulum import DateTime


class LandingDayTimetable(CronDataIntervalTimetable):
    """``CronDataIntervalTimetable`` whose manual runs cover the interval that starts at or
    before their logical date (not the one that ended before it)."""

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        start = self._align_to_prev(run_after)
        return DataInterval(start=start, end=self._get_next(start))
