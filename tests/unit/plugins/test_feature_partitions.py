"""The features-ready sensor pokes False until every view has the day's partition."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from ml_tasks.features.layout import VIEWS, write_partition

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "feature_partitions.py"


def test_pokes_until_every_view_has_the_days_partition(platform_home):
    spec = importlib.util.spec_from_file_location("feature_partitions", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sensor = module.FeaturePartitionsSensor(task_id="wait")
    assert sensor.mode == "reschedule"
    context = {"data_interval_start": datetime(2026, 10, 5, tzinfo=UTC)}
    table = pa.table({"machine_id": ["M-0001"]})
    for view in VIEWS:
        assert sensor.poke(context) is False
        write_partition(platform_home, view, date(2026, 10, 5), table)
    assert sensor.poke(context) is True
