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
4. `shadow` (`StagedReleaseSensor`, reschedule mode): alias `shadow` on the challenger. With a
   gateway running, it scores a mirror of every request the champion answers; the stage waits
   for enough mirrored answers in the prediction log, then gates on them: shadow errors and
   alert decisions that differ from the champion's (`release.live` in the policy); the alias is
   removed either way.
5. `canary` (`StagedReleaseSensor`): alias `canary`, then the traffic steps of the Param
   `canary_steps` (e.g. 10, 50, 100 % of the machines, sticky by machine id). Each step waits
   for enough answers by the canary, then gates on that step's live numbers: error rate, p99
   latency against the champion's, mean score difference and alert disagreement against the
   champion on the same requests. A breach (or a step without its answers in time) sets the
   share to 0, removes the canary and fails with the reasons in the log and the XCom
   `live_decision`; the champion is untouched.
6. `promote_to_champion`: the **blue/green flip**: sha256 of the model files verified, the old
   champion kept as `previous_champion` (instant rollback: `rollback_model`; only a released
   version is kept), `champion` moved in one registry call, `canary` removed. The gateway
   picks the move up without a restart.

The sha256 of the version's files is checked again before shadow, before the canary and each
of its steps, and at the flip (and was at registration and before evaluation). A mismatch stops
the release at once, without retries: the version loses every alias, is tagged
`quarantined=digest_mismatch`, the audit history records it and a platform alert goes out.

Without a gateway (`PLATFORM_GATEWAY_URL` unset and none started by `python -m ml_tasks serve`)
shadow and canary fall back to an **offline replay** of the holdout traffic, done in one poke;
the task log, its XCom (`mode`) and the MLflow record say which mode ran. Every alias change is
in the audit history: `python -m ml_tasks history --model failure_model`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#release](/ml/#release)) shows the canary share and each release step's numbers; the gate
verdicts per version.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, TriggerRule, dag, task

from ml_platform_airflow.assets import MODEL_CHAMPION, MODEL_EVALUATION
from ml_platform_airflow.constants import GATES, MODEL_NAME, gate_task_id
from ml_platform_airflow.live_release import StagedReleaseSensor
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

    # One step of the stage per poke; each waits for live answers up to the policy's
    # release.live.wait_seconds per step, so the timeout is only a backstop.
    shadow = StagedReleaseSensor(
        task_id="shadow",
        stage="shadow",
        model_name=MODEL_NAME,
        version=resolved["version"],
        poke_interval=15,
        timeout=timedelta(hours=2).total_seconds(),
    )
    canary = StagedReleaseSensor(
        task_id="canary",
        stage="canary",
        model_name=MODEL_NAME,
        version=resolved["version"],
        steps_param="canary_steps",
        poke_interval=15,
        timeout=timedelta(hours=6).total_seconds(),
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
    flip = promote_to_champion(resolved)
    gates >> path
    path >> [shadow, flip]
    shadow >> canary >> flip


promote_model()
