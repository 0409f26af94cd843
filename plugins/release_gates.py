"""Promotion gate sensors: wait for a version's evaluation, then decide, loudly.

:class:`PromotionGateSensor` runs one gate of :mod:`ml_tasks.release.gates` (``metrics``,
``robustness``, ``artifacts`` or ``drift``) on one model version:

- while the version's evaluation is not complete it keeps waiting (``mode="reschedule"``: no
  worker slot is held between pokes) until ``timeout``, then fails with "timed out waiting for
  the evaluation of ..." as its reason;
- once the evaluation is there it decides at once. "Yes" ends the task with the decision (every
  check with its numbers) as its XCom; "no" fails the task without retries
  (``AirflowFailException``), with each reason (metric, challenger value, champion value,
  threshold) in the log, in the exception and in the XCom ``gate_decision``, so no downstream
  promotion task runs. Either verdict is also kept on the model version (tag ``gate.<gate>``).

The logic lives in :mod:`ml_tasks.release.gates`; this class adapts it to Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

DECISION_KEY = "gate_decision"


class PromotionGateSensor(BaseSensorOperator):
    """Wait for the evaluation of ``version`` of ``model_name``, then apply ``gate``.

    :param gate: ``metrics``, ``robustness``, ``artifacts`` or ``drift``.
    :param model_name: registered model name.
    :param version: the version to gate (templated; usually the XCom of the task that resolved
        the challenger).
    :param policy_path: policy file; default the settings' ``promotion_policy_path``.
    """

    template_fields = ("model_name", "version", "policy_path")
    ui_color = "#fff3e0"

    def __init__(
        self,
        *,
        gate: str,
        version: Any,
        model_name: str = "failure_model",
        policy_path: str | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(mode=mode, **kwargs)
        self.gate = gate
        self.version = version
        self.model_name = model_name
        self.policy_path = policy_path

    def _push(self, context: Any, decision: dict[str, Any]) -> None:
        context["ti"].xcom_push(key=DECISION_KEY, value=decision)

    def _note(self, context: Any, headline: str, lines: Sequence[str] = ()) -> None:
        # The verdict beside the task in the UI (best effort: it is in the log and XCom too).
        from task_notes import compose_note, set_task_note

        set_task_note(context["ti"], compose_note(headline, lines), self.log)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        from ml_tasks.evaluation.policy import load_policy
        from ml_tasks.release.gates import decide

        policy = load_policy(self.policy_path) if self.policy_path else None
        # Recorded on the version too: the rollback rule asks whether it passed every gate.
        decision = decide(
            self.gate, self.model_name, str(self.version), policy=policy, record=True
        )
        if decision is None:
            self.log.info(
                "gate %s: the evaluation of %s v%s is not complete yet; waiting",
                self.gate,
                self.model_name,
                self.version,
            )
            return False
        for check in decision.checks:
            # FAIL lines at warning level: visible even where task logs are kept at WARNING.
            log = self.log.info if check.passed else self.log.warning
            log("gate %s: %s %s", self.gate, "PASS" if check.passed else "FAIL", check.message)
        result = decision.to_dict()
        self._push(context, result)
        self._note(context, decision.summary(), decision.log_lines())
        if not decision.passed:
            self.log.error("%s", decision.summary())
            raise AirflowFailException(decision.summary())
        self.log.info("%s", decision.summary())
        return PokeReturnValue(is_done=True, xcom_value=result)

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as err:
            reason = (
                f"gate {self.gate}: timed out waiting for the evaluation of {self.model_name} "
                f"v{self.version} after {self.timeout:.0f} s (did evaluate_model run and "
                "succeed for this version?)"
            )
            self._push(
                context,
                {
                    "gate": self.gate,
                    "model_name": self.model_name,
                    "version": str(self.version),
                    "passed": False,
                    "reasons": [reason],
                    "checks": [],
                },
            )
            self.log.error("%s", reason)
            self._note(context, reason)
            raise AirflowSensorTimeout(reason) from err
