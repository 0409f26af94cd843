"""
### Promote a failure_model version: gates, then shadow -> canary -> blue/green flip

Runs when `evaluate_model` has logged a version's evaluation (`failure_model_evaluation` asset),
or manually (Params). Thresholds: `include/policies/promotion.yaml`.

1. `resolve_challenger`: the version (Param, asset event, or the `challenger` alias) and the
   current champion.
2. **Gates** (`PromotionGateSensor`, reschedule mode): each waits until the version's evaluation
   is complete, then decides. `gate_metrics`: every gated metric against its minimum/maximum
   and, with a champion, against the champion's value on the same holdout (absolute and
   relative regression); `gate_robustness`: worst drop under sensor noise, a missing sensor, a
   unit shift; `gate_artifacts`: model card, evaluation report and lineage are in the run;
   `gate_drift`: drift monitoring is not in alarm. A "no" fails the gate at once, with the
   reasons (metric, challenger value, champion value, threshold) in its log and in its XCom
   `gate_decision`, and nothing below runs. No evaluation before `timeout`: the gate fails with
   "timed out waiting for the evaluation". Neither a "no" nor a timeout is retried.
3. `choose_release_path`: with a champion, the staged walk; without one (first release), a
   challenger that passed the absolute minimums goes straight to the flip.
4. `shadow`: alias `shadow`; the challenger scores the recent holdout traffic beside the
   champion; disagreement (score differences, alert decisions that differ) is logged to MLflow.
5. `canary`: alias `canary`, traffic steps from the Param `canary_steps` (e.g. 10, 50, 100 %),
   each recorded with the replay's numbers.
6. `promote_to_champion`: the **blue/green flip**: sha256 of the model files verified, the old
   champion kept as `previous_champion` (instant rollback: `rollback_model`; only a released
   version is kept), `champion` moved in one registry call, `canary` removed.

The sha256 of the version's files is checked again before shadow, before the canary and each
of its steps, and at the flip (and was at registration and before evaluation). A mismatch stops
the release at once, without retries: the version loses every alias, is tagged
`quarantined=digest_mismatch`, the audit history records it and a platform alert goes out.

Until the serving gateway lands, shadow and canary act on registry aliases and an **offline
replay** of the holdout traffic, and say so. Every alias change is in the audit history:
`python -m ml_tasks history --model failure_model`.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, TriggerRule, dag, task

from ml_platform_airflow.assets import MODEL_CHAMPION, MODEL_EVALUATION
from ml_platform_airflow.constants import GATES, MODEL_NAME, gate_task_id
from ml_platform_airflow.notifiers import PlatformAlertNotifier
from ml_platform_airflow.sensors import PromotionGateSensor


@contextmanager
def final_on_quarantine() -> Generator[None, None, None]:
    """A quarantined version fails its task for good: a retry would only be refused again."""
    from airflow.sdk.exceptions import AirflowFailException

    from ml_tasks.registry.aliases import ModelQuarantined

    try:
        yield
    except ModelQuarantined as err:
        raise AirflowFailException(str(err)) from err


@dag(
    description="Release gates, then shadow -> canary -> blue/green flip of failure_model",
    schedule=[MODEL_EVALUATION],
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One release at a time: two runs moving the same aliases would interleave.
    max_active_runs=1,
    tags=["release", "gates", "ml", "mlflow"],
    default_args={
        "owner": "platform-ml",
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": PlatformAlertNotifier(title="Release stopped"),
    },
    params={
        "version": Param(
            None,
            type=["null", "string"],
            title="Model version",
            description="Version of failure_model to release; empty: the triggering "
            "evaluation's version, else the challenger alias",
        ),
        "canary_steps": Param(
            [10, 50, 100],
            type="array",
            items={"type": "integer", "minimum": 1, "maximum": 100},
            minItems=1,
            title="Canary traffic steps (%)",
            description="Traffic percentages the canary walks through, rising, e.g. 10, 50, 100",
        ),
        "reason": Param(
            "passed the promotion gates",
            type="string",
            minLength=3,
            title="Reason",
            description="Recorded in the audit history with the champion change",
        ),
    },
    doc_md=__doc__,
)
def promote_model() -> None:
    # multiple_outputs: the gate sensors template the version key alone.
    @task(multiple_outputs=True)
    def resolve_challenger(*, params: Any = None, triggering_asset_events: Any = None) -> dict:
        """The version to release and the current champion."""
        from ml_tasks.release.versions import resolve_version

        extras = [e.extra for e in (triggering_asset_events or {}).get(MODEL_EVALUATION, [])]
        return resolve_version(MODEL_NAME, params["version"], event_extra=extras)

    resolved = resolve_challenger()
    gates = [
        PromotionGateSensor(
            task_id=gate_task_id(gate),
            gate=gate,
            model_name=MODEL_NAME,
            version=resolved["version"],
            poke_interval=60,
            timeout=timedelta(hours=6).total_seconds(),
        )
        for gate in GATES
    ]

    @task.branch
    def choose_release_path(resolved: dict) -> str:
        """Staged walk with a champion; straight to the flip for the first release."""
        if resolved["champion_version"] is None or resolved["already_champion"]:
            return "promote_to_champion"
        return "shadow"

    @task(multiple_outputs=False)
    def shadow(resolved: dict, *, dag: Any = None, run_id: Any = None) -> dict:
        """Shadow: both models score the replayed traffic; disagreement recorded."""
        from ml_tasks.registry.aliases import ReleaseContext
        from ml_tasks.release.staged import shadow as run_shadow

        with final_on_quarantine():
            return run_shadow(
                MODEL_NAME, resolved["version"], context=ReleaseContext.airflow(dag.dag_id, run_id)
            )

    @task(multiple_outputs=False)
    def canary(resolved: dict, *, params: Any = None, dag: Any = None, run_id: Any = None) -> dict:
        """Canary: alias and traffic steps (offline replay until the gateway exists)."""
        from ml_tasks.registry.aliases import ReleaseContext
        from ml_tasks.release.staged import canary as run_canary

        with final_on_quarantine():
            return run_canary(
                MODEL_NAME,
                resolved["version"],
                [int(p) for p in params["canary_steps"]],
                context=ReleaseContext.airflow(dag.dag_id, run_id),
            )

    @task(
        multiple_outputs=False,
        outlets=[MODEL_CHAMPION],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    def promote_to_champion(
        resolved: dict,
        *,
        params: Any = None,
        dag: Any = None,
        run_id: Any = None,
        outlet_events: Any = None,
    ) -> dict:
        """Blue/green flip: verify sha256, keep the old champion, move champion atomically."""
        from ml_tasks.registry.aliases import ReleaseContext
        from ml_tasks.release.flip import promote

        with final_on_quarantine():
            result = promote(
                MODEL_NAME,
                resolved["version"],
                context=ReleaseContext.airflow(dag.dag_id, run_id),
                reason=params["reason"],
            )
        outlet_events[MODEL_CHAMPION].extra = {
            k: result[k] for k in ("model_name", "version", "previous_champion", "changed")
        }
        return result

    path = choose_release_path(resolved)
    staged = shadow(resolved)
    flip = promote_to_champion(resolved)
    gates >> path
    path >> [staged, flip]
    staged >> canary(resolved) >> flip


promote_model()
