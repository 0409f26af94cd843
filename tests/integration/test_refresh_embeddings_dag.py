"""``refresh_embeddings`` with real Airflow (``dag.test()``), the real model and LanceDB.

Three nights of the generated manual library: a full build, an incremental night that embeds
exactly the chunks that changed (checked against an independent chunking of both exports), and
an export cut short whose green version the gate blocks: the run fails with the reasons, blue
stays live, the alert is posted, and the swap never runs.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from ml_platform_demo.orchestration import interval_run_time

pytestmark = pytest.mark.integration

DAY0 = date(2026, 10, 1)


def _asset_events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            e.extra
            for e in session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        ]


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.fixture
def refresh_dag(airflow_db):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag("refresh_embeddings")
    for task in dag.tasks:  # dag.test() would wait out the retry delays
        task.retries = 0
    return dag


def test_nightly_refresh_incremental_and_blocked(refresh_dag, platform_home, webhook):
    from ml_platform_airflow.assets import SEARCH_INDEX_LIVE
    from ml_platform_demo.manuals import write_manuals
    from ml_tasks.search import embedder
    from ml_tasks.search.chunking import load_corpus
    from ml_tasks.search.index import ManualIndex

    s = platform_home
    write_manuals(s.landing_dir, start=DAY0, days=2, seed=7)
    index = ManualIndex(s)

    run = refresh_dag.test(logical_date=interval_run_time(DAY0))
    assert str(run.state) == "success", _states(run)
    first = index.build(1)
    assert index.live_version() == 1
    assert first.embedded == first.rows and first.reused == 0
    assert first.gate["passed"] and first.gate["quality"]["recall_at_k"] >= 0.85

    day1 = DAY0 + timedelta(days=1)
    run = refresh_dag.test(logical_date=interval_run_time(day1))
    assert str(run.state) == "success", _states(run)
    second = index.build(2)
    chunks = {
        d: {
            c.chunk_id
            for c in load_corpus(
                s.landing_dir / "manuals" / f"date={d}", model_id=embedder.model_id()
            ).chunks
        }
        for d in (DAY0, day1)
    }
    new_chunks = chunks[day1] - chunks[DAY0]
    assert 0 < second.embedded == len(new_chunks) < first.embedded / 10
    assert second.reused == second.rows - second.embedded
    assert index.alias().version == 2 and index.alias().previous == 1
    extras = _asset_events(SEARCH_INDEX_LIVE.uri)
    assert extras[-1]["live"] == 2 and extras[-1]["previous"] == 1
    assert extras[-1]["interval"] == day1.isoformat()

    # an export cut short: two thirds of the manuals missing
    day2 = day1 + timedelta(days=1)
    folder = s.landing_dir / "manuals" / f"date={day2}"
    shutil.copytree(s.landing_dir / "manuals" / f"date={day1}", folder)
    docs = sorted(folder.glob("*.md"))
    for path in docs[len(docs) // 3 :]:
        path.unlink()
    run = refresh_dag.test(logical_date=interval_run_time(day2))
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["gate_green"] == "failed"
    assert states["swap_live"] == "upstream_failed"
    assert index.live_version() == 2
    assert index.build(3).gate["passed"] is False
    alerts = [a for a in webhook.received if a.get("task_id") == "gate_green"]
    assert alerts and "BLOCKED" in alerts[0]["error"] and "recall@5" in alerts[0]["error"]
    assert len(_asset_events(SEARCH_INDEX_LIVE.uri)) == len(extras)
