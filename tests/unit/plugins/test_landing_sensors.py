"""The wait-for-data sensor and the daily timetable of the date rule."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import pendulum

from ml_tasks.elt.readiness import landing_partition

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def _plugin(name: str):
    spec = importlib.util.spec_from_file_location(name, PLUGINS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the timetable serializes by its importable name
    spec.loader.exec_module(module)
    return module


def test_sensor_pokes_false_until_the_days_landing_data_is_there(platform_home, monkeypatch):
    monkeypatch.setenv("PLATFORM_LANDING_WAIT_SECONDS", "120")
    sensors = _plugin("landing_sensors")
    sensor = sensors.LandingDataSensor(task_id="wait_for_landing", day="2026-10-02")
    assert (sensor.mode, sensor.poke_interval, sensor.timeout) == ("reschedule", 300, 120)
    assert sensor.soft_fail is False
    assert sensor.poke({}) is False
    pokes = []
    for source, name in (("telemetry", "events.jsonl"), ("work_orders", "cdc.jsonl")):
        folder = landing_partition(platform_home.landing_dir, source, date(2026, 10, 2))
        folder.mkdir(parents=True)
        (folder / name).write_text("{}\n")
        pokes.append(sensor.poke({}))
    assert pokes == [False, True]


def test_sensor_timeout_defaults_to_six_hours(monkeypatch):
    monkeypatch.delenv("PLATFORM_LANDING_WAIT_SECONDS", raising=False)
    sensor = _plugin("landing_sensors").LandingDataSensor(task_id="wait_for_landing")
    assert sensor.timeout == 6 * 3600
    assert sensor.day == "{{ data_interval_start | ds }}"


def test_a_manual_run_on_day_d_covers_day_d_like_the_scheduled_run():
    tt = _plugin("landing_timetable").LandingDayTimetable("@daily", timezone="UTC")
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
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    module = _plugin("landing_timetable")
    assert module.LandingDayTimetable in module.LandingTimetablePlugin.timetables
    tt = module.LandingDayTimetable("@daily", timezone="UTC")
    decoded = decode_timetable(encode_timetable(tt))
    assert type(decoded).__name__ == "LandingDayTimetable"
    at = pendulum.datetime(2026, 10, 2, 7, tz="UTC")
    assert decoded.infer_manual_data_interval(run_after=at) == tt.infer_manual_data_interval(
        run_after=at
    )
