"""A daily run with no landing data waits quietly, then fails once with one alert."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.integration


def test_missing_landing_data_waits_then_fails_once_with_one_alert(
    airflow_db, platform_home, webhook
):
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    from ml_platform_demo.orchestration import interval_run_time, load_dag

    dag = load_dag("elt_telemetry")
    sensor = dag.task_dict["wait_for_landing"]
    assert sensor.retries == 0
    # Seconds instead of 5 min / 6 h, so the whole wait fits in a test.
    sensor.poke_interval, sensor.timeout = 1, 4

    run = dag.test(logical_date=interval_run_time(date(2026, 10, 5)))  # nothing landed

    assert str(run.state) == "failed"
    ti = run.get_task_instance("wait_for_landing")
    assert str(ti.state) == "failed"
    assert ti.try_number == 1  # one attempt: it waited, it did not retry
    with create_session() as session:
        waits = session.scalar(
            select(func.count()).select_from(TaskReschedule).where(TaskReschedule.ti_id == ti.id)
        )
    assert waits >= 1, "the sensor never went up_for_reschedule before the timeout"
    for task_id in ("load_machines", "curate_telemetry", "curate_work_orders"):
        assert str(run.get_task_instance(task_id).state) == "upstream_failed"
    # One alert, for the sensor, after the timeout (none while it waited).
    assert len(webhook.received) == 1, webhook.received
    assert "wait_for_landing" in str(webhook.received[0])
