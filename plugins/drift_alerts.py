"""Airflow notifier for a monitoring breach: the platform alert with the breach's details.

Attach it as ``on_success_callback`` of the task that raises the alarm (it runs only when that
task ran, not when it was skipped). The task's return value (XCom) is the monitoring summary;
the alert carries its interval, model version, reasons and report folder. Logged always, posted
to ``PLATFORM_ALERT_WEBHOOK`` when set (see :mod:`ml_tasks.alerts`).

The title is completed from the summary (``"<title>: <model> <interval>"``) rather than
templated: Airflow renders a notifier's template fields in place, so one notifier object reused
across runs in one process (``dag.test`` loops, the demo) would keep the first run's date.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier


class DriftAlarmNotifier(BaseNotifier):
    """Send a platform alert describing a drift or data-quality breach."""

    template_fields = ()

    def __init__(self, *, title: str) -> None:
        super().__init__()
        self.title = title

    def notify(self, context: Any) -> None:
        from ml_tasks.alerts import alert_payload, send_alert

        ti = context.get("ti") or context.get("task_instance")
        summary = ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None
        summary = summary or {}
        title = f"{self.title}: {summary.get('model_name')} {summary.get('interval')}"
        send_alert(
            alert_payload(
                title,
                dag_id=getattr(context.get("dag"), "dag_id", None),
                task_id=getattr(ti, "task_id", None),
                run_id=context.get("run_id"),
                error=None,
                extra={
                    "kind": "monitoring_breach",
                    "interval": summary.get("interval"),
                    "model_name": summary.get("model_name"),
                    "model_version": summary.get("model_version"),
                    "kinds": summary.get("kinds", []),
                    "reasons": summary.get("reasons", []),
                    "retrain_requested": summary.get("retrain", False),
                    "report_dir": summary.get("report_dir"),
                    "html_reports": summary.get("html_reports", []),
                    "mlflow_run_id": summary.get("mlflow_run_id"),
                },
            )
        )
