"""The daily timetable of the date rule, and its registration by the platform's plugin."""

from __future__ import annotations

import pendulum

from ml_platform_airflow.timetables import LandingDayTimetable


def test_a_manual_run_on_day_d_covers_day_d_like_the_scheduled_run():
    tt = LandingDayTimetable("@daily", timezone="UTC")
    day = pendulum.datetime(2026, 10, 2, tz="UTC")
    for at in (day, day.add(hours=5, minutes=30), day.add(hours=23, minutes=59, seconds=59)):
        interval = tt.infer_manual_data_interval(run_after=at)
        assert (interval.start, interval.end) == (day, day.add(days=1)), at
    # The scheduled/backfill run for day D is untouched: logical date D, interval [D, D+1).
    from airflow.timetables.base import DataInterval, TimeRestriction

    scheduled = tt.next_dagrun_info(
        last_automated_data_interval=DataInterval(day.subtract(days=1), day),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert scheduled.logical_date == day
    assert scheduled.data_interval == DataInterval(day, day.add(days=1))


def test_the_timetable_survives_serialization_through_its_plugin():
    from airflow import plugins_manager
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    # Loaded the way the scheduler does: from the plugins folder, keyed by the class path.
    registered = plugins_manager.get_timetables_plugins()
    assert registered["ml_platform_airflow.timetables.LandingDayTimetable"] is LandingDayTimetable
    tt = LandingDayTimetable("@daily", timezone="UTC")
    decoded = decode_timetable(encode_timetable(tt))
    assert type(decoded) is LandingDayTimetable
    at = pendulum.datetime(2026, 10, 2, 7, tz="UTC")
    assert decoded.infer_manual_data_interval(run_after=at) == tt.infer_manual_data_interval(
        run_after=at
    )
