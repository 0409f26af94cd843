"""The demo's shop-floor replay on real engines: a copy of the SQLite online store emptied and fed
hour by hour through Feast's online write, the gateway's HTTP server on it, the prediction log,
then the live-performance job over the replayed day (tests/serving_fixtures.py's shop floor:
150 machines, 2026-10-01..02, curated work orders until the end of 10-02)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.component.serving.test_app_live import running
from tests.release_fixtures import set_aliases

DAY = date(2026, 10, 1)


def test_replayed_day_is_served_hour_by_hour_and_judged(stack: Any, tmp_path: Path) -> None:
    from ml_platform_demo import replay
    from ml_tasks.monitoring.live_performance import evaluate_day
    from ml_tasks.serving.prediction_log import read_predictions

    set_aliases(stack.registry, champion=stack.registry.better)
    settings = dataclasses.replace(
        stack.fresh(tmp_path),
        platform_home=tmp_path / "platform",
        manifest_path=stack.settings.manifest_path,
        reports_dir=tmp_path / "reports",
        predictions_flush_seconds=0.2,
    )
    # The curated tables the labels come from: the stack's lake (read only).
    lake = Path(stack.settings.lake_uri)
    for table in ("machines", "work_orders"):
        shutil.copytree(lake / table, Path(settings.lake_uri) / table)
    live = replay.replay_settings(settings, tmp_path / "replay")
    replay.empty_store(stack.settings, live)
    machines = stack.machines[:20]
    with running(live) as server:
        port = server.servers[0].sockets[0].getsockname()[1]
        done = replay.replay_days(stack.settings, live, [DAY], machines, f"http://127.0.0.1:{port}")
    assert done["answers"] == {200: 24 * len(machines)}
    assert done["feature_rows_written"] > 0

    log = read_predictions(settings).to_pandas()
    assert len(log) == 24 * len(machines)
    # Each hour's answers scored that hour's features: the replay, not the last hour of the data.
    hours = sorted(set(log["feature_ts"]))
    assert hours[0] == datetime(2026, 10, 1, 0, tzinfo=UTC) and len(hours) == 24

    summary = evaluate_day(DAY, settings=settings, log_mlflow=False, write_reports=False)
    assert summary["status"] == "computed", summary
    [row] = summary["versions"]
    assert row["model_version"] == stack.registry.better and row["alias"] == "champion"
    # A machine-hour the training labels leave out (machine down for a repair) is not judged.
    assert summary["answers"] == len(log) and 0 < row["rows"] <= len(log)
    table = replay.format_live_table(summary["versions"])
    assert f"v{stack.registry.better} @champion" in table
