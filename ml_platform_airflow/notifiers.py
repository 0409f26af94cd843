"""Airflow notifiers that raise platform alerts (log always, webhook when configured).

The logic lives in :mod:`ml_tasks.alerts`; these classes only adapt Airflow's context to it.

- :class:`PlatformAlertNotifier`, a failure callback:
  ``on_failure_callback=PlatformAlertNotifier(title="ELT failed")``.
- :class:`DriftAlarmNotifier`, for a monitoring breach: attach it as ``on_success_callback`` of
  the task that raises the alarm (it runs only when that task ran, not when it was skipped). The
  task's return value (XCom) is the day's monitoring result
  (:meth:`ml_tasks.monitoring.results.MonitoringDay.to_dict`); the alert carries its interval,
  model version, reasons and report folder. Posted to ``PLATFORM_ALERT_WEBHOOK`` when set.
- :class:`LivePerformanceAlarmNotifier`, the same for a drop of the champion's live performance
  (``monitor_live_performance``).

None has template fields: Airflow renders them in place on the instance, which DAG
default_args share between tasks and which ``dag.test`` loops (the demo) reuse across runs, so
the first rendering would stick. The context supplies the details instead (the drift alert's
title is completed from the summary: ``"<title>: <model> <interval>"``).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from ml_tasks.monitoring.results import MonitoringDay


def _task_instance(context: Any) -> Any:
    return context.get("ti") or context.get("task_instance")


def _send(context: Any, title: str, *, error: str | None, extra: dict[str, Any]) -> None:
    """One platform alert for the callback's DAG run and task."""
    from ml_tasks.alerts import alert_payload, send_alert

    send_alert(
        alert_payload(
            title,
            dag_id=getattr(context.get("dag"), "dag_id", None),
            task_id=getattr(_task_instance(context), "task_id", None),
            run_id=context.get("run_id"),
            error=error,
            extra=extra,
        )
    )


class PlatformAlertNotifier(BaseNotifier):
    """Send a platform alert for a task or DAG callback."""

    template_fields = ()

    def __init__(self, *, title: str) -> None:
        super().__init__()
        self.title = title

    def notify(self, context: Any) -> None:
        error = context.get("exception")
        interval = context.get("data_interval_start")
        _send(
            context,
            self.title,
            error=str(error) if error else None,
            extra={"interval_start": interval.isoformat() if interval else None},
        )


class DriftAlarmNotifier(PlatformAlertNotifier):
    """Send a platform alert describing a drift or data-quality breach."""

    def notify(self, context: Any) -> None:
        ti = _task_instance(context)
        summary = ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None
        fields = _breach_fields(MonitoringDay.from_dict(summary) if summary else None)
        _send(
            context,
            f"{self.title}: {fields['model_name']} {fields['interval']}",
            error=None,
            extra={"kind": "monitoring_breach", **fields},
        )


class LivePerformanceAlarmNotifier(PlatformAlertNotifier):
    """Send a platform alert for a live-performance drop: attach it as ``on_success_callback``
    of the task that raises the alarm; its return value (XCom) is the day's summary
    (:func:`ml_tasks.monitoring.live_performance.evaluate_day`)."""

    def notify(self, context: Any) -> None:
        ti = _task_instance(context)
        summary = (ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None) or {}
        _send(
            context,
            f"{self.title}: {summary.get('model_name')} {summary.get('day')}",
            error=None,
            extra={
                "kind": "live_performance",
                "interval": summary.get("day"),
                "model_name": summary.get("model_name"),
                "model_version": summary.get("champion_version"),
                "reasons": summary.get("reasons") or [],
                "report_paths": summary.get("report_paths") or [],
                "mlflow_runs": summary.get("mlflow_runs") or [],
            },
        )


def _breach_fields(day: MonitoringDay | None) -> dict[str, Any]:
    """What a breach alert says of the day (empty when the task returned nothing)."""
    if day is None:
        return {
            "interval": None,
            "model_name": None,
            "model_version": None,
            "kinds": [],
            "reasons": [],
            "retrain_requested": False,
            "report_dir": None,
            "html_reports": [],
            "mlflow_run_id": None,
        }
    return {
        "interval": day.interval,
        "model_name": day.model_name,
        "model_version": day.model_version,
        "kinds": day.kinds,
        "reasons": day.reasons,
        "retrain_requested": day.retrain,
        "report_dir": day.report_dir,
        "html_reports": day.html_reports,
        "mlflow_run_id": day.mlflow_run_id,
    }
