"""
### Train failure_model: XGBoost on Ray Train, registered in MLflow as the `challenger`

Runs nightly, whenever the feature store's offline features change (`features_offline`) and
whenever drift monitoring raises a **drift alarm** (`drift_alarm`, emitted by `monitor_drift` on
feature or prediction drift): the schedule is the asset expression
`features_offline | drift_alarm` or 03:00 UTC.

1. `wait_for_features`: why the run started and its window, then the offline features of the
   window's last day exist (reschedule mode: the run waits quietly, no retry and no alert,
   until `PLATFORM_LANDING_WAIT_SECONDS`, default 6 h, then fails once and alerts once). Params
   `start`/`end` win; a drift-alarm run ends its window on the alarm's day (the day that
   drifted, so the model learns from the data after the shift) and reaches `window_days` back
   from there; otherwise the window is `window_days` days ending the day before the run. The
   trigger goes on as the sensor's XCom; the alarm (day, drifted columns, plants, kinds) is
   recorded in the run's lineage (`training/lineage.json`), its MLflow tags (`trigger.*`) and
   the model card.
2. `build_training_set`: point-in-time-correct training set from the feature store for the
   window; the same window over the same dataset versions gives the same training-set version
   (a retry reuses it).
3. `plan_training`: features, a time-based train/validation split (24 h gap against label
   leakage), the configuration and the **run identity**: the Ray run name derives from this
   DAG run and the training-set version, so a retry finds the run's checkpoints.
4. Train on Ray, by `mode`:
   - `local` (`train_on_ray`): Ray in-process, or the cluster at `RAY_ADDRESS`;
   - `kubernetes`: `create_ray_job` creates a KubeRay RayJob (CPU head on-demand, GPU workers
     on spot, checkpoints in object storage), `wait_for_ray_job` defers until it finishes and
     `delete_ray_job` (teardown) removes it and its cluster whatever happened.
   Checkpoints every `checkpoint_every` rounds; a lost worker restarts from the latest one
   (Ray Train `FailureConfig`), and an Airflow retry resumes from it too. The model ends with
   exactly the requested rounds (or the early-stopping round).
5. `register_model`: parameters, per-round metrics, the training-set and dataset versions, the
   feature service, the code version, a feature-importance plot and the model (signature and
   input example) go to MLflow; a new `failure_model` version gets the alias `challenger` and a
   `model_sha256` tag. The `failure_model_challenger` asset event carries the version.

Manual run: trigger with Params (window, rounds, workers, mode). CLI equivalent:
`python -m ml_tasks train --start 2026-10-01 --end 2026-10-30 --workers 2`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#models](/ml/#models)) shows each version with its aliases, its MLflow run and evaluation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import (
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    PokeReturnValue,
    TriggerRule,
    dag,
    task,
)

from ml_platform_airflow.assets import DRIFT_ALARM, FEATURES_OFFLINE, MODEL_CHALLENGER
from ml_platform_airflow.notes import note_current_task
from ml_platform_airflow.notifiers import PlatformAlertNotifier
from ml_platform_airflow.operators import CreateRayJobOperator, DeleteRayJobOperator
from ml_platform_airflow.resources import executor_config
from ml_platform_airflow.sensors import (
    POKE_INTERVAL_S,
    RayJobSensor,
    landing_wait_seconds,
)


@dag(
    description="Train failure_model (XGBoost on Ray Train); register it as the MLflow challenger",
    # Nightly, as soon as new offline features land (the features DAG's asset), and on a drift
    # alarm (monitor_drift's): either asset's event starts a run.
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
        assets=FEATURES_OFFLINE | DRIFT_ALARM,
    ),
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["training", "ml", "ray", "mlflow"],
    default_args={
        "owner": "platform-ml",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": PlatformAlertNotifier(title="Training failed"),
    },
    params={
        "start": Param(
            None,
            type=["null", "string"],
            format="date",
            title="First day",
            description="First day of the training window (YYYY-MM-DD); empty: end - window_days",
        ),
        "end": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Last day",
            description="Last day of the training window, inclusive; empty: the day before the run",
        ),
        "window_days": Param(
            28, type="integer", minimum=1, title="Window (days)", description="Days to train on"
        ),
        "rounds": Param(
            200,
            type="integer",
            minimum=1,
            maximum=5000,
            title="Boosting rounds",
            description="Upper bound; early stopping may end sooner",
        ),
        "early_stopping_rounds": Param(
            30,
            type="integer",
            minimum=0,
            title="Early stopping patience",
            description="Rounds without validation improvement before stopping; 0: never",
        ),
        "checkpoint_every": Param(
            20,
            type="integer",
            minimum=0,
            title="Checkpoint every N rounds",
            description="Work lost to a failure is at most this many rounds",
        ),
        "workers": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Ray workers",
            description="Empty: PLATFORM_TRAINING_WORKERS (local) or the GPU group's replicas",
        ),
        "mode": Param(
            "auto",
            type="string",
            enum=["auto", "local", "kubernetes"],
            title="Where to train",
            description="local: in-process Ray or RAY_ADDRESS; kubernetes: a KubeRay RayJob;"
            " auto: PLATFORM_TRAINING_MODE",
        ),
    },
    doc_md=__doc__,
)
def train_failure_model() -> None:
    # No retries: the timeout is the only expected failure (one failure, one alert).
    @task.sensor(
        poke_interval=POKE_INTERVAL_S,
        timeout=landing_wait_seconds(),
        mode="reschedule",
        soft_fail=False,
        retries=0,
    )
    def wait_for_features(
        *, params: Any = None, dag_run: Any = None, triggering_asset_events: Any = None
    ) -> PokeReturnValue:
        """Why the run started and its window; wait for the features of the window's last day.

        Returns the trigger (reason, window, drift alarm) as XCom once the features are there.
        """
        from ml_tasks.features.layout import missing_partitions
        from ml_tasks.settings import get_settings
        from ml_tasks.training.trigger import asset_events, resolve_trigger

        trigger = resolve_trigger(
            asset_events(triggering_asset_events),
            start=params["start"],
            end=params["end"],
            window_days=params["window_days"],
            run_after=dag_run.run_after,
            run_type=dag_run.run_type,
        )
        _, last = trigger.window
        if missing_partitions(get_settings(), last, last):
            return PokeReturnValue(is_done=False)
        note_current_task(trigger.describe(), [])
        return PokeReturnValue(is_done=True, xcom_value=trigger.to_dict())

    # The heavy tasks get their own pod size under the KubernetesExecutor ({} under any other).
    @task(multiple_outputs=False, executor_config=executor_config("training"))
    def build_training_set(trigger: dict, *, run_id: Any = None) -> dict:
        """Point-in-time training set for the window; returns its reference (path, version)."""
        from ml_tasks.training.pipeline import build_training_set as build
        from ml_tasks.training.trigger import TrainingTrigger

        start, end = TrainingTrigger.from_dict(trigger).window
        return build(start, end, run_id=run_id).to_dict()

    @task(multiple_outputs=True)
    def plan_training(
        training_set: dict, trigger: dict, *, params: Any = None, run_id: Any = None
    ) -> dict:
        """Resolve features, split, configuration and run identity (and the RayJob)."""
        from ml_tasks.training.pipeline import plan_stage

        return plan_stage(
            training_set,
            run_id=run_id,
            trigger=trigger,
            mode=params["mode"],
            rounds=params["rounds"],
            workers=params["workers"],
            checkpoint_every=params["checkpoint_every"],
            early_stopping_rounds=params["early_stopping_rounds"],
        )

    @task.branch
    def choose_backend(mode: str) -> str:
        """In-process Ray (or RAY_ADDRESS) or a KubeRay RayJob."""
        return "create_ray_job" if mode == "kubernetes" else "train_on_ray"

    @task(
        multiple_outputs=False,
        execution_timeout=timedelta(hours=6),
        executor_config=executor_config("training"),
    )
    def train_on_ray(plan: dict) -> dict:
        """Train or resume on Ray; an Airflow retry continues from the latest checkpoint."""
        from ml_tasks.training.pipeline import train
        from ml_tasks.training.spec import TrainingPlan

        return train(TrainingPlan.from_dict(plan)).summary()

    @task(
        multiple_outputs=False,
        outlets=[MODEL_CHALLENGER],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    def register_model(plan: dict, *, outlet_events: Any = None) -> dict:
        """Log to MLflow, register a failure_model version and alias it challenger."""
        from ml_tasks.training.pipeline import register
        from ml_tasks.training.spec import TrainingPlan

        registered = register(TrainingPlan.from_dict(plan))
        outlet_events[MODEL_CHALLENGER].extra = {
            k: registered[k]
            for k in ("model_name", "version", "alias", "mlflow_run_id", "model_sha256")
        } | {"training_set_version": registered["training_set_version"]}
        return registered

    trigger = wait_for_features()
    training_set = build_training_set(trigger)
    planned = plan_training(training_set, trigger)
    local = train_on_ray(planned["plan"])
    create = CreateRayJobOperator(
        task_id="create_ray_job", body=planned["rayjob"], namespace=planned["namespace"]
    )
    wait = RayJobSensor(
        task_id="wait_for_ray_job",
        name=planned["k8s_name"],
        namespace=planned["namespace"],
        deferrable=True,
        poke_interval=60,
        timeout=6 * 3600,
    )
    delete = DeleteRayJobOperator(
        task_id="delete_ray_job", name=planned["k8s_name"], namespace=planned["namespace"]
    )
    choose_backend(planned["mode"]) >> [local, create]
    create >> wait >> delete.as_teardown(setups=create)
    [local, wait] >> register_model(planned["plan"])


train_failure_model()
