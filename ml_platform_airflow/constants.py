"""Names the DAGs and the tools that drive them share: the model, its gates, their task ids.

Each is declared once in ``ml_tasks`` (the platform owns them; no Airflow there) and only
re-exported here, next to what is Airflow's own: the id of each gate's task in ``promote_model``.
No Airflow import, so a CLI or demo runner can read the task ids without loading Airflow.
"""

from __future__ import annotations

from ml_tasks.release.gates import GATES
from ml_tasks.training.spec import MODEL_NAME

__all__ = ["GATES", "GATE_TASK_IDS", "MODEL_NAME", "gate_task_id"]


def gate_task_id(gate: str) -> str:
    """The ``promote_model`` task that runs ``gate`` (its XCom ``gate_decision`` is the verdict)."""
    return f"gate_{gate}"


GATE_TASK_IDS = tuple(gate_task_id(gate) for gate in GATES)
