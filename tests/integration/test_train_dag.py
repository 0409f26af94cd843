"""The training DAG under real Airflow (dag.test): a failed attempt, a retry that resumes.

The training set comes from the synthetic builder instead of the feature store (the features
DAG has its own integration tests; `make run` chains the two): everything after
``build_training_set`` is the real thing, Ray and MLflow included.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ml_platform_demo.orchestration import interval_run_time

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_cluster")]


@pytest.fixture
def train_dag(airflow_db):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag("train_failure_model")
    # dag.test() waits out retry delays; the retry here should start at once.
    dag.task_dict["train_on_ray"].retry_delay = timedelta(0)
    return dag


@pytest.fixture
def synthetic_features(platform_home, monkeypatch):
    """Stand in for the feature store's training-set builder (same reference shape)."""
    from ml_platform_demo import synthetic_training as synthetic
    from ml_tasks.training import pipeline

    built = []

    def build(start, end, *, run_id, settings=None):
        ref = synthetic.write_training_set(
            platform_home.training_sets_uri + "/v0001/data.parquet",
            12_000,
            machines=30,
            seed=5,
            row_group_size=3_000,
            version="1",
        )
        built.append((start, end, run_id))
        return pipeline.as_ref({**ref.to_dict(), "lineage": {"telemetry": 30, "work_orders": 29}})

    monkeypatch.setattr(pipeline, "build_training_set", build)
    # ... and for the wait_for_features sensor, whose features are these synthetic ones.
    from ml_tasks.features import layout

    monkeypatch.setattr(layout, "missing_partitions", lambda *args, **kwargs: [])
    return built


def test_a_failed_training_attempt_is_retried_and_resumes_from_its_checkpoint(
    train_dag, synthetic_features, platform_home, monkeypatch
):
    monkeypatch.setenv("PLATFORM_RAY_NUM_CPUS", "2")  # the test Ray has two CPUs
    monkeypatch.setenv("PLATFORM_TRAINING_MAX_FAILURES", "0")  # the task fails, Airflow retries
    monkeypatch.setenv("PLATFORM_CHAOS_FAIL_AT_ROUND", "15")
    run = train_dag.test(
        logical_date=interval_run_time(date(2026, 10, 30)),
        run_conf={
            "start": "2026-10-01",
            "end": "2026-10-30",
            "rounds": 30,
            "checkpoint_every": 10,
            "early_stopping_rounds": 0,
            "workers": 1,
            "mode": "local",
        },
    )
    assert str(run.state) == "success"
    assert synthetic_features == [(date(2026, 10, 1), date(2026, 10, 30), run.run_id)]

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = {
            ti.task_id: ti
            for ti in session.query(TaskInstance).filter(TaskInstance.run_id == run.run_id)
        }
        states = {k: str(v.state) for k, v in tis.items()}
        assert tis["train_on_ray"].try_number == 2  # the first try failed after round 15
    assert states["train_on_ray"] == "success" and states["register_model"] == "success"
    assert {states[t] for t in ("create_ray_job", "wait_for_ray_job", "delete_ray_job")} == {
        "skipped"
    }

    from ml_tasks.training import storage

    (result_file,) = (platform_home.platform_home / "ray_results").glob("*/result.json")
    result = storage.read_json(str(result_file))
    assert [a["start_round"] for a in result["attempts"]] == [0, 10]  # resumed, not restarted
    assert result["rounds_trained"] == 30
    assert run.run_id.replace(":", "_").replace("+", "_") in result["run_name"]

    from mlflow import MlflowClient

    client = MlflowClient(platform_home.mlflow_tracking_uri, platform_home.mlflow_registry_uri)
    version = client.get_model_version_by_alias("failure_model", "challenger")
    assert version.tags["airflow_run_id"] == run.run_id
    assert version.tags["training_set.version"] == "1"
    assert version.tags["dataset.telemetry.version"] == "30"

    from airflow.models.asset import AssetEvent, AssetModel

    from ml_platform_airflow.assets import MODEL_CHALLENGER

    with create_session() as session:
        event = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == MODEL_CHALLENGER.uri)
            .order_by(AssetEvent.id.desc())
            .first()
        )
        assert event is not None
        assert event.extra["version"] == str(version.version)
        assert event.extra["model_sha256"] == version.tags["model_sha256"]

    import mlflow

    from ml_tasks.training import data
    from ml_tasks.training.pipeline import load_plan

    plan = load_plan(str(result_file.parent / "plan.json"))
    mlflow.set_registry_uri(platform_home.mlflow_registry_uri)
    model = mlflow.pyfunc.load_model("models:/failure_model@challenger")
    predictions = model.predict(data.input_example(plan.training_set, list(plan.features), 20))
    assert len(predictions) == 20


@pytest.fixture
def drift_alarm_run(monkeypatch):
    """The next ``dag.test()`` run consumes a ``drift_alarm`` event, as a run the scheduler
    creates for the asset would: the event is posted the way the REST API posts one
    (``register_asset_change``) and attached to the run's consumed events."""
    from airflow.models import dagrun

    from ml_platform_airflow.assets import DRIFT_ALARM

    extra = {
        "interval": "2026-10-24",
        "model_name": "failure_model",
        "model_version": "1",
        "kinds": ["feature_drift"],
        "reasons": ["feature drift in plant_id=P2: 30% of columns drifted"],
        "drifted_columns": {"plant_id=P2": ["temperature_c_mean_1h", "power_kw_mean_24h"]},
        "report_dir": "/reports/drift/2026-10-24/failure_model-v1",
    }
    original = dagrun.get_or_create_dagrun

    def with_alarm(**kwargs):
        from airflow.assets.manager import asset_manager
        from airflow.models.asset import AssetModel

        session = kwargs["session"]
        run = original(**kwargs)
        asset = session.query(AssetModel).filter(AssetModel.uri == DRIFT_ALARM.uri).one()
        event = asset_manager.register_asset_change(
            asset=asset, extra=extra, session=session, source_is_api=True, api_user_teams=set()
        )
        run.consumed_asset_events.append(event)
        session.commit()
        return run

    monkeypatch.setattr(dagrun, "get_or_create_dagrun", with_alarm)
    return extra


def test_a_drift_alarm_trains_on_the_window_ending_on_its_day_and_is_recorded(
    train_dag, synthetic_features, drift_alarm_run, platform_home, monkeypatch
):
    monkeypatch.setenv("PLATFORM_RAY_NUM_CPUS", "2")
    run = train_dag.test(
        logical_date=interval_run_time(date(2026, 11, 30)),  # "now": long after the alarm's day
        run_conf={"window_days": 14, "rounds": 5, "early_stopping_rounds": 0, "mode": "local"},
    )
    assert str(run.state) == "success"
    # The window ends on the alarm's day, 14 days back: not the day before the run.
    assert synthetic_features == [(date(2026, 10, 11), date(2026, 10, 24), run.run_id)]

    from mlflow import MlflowClient

    from ml_tasks.registry.models import get_version

    client = MlflowClient(platform_home.mlflow_tracking_uri, platform_home.mlflow_registry_uri)
    version = client.get_model_version_by_alias("failure_model", "challenger")
    tags = version.tags
    assert tags["trigger.reason"] == "drift_alarm"
    assert tags["trigger.window"] == "2026-10-11..2026-10-24"
    assert (tags["trigger.alarm.day"], tags["trigger.alarm.plants"]) == ("2026-10-24", "P2")
    assert tags["trigger.alarm.columns"] == "power_kw_mean_24h,temperature_c_mean_1h"
    assert tags["trigger.alarm.kinds"] == "feature_drift"
    lineage = get_version("failure_model", version.version, settings=platform_home).lineage
    [alarm] = lineage["trigger"]["alarms"]
    assert alarm["slices"] == ["plant_id=P2"] and alarm["model_version"] == "1"
    assert lineage["trigger"]["description"].startswith("drift alarm of 2026-10-24")
