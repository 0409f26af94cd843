"""``features_materialize`` under real Airflow (dag.test) after the ELT DAG."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from ml_platform_demo.generate import generate
from ml_platform_demo.orchestration import as_of_run_time, interval_run_time

pytestmark = pytest.mark.integration

START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(3)]


@pytest.fixture(scope="module")
def features_dag(airflow_db):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag("features_materialize")
    for task in dag.tasks:
        task.retries = 0
    return dag


def _state(dag, day, conf=None) -> str:
    """A manual run that covers landing ``day``: the daily ELT's run for ``day`` (logical date
    ``day``), or the asset-scheduled features DAG's run as of the end of ``day``."""
    at = interval_run_time(day) if dag.dag_id == "elt_telemetry" else as_of_run_time(day)
    return str(dag.test(logical_date=at, run_conf=conf).state)


def _online_matches_offline(s) -> None:
    from ml_tasks.features.layout import feature_rows
    from ml_tasks.features.online import OnlineFeatureReader

    online = OnlineFeatureReader.from_settings(s)
    for view in ("telemetry_stats", "maintenance_history", "machine_attributes"):
        rows = feature_rows(s, view, DAYS[0], DAYS[-1]).to_pandas().sort_values("feature_ts")
        latest = rows.groupby("machine_id").tail(1)
        got = online.get(list(latest["machine_id"]))
        for record in latest.to_dict("records"):
            values = got[record["machine_id"]]
            for name, value in record.items():
                if name in ("machine_id", "feature_ts"):
                    continue
                if isinstance(value, float) and math.isnan(value):
                    assert values[name] is None, name
                else:
                    assert values[name] == value, (view, record["machine_id"], name)


def test_features_follow_the_elt_and_survive_reruns_and_backfills(
    elt_dag, features_dag, platform_home, capfd
):
    s = platform_home
    generate(START, 3, 6, seed=5, bad_rate=0.02, interval_minutes=30, landing_dir=s.landing_dir)
    # A day whose curated input is missing fails, naming the partition (nothing curated yet).
    assert _state(features_dag, DAYS[0]) == "failed"
    output = capfd.readouterr()
    assert "telemetry partition event_date=2026-10-01" in output.out + output.err

    for day in DAYS:
        assert _state(elt_dag, day) == "success"
        assert _state(features_dag, day) == "success"
    _online_matches_offline(s)

    from ml_tasks.elt import manifest

    latest = manifest.latest(s.manifest_path)
    assert latest["features_telemetry_stats"].interval_end == "2026-10-04"
    assert latest["features_telemetry_stats"].stats["inputs"]["telemetry"] >= 2

    # Rerun of the newest day, then a backfill of the first day through the trigger Params.
    assert _state(features_dag, DAYS[-1]) == "success"
    assert _state(features_dag, DAYS[-1] + timedelta(days=5), {"start": "2026-10-01"}) == "success"
    _online_matches_offline(s)

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == "feast://predictive_maintenance/online")
            .all()
        )
        extras = [e.extra for e in events]
    assert {"start", "end", "online_store"} <= set(extras[-1])
    assert extras[-1]["start"] == "2026-10-01" and extras[-1]["online_store"] == "sqlite"
