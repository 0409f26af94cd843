"""Airflow notifier that raises a platform alert (log always, webhook when configured).

Use it as a callback: ``on_failure_callback=PlatformAlertNotifier(title="ELT failed")``.
The logic lives in :mod:`ml_tasks.alerts`; this class only adapts Airflow's context to it.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier


class PlatformAlertNotifier(BaseNotifier):
    """Send a platform alert for a task or DAG callback."""

    # No template fields: Airflow renders them in place on the instance, which DAG default_args
    # share between tasks, so the first rendering would stick. The context supplies the details.

    def __init__(self, *, title: str) -> None:
        super().__init__()
        self.title = title

    def notify(self, context: Any) -> None:
        from ml_tasks.alerts import alert_payload, send_alert

        ti = context.get("ti") or context.get("task_instance")
        error = context.get("exception")
        interval = context.get("data_interval_start")
        send_alert(
            alert_payload(
                self.title,
                dag_id=getattr(context.get("dag"), "dag_id", None),
                task_id=getattr(ti, "task_id", None),
                run_id=context.get("run_id"),
                error=str(error) if error else None,
                extra={"interval_start": interval.isoformat() if interval else None},
            )
        )
