"""The landing day of a run, with and without a data interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ml_platform_airflow.intervals import landing_day
from ml_platform_airflow.timetables import LandingDayTimetable


def test_the_data_interval_start_decides_when_there_is_one() -> None:
    run = SimpleNamespace(run_after=datetime(2026, 11, 30, 16, 56, tzinfo=UTC))
    assert landing_day(datetime(2026, 10, 5, tzinfo=UTC), run) == date(2026, 10, 5)


def test_a_run_without_a_logical_date_takes_the_day_of_its_run_after() -> None:
    # REST API "logical_date": null: Airflow 3 gives the run no data interval.
    run = SimpleNamespace(run_after=datetime(2026, 11, 30, 16, 56, tzinfo=UTC))
    assert landing_day(None, run) == date(2026, 11, 30)
    # The same day the daily timetable gives a trigger at that moment.
    import pendulum

    interval = LandingDayTimetable("@daily", timezone="UTC").infer_manual_data_interval(
        run_after=pendulum.instance(run.run_after)
    )
    assert interval.start.date() == landing_day(None, run)


def test_a_run_after_in_another_zone_is_read_in_utc() -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert landing_day(None, SimpleNamespace(run_after=late)) == date(2026, 12, 1)


def test_nothing_to_go_by_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="trigger it with a logical date"):
        landing_day(None, None)
