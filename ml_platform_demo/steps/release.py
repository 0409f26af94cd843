"""The release step of the demo (`make run`), after training registered a challenger.

Runs the real ``evaluate_model`` and ``promote_model`` DAGs with ``dag.test()`` for the
challenger, then prints each gate's decision (read back from the gate tasks' XCom
``gate_decision``, the same record the Airflow UI shows), the registry aliases and the latest
entries of the audit history.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ml_platform_airflow.constants import GATE_TASK_IDS, MODEL_NAME
from ml_tasks.settings import Settings

# The gate tasks of promote_model, declared once with the DAG's adapters.
GATE_TASKS = GATE_TASK_IDS


def gate_decisions(dag_run: Any) -> dict[str, dict[str, Any]]:
    """The ``gate_decision`` XCom of each gate task of a ``promote_model`` run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows: Sequence[Any] = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                key="gate_decision",
                dag_ids=dag_run.dag_id,
                task_ids=list(GATE_TASKS),
            )
        ).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def task_states(dag_run: Any) -> dict[str, str]:
    """Final state of every task of a DAG run."""
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def format_decisions(decisions: dict[str, dict[str, Any]], states: dict[str, str]) -> str:
    lines = []
    for task_id in GATE_TASKS:
        decision = decisions.get(task_id)
        state = states.get(task_id, "-")
        if decision is None:
            lines.append(f"  {task_id:<16} {state:<16} (no decision recorded)")
            continue
        verdict = "PASSED" if decision.get("passed") else "BLOCKED"
        lines.append(f"  {task_id:<16} {state:<16} {verdict}")
        for reason in decision.get("reasons") or []:
            lines.append(f"      - {reason}")
    return "\n".join(lines)


def run_release_demo(settings: Settings) -> int:
    """Evaluate, gate and release the current challenger; print decisions and aliases."""
    from ml_platform_demo.orchestration import load_dag, run_dag_test
    from ml_tasks.registry import history
    from ml_tasks.registry.models import CHALLENGER, alias_version, aliases, client

    c = client(settings)
    version = alias_version(c, MODEL_NAME, CHALLENGER)
    if version is None:
        print("      no @challenger registered: nothing to release")
        return 1
    for dag_id in ("evaluate_model", "promote_model"):
        dag = load_dag(dag_id, settings)
        started = time.perf_counter()
        run = run_dag_test(dag, run_conf={"version": version})
        state = str(run.state)
        print(
            f"      v{version}  {dag_id:<16} {state:<8} {time.perf_counter() - started:5.1f} s"
        )
        if dag_id == "evaluate_model" and state != "success":
            return 1
    states = task_states(run)
    print()
    print(f"Gate decisions for {MODEL_NAME} v{version} (promote_model, XCom gate_decision)")
    print(format_decisions(gate_decisions(run), states))
    released = [t for t in ("shadow", "canary", "promote_to_champion") if states.get(t)]
    print("  release steps    " + ", ".join(f"{t} {states[t]}" for t in released))
    print()
    now = aliases(c, MODEL_NAME)
    print("Aliases: " + (", ".join(f"@{a} v{v}" for a, v in sorted(now.items())) or "none"))
    events = history.read_events(MODEL_NAME, settings)
    print(f"Audit history (last {min(len(events), 8)} of {len(events)}; all: "
          f"python -m ml_tasks history --model {MODEL_NAME})")
    for event in events[-8:]:
        print("  " + event.describe())
    # A blocked release is a correct outcome of the demo, not a failure of it.
    return 0
