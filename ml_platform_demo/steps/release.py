"""The release step of the demo (`make run`), after training registered a challenger.

Runs the real ``evaluate_model`` and ``promote_model`` DAGs with ``dag.test()`` for the
challenger, then prints each gate's decision (read back from the gate tasks' XCom
``gate_decision``, the same record the Airflow UI shows), the registry aliases and the latest
entries of the audit history.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ml_platform_airflow.constants import GATE_TASK_IDS, MODEL_NAME
from ml_tasks.settings import Settings

# The gate tasks of promote_model, declared once with the DAG's adapters.
GATE_TASKS = GATE_TASK_IDS


def gate_decisions(dag_run: Any) -> dict[str, dict[str, Any]]:
    """The ``gate_decision`` XCom of each gate task of a ``promote_model`` run."""
    return xcom_values(dag_run, "gate_decision", GATE_TASKS)


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


def task_results(dag_run: Any, task_ids: Sequence[str]) -> dict[str, Any]:
    """The ``return_value`` XCom of these tasks of a DAG run (absent: the task did not run)."""
    return xcom_values(dag_run, "return_value", task_ids)


def xcom_values(dag_run: Any, key: str, task_ids: Sequence[str]) -> dict[str, Any]:
    """The XCom ``key`` of each of ``task_ids`` in a DAG run, by task id."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows: Sequence[Any] = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id, key=key, dag_ids=dag_run.dag_id, task_ids=list(task_ids)
            )
        ).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


@dataclass
class ReleaseOutcome:
    """What ``evaluate_model`` + ``promote_model`` did with one version."""

    version: str
    evaluated: bool
    states: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.states.get("promote_to_champion") == "success"

    def gate_summary(self) -> str:
        """``metrics ok, robustness BLOCKED, ...`` in the order of the gates."""
        parts = []
        for task_id in GATE_TASKS:
            decision = self.decisions.get(task_id)
            name = task_id.removeprefix("gate_")
            if decision is None:
                parts.append(f"{name} -")
            else:
                parts.append(f"{name} {'ok' if decision.get('passed') else 'BLOCKED'}")
        return ", ".join(parts)

    def path(self) -> str:
        """The release path the run took, with the canary steps and the mode."""
        if not self.evaluated:
            return "evaluation failed"
        shadow = self.results.get("shadow") or {}
        canary = self.results.get("canary") or {}
        mode = shadow.get("mode") or canary.get("mode") or ""
        live = "live" in str(mode)
        steps = [str(s.get("percent")) for s in canary.get("steps") or []]
        walked = []
        if self.states.get("shadow") == "success":
            walked.append("shadow")
        elif self.states.get("shadow") == "failed":
            walked.append("shadow FAILED")
        if self.states.get("canary") == "success":
            walked.append(f"canary {'/'.join(steps)} %")
        elif self.states.get("canary") == "failed":
            walked.append("canary BLOCKED")
        if self.promoted:
            walked.append("flip" if walked else "first release: flip")
        if not walked:
            return "blocked at the gates"
        suffix = " (live traffic)" if live else (" (offline replay)" if mode else "")
        return " -> ".join(walked) + suffix


def _print_stage_numbers(results: dict[str, Any]) -> None:
    """The shadow's and each canary step's numbers, as the tasks returned them."""

    def scalars(record: dict[str, Any]) -> str:
        keep = [
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in record.items()
            if isinstance(v, int | float | str | bool)
            and k not in ("stage", "model_name")
            and v is not None
        ]
        return ", ".join(keep)

    shadow = results.get("shadow")
    if shadow:
        print("  shadow           " + scalars(shadow))
    canary = results.get("canary")
    if canary:
        print("  canary           " + scalars(canary))
        for step in canary.get("steps") or []:
            print(f"    step {step.get('percent')!s:>3} %   " + scalars(step))


def release_version(
    settings: Settings,
    version: str,
    *,
    canary_steps: Sequence[int] | None = None,
    poke_interval: float | None = None,
) -> ReleaseOutcome:
    """Evaluate and release ``version`` through the real DAGs; print decisions and aliases."""
    from ml_platform_demo.orchestration import load_dag, run_dag_test
    from ml_tasks.registry import history
    from ml_tasks.registry.models import aliases, client

    c = client(settings)
    outcome = ReleaseOutcome(version=version, evaluated=False)
    conf: dict[str, Any] = {"version": version}
    for dag_id in ("evaluate_model", "promote_model"):
        if dag_id == "promote_model" and canary_steps:
            conf["canary_steps"] = list(canary_steps)
        dag = load_dag(dag_id, settings)
        if dag_id == "promote_model" and poke_interval is not None:
            # The release sensors poke every 15 s in production; the demo's live walk needs a
            # few seconds per step at its traffic rate.
            for task_id in ("shadow", "canary"):
                dag.get_task(task_id).poke_interval = poke_interval
        started = time.perf_counter()
        run_conf = conf if dag_id == "promote_model" else {"version": version}
        run = run_dag_test(dag, run_conf=run_conf)
        state = str(run.state)
        print(f"      v{version}  {dag_id:<16} {state:<8} {time.perf_counter() - started:5.1f} s")
        if dag_id == "evaluate_model":
            if state != "success":
                return outcome
            outcome.evaluated = True
    outcome.states = task_states(run)
    outcome.decisions = gate_decisions(run)
    outcome.results = task_results(run, ["shadow", "canary", "promote_to_champion"])
    print()
    print(f"Gate decisions for {MODEL_NAME} v{version} (promote_model, XCom gate_decision)")
    print(format_decisions(outcome.decisions, outcome.states))
    released = [t for t in ("shadow", "canary", "promote_to_champion") if outcome.states.get(t)]
    print("  release steps    " + ", ".join(f"{t} {outcome.states[t]}" for t in released))
    _print_stage_numbers(outcome.results)
    print()
    now = aliases(c, MODEL_NAME)
    print("Aliases: " + (", ".join(f"@{a} v{v}" for a, v in sorted(now.items())) or "none"))
    events = history.read_events(MODEL_NAME, settings)
    print(
        f"Audit history (last {min(len(events), 8)} of {len(events)}; all: "
        f"python -m ml_tasks history --model {MODEL_NAME})"
    )
    for event in events[-8:]:
        print("  " + event.describe())
    return outcome


def run_release_demo(settings: Settings) -> int:
    """Evaluate, gate and release the current challenger; print decisions and aliases."""
    from ml_tasks.registry.models import CHALLENGER, alias_version, client

    version = alias_version(client(settings), MODEL_NAME, CHALLENGER)
    if version is None:
        print("      no @challenger registered: nothing to release")
        return 1
    outcome = release_version(settings, version)
    # A blocked release is a correct outcome of the demo, not a failure of it.
    return 0 if outcome.evaluated else 1
