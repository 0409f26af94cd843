"""The demo's live-performance step as ``make run`` runs it, on the serving fixtures' shop floor
(tests/serving_fixtures.py: 2026-10-01..02, work orders curated until the end of 10-02): a second
``python -m ml_tasks serve`` process on the replay store, ``monitor_live_performance`` with
``dag.test()``, the printed table (the champion's live numbers) and the table rows behind it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.release_fixtures import MODEL, set_aliases

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_env(stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db) -> Any:
    """The environment a make-run process would have, on the serving stack's stores (read only)
    with a lake, reports and history of the test's own."""
    from ml_tasks.settings import get_settings

    s = stack.settings
    lake = tmp_path / "lake"
    for table in ("machines", "work_orders"):
        shutil.copytree(Path(s.lake_uri) / table, lake / table)
    for key, value in {
        "MLFLOW_TRACKING_URI": s.mlflow_tracking_uri,
        "MLFLOW_REGISTRY_URI": s.mlflow_registry_uri,
        "PLATFORM_LAKE_URI": str(lake),
        "PLATFORM_OFFLINE_STORE_URI": s.offline_store_uri,
        "PLATFORM_FEATURE_REPO_DIR": str(s.feature_repo_dir),
        "PLATFORM_FEAST_REGISTRY": s.feast_registry,
        "PLATFORM_MANIFEST_PATH": str(s.manifest_path),
        "PLATFORM_REPORTS_DIR": str(tmp_path / "reports"),
        "PLATFORM_RELEASE_HISTORY_URI": str(tmp_path / "history"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PLATFORM_ONLINE_STORE", raising=False)
    set_aliases(stack.registry, champion=stack.registry.better)
    return get_settings()


def test_the_step_prints_the_champions_live_numbers(demo_env: Any, stack: Any, capsys) -> None:
    from ml_platform_demo.steps.live_performance import run_live_performance_demo
    from ml_tasks.monitoring.live_performance import read_rows

    assert run_live_performance_demo(date(2026, 10, 2), demo_env, days=1) == 0
    out = capsys.readouterr().out
    version = stack.registry.better
    assert (
        "replayed 2026-10-01..2026-10-01 through a second gateway: 24 hours x 100 machines" in out
    )
    assert "2026-10-02  monitor_live_performance (judges 2026-10-01)  success" in out
    assert f"2026-10-01  v{version} @champion" in out
    assert "promotion gate:" in out
    [row] = [r for r in read_rows(MODEL, demo_env) if r["slice"] == "all"]
    assert row["day"] == "2026-10-01" and row["model_version"] == version
    assert row["answers"] <= 2400 and row["rows"] > 2000
    print(out)
