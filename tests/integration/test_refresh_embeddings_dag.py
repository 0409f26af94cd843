"""``refresh_embeddings`` with real Airflow (``dag.test()``), the real model and LanceDB.

Three nights of the generated manual library: a full build, an incremental night that embeds
exactly the chunks that changed, and an export cut short whose green version the gate blocks:
the run fails with the reasons, blue stays live, the alert is posted, and the swap never runs.
What changed is read from the two exports on disk with a plain split of the Markdown written
here, not with the chunker under test nor the generator's own change list.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from ml_platform_demo.orchestration import interval_run_time

pytestmark = pytest.mark.integration

DAY0 = date(2026, 10, 1)
MAX_WORDS = 200  # include/policies/search_index.yaml chunking.max_words


def _sections(folder: Path) -> set[tuple[str, str, str, str]]:
    """(document, title, section, words) of every non-empty section of an export: an H2 line
    starts a section, the text before the first one is the "Overview"; whitespace normalised."""
    out = set()
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")  # these exports hold no corrupt file
        title = re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()
        body = re.sub(r"^# .+$", "", text, count=1, flags=re.MULTILINE)
        parts = re.split(r"^## (.+)$", body, flags=re.MULTILINE)
        named = [("Overview", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
        for name, words in named:
            if words.split():
                out.add((path.stem, title, name.strip(), " ".join(words.split())))
    return out


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
    from ml_tasks.search.index import ManualIndex

    s = platform_home
    write_manuals(s.landing_dir, start=DAY0, days=2, seed=7)
    index = ManualIndex(s)
    day1 = DAY0 + timedelta(days=1)

    run = refresh_dag.test(logical_date=interval_run_time(DAY0))
    assert str(run.state) == "success", _states(run)
    first = index.build(1)
    assert index.live_version() == 1
    sections = {d: _sections(s.landing_dir / "manuals" / f"date={d}") for d in (DAY0, day1)}
    # every section fits in one chunk, so the index holds one row per section
    assert max(len(words.split()) for *_, words in sections[DAY0] | sections[day1]) <= MAX_WORDS
    assert first.rows == len(sections[DAY0])
    assert first.embedded == first.rows and first.reused == 0
    assert first.gate["passed"] and first.gate["quality"]["recall_at_k"] >= 0.85

    run = refresh_dag.test(logical_date=interval_run_time(day1))
    assert str(run.state) == "success", _states(run)
    second = index.build(2)
    assert second.rows == len(sections[day1])
    changed = sections[day1] - sections[DAY0]  # sections edited or added overnight
    assert 0 < second.embedded == len(changed) < first.embedded / 10
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
