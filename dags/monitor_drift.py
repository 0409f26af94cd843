"""
### Drift and data-quality monitoring (Evidently) of one day of features

One run checks **one day** (the run's data interval, UTC) of machine-hour features against the
reference of the model (`failure_model` by default), with the thresholds of
`include/policies/monitoring.yaml`.

**Date rule**: the run for day D has logical date D and data interval [D, D+1), whether the
scheduler, `make run`, `make backfill` or a trigger in the UI/API created it (a trigger for any
time on day D checks day D).

1. `wait_for_features`: the day's offline feature partitions exist (reschedule-mode sensor: the
   run waits quietly, no retry and no alert, until `PLATFORM_LANDING_WAIT_SECONDS`, default 6 h,
   then fails once and alerts once).
2. `check_drift`: reference = a seeded sample of the **champion's training set** (the version
   its registry tags record) scored by the champion; before any champion exists, the first 7
   days of features (fixed window). Current = the day's features, scored by the champion when
   there is one (prediction drift; otherwise reported as not available). Data quality (nulls,
   all-null sensors, silent machines, out-of-range shares, new categories) on every row; feature
   drift (normalised Wasserstein distance per column, dataset drift when >= 10 % of the columns
   drift) for the fleet **and per plant**, on at most 20,000 rows per slice. Evidently HTML and
   JSON go to `PLATFORM_HOME/reports/drift/<day>/`, to an MLflow run (experiment
   `failure_model_monitoring`) and a summary row to the drift table (`<lake>/monitoring_drift`).
3. `raise_alarm`: on a breach, the platform alert (log; webhook when `PLATFORM_ALERT_WEBHOOK` is
   set) through `DriftAlarmNotifier`. Skipped on clean days.
4. `request_retraining`: on feature or prediction drift, an event on the `drift_alarm` asset
   (extra: the day, model version, kinds, reasons and drifted columns per slice), which starts
   `train_failure_model` on a window ending on that day. Skipped otherwise (a data-quality
   breach alerts but does not retrain on broken data).

While the latest monitored day is in breach, `python -m ml_tasks drift --status` reports the
alarm and the promotion gate (the `drift` gate of `promote_model`) stays closed; the first clean
day reopens it.

Reruns and backfills replace the day's reports, MLflow run and drift-table row:
`make backfill FROM=2026-10-01 TO=2026-10-30 DAG=monitor_drift`, or without Airflow
`python -m ml_tasks drift --date 2026-10-24 [--end ...] [--json]`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#monitoring](/ml/#monitoring)) shows drift score per column over time with the alarm days,
each day's Evidently report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from ml_platform_airflow.assets import DRIFT_ALARM, FEATURES_OFFLINE
from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_airflow.notes import note_current_task
from ml_platform_airflow.notifiers import DriftAlarmNotifier, PlatformAlertNotifier
from ml_platform_airflow.resources import executor_config
from ml_platform_airflow.sensors import FeaturePartitionsSensor, landing_wait_seconds
from ml_platform_airflow.timetables import LandingDayTimetable


@dag(
    description="Daily drift and data-quality check (Evidently) against the model's reference",
    # Data-interval schedule: the run for day D starts after D ends and checks day D (logical
    # date D); manual runs follow the same rule (LandingDayTimetable).
    schedule=LandingDayTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    # One writer at a time for the drift table.
    max_active_runs=1,
    tags=["monitoring", "drift", "data-quality", "ml"],
    default_args={
        "owner": "platform-ml",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": PlatformAlertNotifier(title="Drift monitoring failed"),
    },
    params={
        "model_name": Param(
            MODEL_NAME,
            type="string",
            title="Model",
            description="Registered model whose champion gives the reference (and predictions).",
        ),
        "alias": Param(
            "champion",
            type="string",
            enum=["champion", "challenger"],
            title="Reference model alias",
            description="champion: daily monitoring (fixed 7-day window while there is none). "
            "challenger: check a candidate against its own training data (alerts, never "
            "requests retraining; the promotion gate can use it for that version).",
        ),
        "current_sample_rows": Param(
            None,
            type=["null", "integer"],
            minimum=1000,
            title="Rows compared per slice",
            description="Override the policy's current.sample_rows for this run (empty: policy).",
        ),
        "log_to_mlflow": Param(
            True,
            type="boolean",
            title="Log to MLflow",
            description="Log the reports and scores as an MLflow run.",
        ),
    },
    doc_md=__doc__,
)
def monitor_drift() -> None:
    # Inlet so the UI shows the lineage features -> monitoring (the schedule stays daily).
    # Its own pod size under the KubernetesExecutor ({} under any other).
    @task(
        multiple_outputs=False,
        inlets=[FEATURES_OFFLINE],
        executor_config=executor_config("drift"),
    )
    def check_drift(
        *,
        data_interval_start: Any = None,
        dag_run: Any = None,
        run_id: Any = None,
        params: Any = None,
    ) -> dict:
        """Quality and drift of the day; reports, MLflow run and drift-table row."""
        from ml_platform_airflow.intervals import landing_day
        from ml_tasks.monitoring.pipeline import run_monitoring

        result = run_monitoring(
            landing_day(data_interval_start, dag_run),
            model_name=params["model_name"],
            alias=params.get("alias", "champion"),
            current_sample_rows=params.get("current_sample_rows"),
            log_mlflow=bool(params.get("log_to_mlflow", True)),
            run_id=run_id,
        )
        # The verdict (logged by run_monitoring) also as the task's note in the UI.
        note_current_task(result.verdict.headline, result.verdict.lines)
        return result.to_dict()

    @task(
        multiple_outputs=False,
        on_success_callback=DriftAlarmNotifier(title="Monitoring breach"),
    )
    def raise_alarm(summary: dict) -> dict:
        """Alert on a breach (the notifier sends the returned summary); skip a clean day."""
        from airflow.sdk.exceptions import AirflowSkipException

        from ml_tasks.monitoring.results import MonitoringDay

        day = MonitoringDay.from_dict(summary)
        if not day.breached:
            raise AirflowSkipException(f"{day.interval}: no breach")
        return day.to_dict()

    @task(multiple_outputs=False, outlets=[DRIFT_ALARM])
    def request_retraining(summary: dict, *, outlet_events: Any = None) -> dict:
        """Emit the drift_alarm asset event on feature or prediction drift."""
        from airflow.sdk.exceptions import AirflowSkipException

        from ml_tasks.monitoring.results import MonitoringDay

        day = MonitoringDay.from_dict(summary)
        if not day.retrain:
            raise AirflowSkipException(f"{day.interval}: no drift that asks for retraining")
        extra = {
            "interval": day.interval,
            "model_name": day.model_name,
            "model_version": day.model_version,
            "kinds": day.kinds,
            "reasons": day.reasons,
            "drifted_columns": day.drifted_columns,
            "report_dir": day.report_dir,
        }
        outlet_events[DRIFT_ALARM].extra = extra
        return extra

    summary = check_drift()
    # No retries: the timeout is the only expected failure (one failure, one alert).
    features_ready = FeaturePartitionsSensor(
        task_id="wait_for_features", timeout=landing_wait_seconds(), retries=0
    )
    features_ready >> summary
    raise_alarm(summary)
    request_retraining(summary)


monitor_drift()
