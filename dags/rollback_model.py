"""
### Roll failure_model back: champion one step back (or to a given version)

Manual only: trigger it from the UI with Params (the trigger form), or
`python -m ml_tasks rollback --model failure_model [--to-version N] --reason "..."`.

1. `verify_rollback_target`: the target is the `previous_champion` alias (the version the last
   blue/green flip kept), or the Param `to_version`. The target must have been **released**:
   champion before (audit history) or passed every promotion gate; a version the gates blocked
   and that never served is refused, unless the Param `force` is on with a `reason` of its own
   (the history records the forced rollback). Its model files are downloaded and hashed, and the
   digest must equal the `model_sha256` recorded when it was registered; a mismatch (a changed
   or tampered artifact) **refuses the rollback** with the two digests in the error and
   quarantines the version (no alias, alert), whatever `force` says.
2. `switch_champion`: `champion` moves to the target in one registry call (only if the champion
   is still the one the plan saw); `previous_champion` moves one step further back (the version
   that preceded the target, from the audit history), the rolled-back version is tagged
   `release.status=rolled_back`. Each alias change, with the Param `reason`, this DAG run and
   the time, is appended to the audit history.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#models](/ml/#models)) shows the versions, their aliases and the alias history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from ml_platform_airflow.assets import MODEL_CHAMPION
from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_airflow.notifiers import PlatformAlertNotifier


@dag(
    description="Manual rollback of failure_model's champion (sha256 verified, audited)",
    schedule=None,
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["release", "rollback", "ml", "mlflow"],
    default_args={
        "owner": "platform-ml",
        "retries": 1,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": PlatformAlertNotifier(title="Rollback failed"),
    },
    params={
        "to_version": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Roll back to version",
            description="Empty: one step back, to the previous_champion alias",
        ),
        "force": Param(
            False,
            type="boolean",
            title="Force a never released version",
            description="Allow a to_version that was never champion and did not pass every gate "
            "(never a quarantined one); needs a reason other than the default, recorded in the "
            "audit history",
        ),
        "reason": Param(
            "manual rollback",
            type="string",
            minLength=3,
            title="Reason",
            description="Why (incident id, symptom); recorded in the audit history",
        ),
    },
    doc_md=__doc__,
)
def rollback_model() -> None:
    @task(multiple_outputs=False)
    def verify_rollback_target(*, params: Any = None, dag: Any = None, run_id: Any = None) -> dict:
        """Resolve the target, check it was released, verify its files against their sha256."""
        from airflow.sdk.exceptions import AirflowFailException

        from ml_tasks.registry.aliases import ReleaseContext
        from ml_tasks.release.rollback import RollbackRefused, plan_rollback

        try:
            return plan_rollback(
                MODEL_NAME,
                params["to_version"],
                force=params["force"],
                reason=params["reason"],
                context=ReleaseContext.airflow(dag.dag_id, run_id),
            )
        except RollbackRefused as err:  # a refusal is final: retrying changes nothing
            raise AirflowFailException(str(err)) from err

    @task(multiple_outputs=False, outlets=[MODEL_CHAMPION])
    def switch_champion(
        plan: dict,
        *,
        params: Any = None,
        dag: Any = None,
        run_id: Any = None,
        outlet_events: Any = None,
    ) -> dict:
        """Move champion to the verified target; record the rollback in the history."""
        from ml_tasks.registry.aliases import ReleaseContext
        from ml_tasks.release.rollback import apply_rollback

        result = apply_rollback(
            plan, context=ReleaseContext.airflow(dag.dag_id, run_id), reason=params["reason"]
        )
        outlet_events[MODEL_CHAMPION].extra = {
            "model_name": MODEL_NAME,
            "version": result["to_version"],
            "rolled_back_from": result["from_version"],
            "reason": params["reason"],
        }
        return result

    switch_champion(verify_rollback_target())


rollback_model()
