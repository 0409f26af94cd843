"""
### Live model performance from delayed labels

How the served models really did: the gateway's prediction log joined with the failures the
curated work orders show once the label horizon (24 h, `include/policies/monitoring.yaml`,
`live_performance`) has passed.

**Date rule**: the run for landing day D (logical date D, data interval [D, D+1)) evaluates the
machine-hours of **day D-1** (param `lag_days`, default 1): their labels need the work orders of
day D, which the ELT of day D curated. A day whose labels are not all known yet is reported as
*pending* (nothing written, no alarm).

1. `check_live_performance`: per model version and alias that answered (champion, canary...),
   for the fleet and per plant: ROC-AUC and PR-AUC (from `min_positives` failure hours), recall
   and precision of the alert the gateway served, Brier score, calibration (ECE, mean score vs
   positive rate). Repeated requests for the same machine-hour count once. Rows go to the Delta
   table `<lake>/live_performance` (a rerun replaces the day), an Evidently classification report
   to `PLATFORM_HOME/reports/live_performance/<day>/`, the numbers to the MLflow run that
   registered each version (`live_roc_auc`, ... step = the day's ordinal) and the Pushgateway
   when `PLATFORM_PUSHGATEWAY_URL` is set.
2. `raise_alarm`: when the champion's numbers drop past the policy (ROC-AUC more than
   `max_roc_auc_drop` below its offline evaluation, or under `min_roc_auc`), the platform alert
   (log; webhook when `PLATFORM_ALERT_WEBHOOK` is set). Skipped otherwise.
3. `request_retraining`: the same alarm as an event on the `drift_alarm` asset
   (extra `kind: live_performance`), which starts `train_failure_model` on a window ending on the
   evaluated day.

While the latest labelled day is in alarm, the promotion gate (the `drift` gate of
`promote_model`) stays closed; `python -m ml_tasks live-performance --status` says why.

Why a DAG of its own rather than a task of `monitor_drift`: its inputs are the prediction log and
the work orders, not the day's features, and it judges the day before; a late feature partition
must not hold it back, nor its failure mark the drift check failed.

Without Airflow: `python -m ml_tasks live-performance --date 2026-10-24 [--end ...] [--json]`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#monitoring](/ml/#monitoring)) shows live performance per version over time with the alarm
days, each day's report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from ml_platform_airflow.assets import DRIFT_ALARM
from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_airflow.notes import note_current_task
from ml_platform_airflow.notifiers import LivePerformanceAlarmNotifier, PlatformAlertNotifier
from ml_platform_airflow.timetables import LandingDayTimetable


@dag(
    description="Daily live model performance of the served models from delayed labels",
    # Data-interval schedule like monitor_drift: the run for day D starts after D ends.
    schedule=LandingDayTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One writer at a time for the live-performance table.
    max_active_runs=1,
    tags=["monitoring", "live-performance", "ml"],
    default_args={
        "owner": "platform-ml",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": PlatformAlertNotifier(title="Live performance check failed"),
    },
    params={
        "model_name": Param(
            MODEL_NAME, type="string", title="Model", description="Registered model to judge."
        ),
        "lag_days": Param(
            1,
            type="integer",
            minimum=0,
            title="Days back",
            description="Evaluate the machine-hours of the run's day minus this many days "
            "(1: the day whose labels the run's day completed).",
        ),
        "log_to_mlflow": Param(
            True,
            type="boolean",
            title="Log to MLflow",
            description="Log the day's numbers on each version's MLflow run.",
        ),
    },
    doc_md=__doc__,
)
def monitor_live_performance() -> None:
    @task(multiple_outputs=False)
    def check_live_performance(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        run_id: Any = None,
        params: Any = None,
    ) -> dict:
        """The labelled day's live numbers; table rows, report, MLflow metrics."""
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.monitoring.live_performance import evaluate_day, verdict_lines

        lag = timedelta(days=int(params.get("lag_days", 1)))
        day = landing_day(data_interval_start, dag_run) - lag
        summary = evaluate_day(
            day,
            model_name=params["model_name"],
            log_mlflow=bool(params.get("log_to_mlflow", True)),
            run_id=run_id,
        )
        lines = verdict_lines(summary)
        verdict = "ALARM" if summary["in_alarm"] else summary["status"]
        note_current_task(f"live performance {day}: {verdict}", lines)
        return summary

    @task(
        multiple_outputs=False,
        on_success_callback=LivePerformanceAlarmNotifier(title="Live performance drop"),
    )
    def raise_alarm(summary: dict) -> dict:
        """Alert on a drop (the notifier sends the returned summary); skip otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary["in_alarm"]:
            raise AirflowSkipException(f"{summary['day']}: {summary['status']}, no drop")
        return summary

    @task(multiple_outputs=False, outlets=[DRIFT_ALARM])
    def request_retraining(summary: dict, *, outlet_events: Any = None) -> dict:
        """Emit the drift_alarm asset event (kind live_performance) on a drop."""
        from airflow.sdk.exceptions import AirflowSkipException

        from ml_tasks.monitoring.live_performance import alarm_extra

        if not summary["in_alarm"]:
            raise AirflowSkipException(f"{summary['day']}: no drop that asks for retraining")
        extra = alarm_extra(summary)
        outlet_events[DRIFT_ALARM].extra = extra
        return extra

    summary: Any = check_live_performance()
    raise_alarm(summary)
    request_retraining(summary)


monitor_live_performance()
