"""The model name and the gate list: declared in ml_tasks, one gate task per gate in the DAG."""

from __future__ import annotations

from pathlib import Path

from ml_platform_airflow.constants import GATE_TASK_IDS, GATES, MODEL_NAME, gate_task_id
from ml_tasks.release import gates
from ml_tasks.training import spec

DAGS_DIR = Path(__file__).resolve().parents[3] / "dags"


def test_the_names_are_the_platforms_own():
    assert GATES is gates.GATES and MODEL_NAME == spec.MODEL_NAME
    assert GATE_TASK_IDS == tuple(gate_task_id(g) for g in gates.GATES)


def test_promote_model_runs_one_gate_sensor_per_gate_under_its_task_id():
    from airflow.dag_processing.dagbag import DagBag

    from ml_platform_airflow.sensors import PromotionGateSensor

    bag = DagBag(dag_folder=str(DAGS_DIR / "promote_model.py"))
    assert bag.import_errors == {}
    dag = bag.dags["promote_model"]
    sensors = {t.task_id: t for t in dag.tasks if isinstance(t, PromotionGateSensor)}
    assert set(sensors) == set(GATE_TASK_IDS)
    assert {sensors[gate_task_id(g)].gate for g in GATES} == set(GATES)
    assert {s.model_name for s in sensors.values()} == {MODEL_NAME}
