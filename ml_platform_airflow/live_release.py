"""The shadow and canary stages of ``promote_model`` as reschedule-mode sensors.

:class:`StagedReleaseSensor` runs one stage (``shadow`` or ``canary``) of
:mod:`ml_tasks.release.staged`, one step per poke. With a gateway running (live traffic): the
first poke sets the alias (and the first canary share) and asks the gateway to reload; each
later poke reads the stage's window of the prediction log and either keeps waiting for enough
live answers (the worker slot is free meanwhile), moves the canary to its next share, or ends
the stage with its numbers as the task's XCom. Where the stage stands is read back from the
audit history, not kept in XCom: Airflow 3 clears a task's XCom at the start of every
rescheduled poke. Without a gateway the first poke runs the offline replay and ends.

A breach, or a step that does not get its answers within the policy's ``wait_seconds``: the
shadow alias is removed or the canary share set to 0 and its alias removed (the champion is
untouched), the reasons go to the log at error level, to the XCom ``live_decision`` and to the
task note, and the task fails without retries (``AirflowFailException``). The latest decision
of every poke is in ``live_decision`` too, so a waiting stage shows its progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ml_platform_airflow.constants import MODEL_NAME

DECISION_KEY = "live_decision"
STAGES = ("shadow", "canary")


class StagedReleaseSensor(BaseSensorOperator):
    """One release stage of ``version``: ``shadow``, or ``canary`` through the share steps in
    the DAG run's Param ``steps_param``.

    :param stage: ``shadow`` or ``canary``.
    :param version: the version to release (templated; usually the resolving task's XCom).
    :param model_name: registered model name.
    :param steps_param: the run Param holding the canary's traffic steps (percent, rising).
    :param policy_path: policy file; default the settings' ``promotion_policy_path``.
    """

    template_fields: Sequence[str] = ("model_name", "version", "policy_path")
    ui_color = "#e8f5e9"

    def __init__(
        self,
        *,
        stage: str,
        version: Any,
        model_name: str = MODEL_NAME,
        steps_param: str = "canary_steps",
        policy_path: str | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        super().__init__(mode=mode, **kwargs)
        self.stage = stage
        self.version = version
        self.model_name = model_name
        self.steps_param = steps_param
        self.policy_path = policy_path

    def _context(self, context: Any) -> Any:
        from ml_tasks.registry.aliases import ReleaseContext

        return ReleaseContext.airflow(context["dag"].dag_id, context["run_id"])

    def _note(self, context: Any, headline: str, lines: Sequence[str] = ()) -> None:
        from ml_platform_airflow.notes import compose_note, set_task_note

        set_task_note(context["ti"], compose_note(headline, lines), self.log)

    def _fail(self, context: Any, message: str, decision: dict[str, Any]) -> None:
        reasons = list(decision.get("reasons") or [message])
        for reason in reasons:
            self.log.error("%s: %s", self.stage, reason)
        context["ti"].xcom_push(key=DECISION_KEY, value=decision)
        self._note(context, message, reasons)
        raise AirflowFailException(message)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        from ml_tasks.registry.aliases import ModelQuarantined
        from ml_tasks.release import staged
        from ml_tasks.release.live_walk import LiveReleaseBlocked
        from ml_tasks.release.policy import load_policy
        from ml_tasks.release.versions import ReleaseError

        policy = load_policy(self.policy_path) if self.policy_path else None
        release = self._context(context)
        version = str(self.version)
        try:
            if self.stage == "shadow":
                progress = staged.shadow_step(
                    self.model_name, version, context=release, policy=policy
                )
            else:
                steps = [int(p) for p in context["params"][self.steps_param]]
                progress = staged.canary_step(
                    self.model_name, version, steps, context=release, policy=policy
                )
        except LiveReleaseBlocked as err:
            self._fail(context, str(err), err.decision)
            raise  # unreachable: _fail raises
        except (ModelQuarantined, ReleaseError) as err:
            # A quarantined version or an offline-replay breach: a retry would decide the same.
            self._fail(context, str(err), {"stage": self.stage, "reasons": [str(err)]})
            raise
        if progress.decision is not None:
            context["ti"].xcom_push(key=DECISION_KEY, value=progress.decision)
            for line in progress.decision.get("checks") or []:
                log = self.log.info if line.get("passed") else self.log.warning
                log(
                    "%s: %s %s",
                    self.stage,
                    "PASS" if line.get("passed") else "FAIL",
                    line["message"],
                )
        self.log.info("%s: %s", self.stage, progress.message)
        if progress.done:
            self._note(context, progress.message)
            return PokeReturnValue(is_done=True, xcom_value=progress.result)
        return False

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout:
            from ml_tasks.release.live_walk import abort_stage
            from ml_tasks.settings import get_settings

            why = f"the {self.stage} sensor timed out after {self.timeout:.0f} s"
            undone = abort_stage(
                self.model_name,
                str(self.version),
                self.stage,
                context=self._context(context),
                settings=get_settings(),
                why=why,
            )
            self.log.error("%s%s", why, "; stage undone" if undone else "")
            raise
