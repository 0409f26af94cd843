"""Integration fixtures: one real Airflow metadata DB per session, DAGs loaded from dags/."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    from ml_tasks.orchestration import init_airflow_db

    init_airflow_db()


@pytest.fixture(scope="session")
def elt_dag(airflow_db):
    from ml_tasks.orchestration import load_dag

    dag = load_dag("elt_telemetry")
    # dag.test() waits out retry delays; the failure tests want the first failure to be final.
    for task in dag.tasks:
        task.retries = 0
    return dag
