"""Airflow sensors of the platform: wait for data, wait for a job, gate a release.

- :class:`LandingDataSensor`: a daily DAG's landing data for its day is complete. The first task
  of a daily DAG: while the day's landing partitions are missing it waits quietly in reschedule
  mode (the task shows ``up_for_reschedule``, the worker slot is free, no retry, no alert); only
  after ``timeout`` (``PLATFORM_LANDING_WAIT_SECONDS``, default 6 h) does it fail, once, and the
  DAG's failure callback raises one alert. "Complete" is defined in
  :mod:`ml_tasks.elt.readiness`::

      # retries=0 explicitly (it beats the DAG's default_args): the only expected failure is
      # the timeout, which Airflow never retries anyway.
      LandingDataSensor(task_id="wait_for_landing", sources=("telemetry", "work_orders"),
                        retries=0)

- :class:`FeaturePartitionsSensor`: the offline feature partitions of the run's data interval
  exist, so the feature store's downstream jobs (monitoring) start when the features of their
  day have been computed, not at a fixed hour. Reschedule mode.
- :class:`PromotionGateSensor`: one gate of :mod:`ml_tasks.release.gates` (``metrics``,
  ``robustness``, ``artifacts`` or ``drift``) on one model version. While the version's
  evaluation is not complete it keeps waiting (reschedule mode) until ``timeout``, then fails
  with "timed out waiting for the evaluation of ..." as its reason. Once the evaluation is there
  it decides at once: "yes" ends the task with the decision (every check with its numbers) as its
  XCom; "no" fails the task without retries (``AirflowFailException``), with each reason (metric,
  challenger value, champion value, threshold) in the log, in the exception, in the XCom
  ``gate_decision`` and in the task note, so no downstream promotion task runs. Either verdict is
  also kept on the model version (tag ``gate.<gate>``).
- :class:`RayJobSensor`: a KubeRay RayJob finished (see :mod:`ml_platform_airflow.operators`).

The logic lives in :mod:`ml_tasks`; these classes adapt it to Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_airflow.hooks import FAILED, SUCCEEDED, RayJobClientMixin, rayjob_state
from ml_platform_airflow.triggers import RayJobTrigger

POKE_INTERVAL_S = 300.0


def landing_wait_seconds() -> float:
    """The sensors' timeout from the platform settings (environment only: cheap at parse)."""
    from ml_tasks.settings import get_settings

    return float(get_settings().landing_wait_seconds)


class LandingDataSensor(BaseSensorOperator):
    """Succeeds when every source in ``sources`` has its landing partition for ``day``
    (default: the run's landing day, :func:`~ml_platform_airflow.timetables.landing_day`)."""

    template_fields: Sequence[str] = ("day",)

    def __init__(
        self,
        *,
        sources: Sequence[str] = ("telemetry", "work_orders"),
        day: str | None = None,
        poke_interval: float = POKE_INTERVAL_S,
        timeout: float | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            poke_interval=poke_interval,
            timeout=landing_wait_seconds() if timeout is None else timeout,
            mode=mode,
            soft_fail=False,
            **kwargs,
        )
        self.sources = tuple(sources)
        self.day = day

    def poke(self, context: Any) -> bool:
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.elt.readiness import missing_landing

        day = (
            date.fromisoformat(str(self.day))
            if self.day
            else landing_day(context.get("data_interval_start"), context.get("dag_run"))
        )
        missing = missing_landing(day, self.sources)
        if missing:
            self.log.info(
                "landing data of %s not complete yet (%s); checking again in %.0f s",
                day,
                ", ".join(missing),
                self.poke_interval,
            )
        return not missing


class FeaturePartitionsSensor(BaseSensorOperator):
    """Succeeds when every feature view has its partition for ``data_interval_start``'s day."""

    def __init__(
        self,
        *,
        poke_interval: float = 300.0,
        timeout: float = timedelta(hours=6).total_seconds(),
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, mode=mode, **kwargs)

    def poke(self, context: Any) -> bool:
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.monitoring.frames import missing_partitions

        day = landing_day(context.get("data_interval_start"), context.get("dag_run"))
        missing = missing_partitions(day)
        if missing:
            self.log.info(
                "features of %s not ready: %d partitions missing, e.g. %s",
                day,
                len(missing),
                missing[0],
            )
        return not missing


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
        model_name: str = MODEL_NAME,
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
        from ml_platform_airflow.notes import compose_note, set_task_note

        set_task_note(context["ti"], compose_note(headline, lines), self.log)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        from ml_tasks.release.gates import decide
        from ml_tasks.release.policy import load_policy

        policy = load_policy(self.policy_path) if self.policy_path else None
        # Recorded on the version too: the rollback rule asks whether it passed every gate.
        decision = decide(self.gate, self.model_name, str(self.version), policy=policy, record=True)
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


class RayJobSensor(RayJobClientMixin, BaseSensorOperator):
    """Wait for a RayJob to finish; fail loudly with its reason when it fails.

    Deferrable by default (:class:`RayJobTrigger`); with ``deferrable=False`` it pokes in the
    sensor mode given (use ``mode="reschedule"``).
    """

    template_fields = ("name", "namespace")
    ui_color = "#e1f5fe"

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        kubernetes_conn_id: str | None = "kubernetes_default",
        config_file: str | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.config_file = config_file
        self.deferrable = deferrable

    def poke(self, context: Any) -> bool:
        state, message = rayjob_state(self.client.get(self.name, self.namespace))
        if state == FAILED:
            raise AirflowException(f"RayJob {self.namespace}/{self.name} failed: {message}")
        self.log.info("RayJob %s/%s: %s", self.namespace, self.name, message)
        return state == SUCCEEDED

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return {"status": SUCCEEDED, "name": self.name}
        from datetime import timedelta

        self.defer(
            trigger=RayJobTrigger(
                name=self.name,
                namespace=self.namespace,
                kubernetes_conn_id=self.kubernetes_conn_id,
                config_file=self.config_file,
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == SUCCEEDED:
            self.log.info("RayJob %s/%s succeeded: %s", self.namespace, self.name, event["message"])
            return event
        raise AirflowException(
            f"RayJob {self.namespace}/{self.name} failed: {event.get('message')}"
        )
