"""The training DAG's shape: schedule, Params, the two backends, setup/teardown, the outlet."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / "train_failure_model.py"))
    assert bag.import_errors == {}
    return bag.dags["train_failure_model"]


def test_nightly_and_on_new_offline_features(dag):
    from airflow.sdk import AssetOrTimeSchedule

    from ml_platform_airflow.assets import FEATURES_OFFLINE

    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable.expression == "0 3 * * *"
    assert FEATURES_OFFLINE.uri in repr(dag.timetable.asset_condition)
    assert dag.max_active_runs == 1 and not dag.catchup


def test_a_drift_alarm_or_new_features_start_a_run(dag):
    """Either asset's event is enough: an AssetAny, not the AssetAll a list would make."""
    from airflow.sdk import AssetAny

    from ml_platform_airflow.assets import DRIFT_ALARM, FEATURES_OFFLINE

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert {a.name for a in condition.objects} == {FEATURES_OFFLINE.name, DRIFT_ALARM.name}
    # The sensor resolves the trigger and its window: the build and the plan read its XCom.
    t = dag.task_dict
    assert t["wait_for_features"].downstream_task_ids == {"build_training_set", "plan_training"}


def test_manual_runs_have_typed_params(dag):
    params = dag.params
    assert {"start", "end", "window_days", "rounds", "workers", "mode", "checkpoint_every"} <= set(
        params
    )
    assert params.get_param("mode").schema["enum"] == ["auto", "local", "kubernetes"]
    assert params["rounds"] == 200 and params["start"] is None
    for name in params:
        assert params.get_param(name).schema.get("title"), f"{name} has no title"


def test_train_locally_or_on_kuberay_then_register(dag):
    from airflow.sdk import TriggerRule

    from ml_platform_airflow.assets import MODEL_CHALLENGER

    t = dag.task_dict
    assert t["build_training_set"].downstream_task_ids == {"plan_training"}
    assert t["choose_backend"].downstream_task_ids == {"train_on_ray", "create_ray_job"}
    assert t["create_ray_job"].is_setup and t["delete_ray_job"].is_teardown
    assert t["wait_for_ray_job"].upstream_task_ids == {"create_ray_job", "plan_training"}
    assert t["delete_ray_job"].upstream_task_ids >= {"create_ray_job", "wait_for_ray_job"}
    assert t["wait_for_ray_job"].deferrable
    register = t["register_model"]
    assert register.upstream_task_ids >= {"train_on_ray", "wait_for_ray_job"}
    assert register.trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert register.outlets == [MODEL_CHALLENGER]
    assert t["train_on_ray"].retries >= 1  # a retry resumes from the checkpoint
