"""A range of days through one Monitor: the fixed costs once, every day's records as before."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_tasks.monitoring import store
from ml_tasks.monitoring.pipeline import run_monitoring, run_monitoring_range
from tests.component.monitoring.test_monitoring_pipeline import (  # the same synthetic days
    CLEAN,
    DRIFTED,
    START,
    _FakeChampion,
    offline,  # ruff: ignore[unused-import]  (fixture: 8 clean days, then the drifted one)
)
from tests.monitoring_frames import machine_hours


class _CountingSource(_FakeChampion):
    calls = 0

    def champion(self, model_name):
        type(self).calls += 1
        return super().champion(model_name)


@pytest.fixture
def source(tmp_path):
    training = machine_hours(START, seed=1).rename(columns={"feature_ts": "event_timestamp"})
    folder = tmp_path / "v0007"
    folder.mkdir()
    table = pa.Table.from_pandas(training.drop(columns=["day_type"]), preserve_index=False)
    pq.write_table(table, folder / "data.parquet")
    _CountingSource.calls = 0
    return _CountingSource(folder)


def test_a_range_looks_up_once_and_writes_every_day(offline, policy, source):  # ruff: ignore[redefined-while-unused]
    fast = replace(
        policy,
        reference=replace(policy.reference, start=START),
        reports=replace(policy.reports, html="none"),
    )
    days = [CLEAN, DRIFTED]
    ranged = list(
        run_monitoring_range(
            days,
            run_id=lambda day: f"range__{day}",
            settings=offline,
            policy=fast,
            champion_source=source,
            log_mlflow=False,
        )
    )
    assert source.calls == 1
    rows = {r["interval_start"]: r for r in store.read_rows("failure_model", offline)}
    assert set(rows) == {str(d) for d in days}
    assert rows[str(DRIFTED)]["run_id"] == f"range__{DRIFTED}" and rows[str(DRIFTED)]["breached"]
    for result in ranged:
        assert (offline.reports_dir / "drift" / result.interval).is_dir()

    # Day by day (a fresh look-up and reference each time) gives the same verdicts.
    for day, result in zip(days, ranged, strict=True):
        alone = run_monitoring(
            day, settings=offline, policy=fast, champion_source=source, log_mlflow=False
        )
        keys = ("breached", "kinds", "reasons", "drifted_columns", "share_drifted", "rows")
        assert {k: getattr(alone, k) for k in keys} == {k: getattr(result, k) for k in keys}
