"""Which manuals export a run indexes: the Param, the triggering event, or the interval."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ml_tasks.search.pipeline import MissingManuals, manuals_snapshot, snapshot_day

NIGHT = datetime(2026, 10, 5, tzinfo=UTC)


def test_param_wins_then_the_newest_event_date_then_the_interval():
    assert snapshot_day("2026-10-02", [{"date": "2026-10-04"}], NIGHT) == date(2026, 10, 2)
    events = [{"date": "2026-10-03"}, {"date": "2026-10-04"}, {}]
    assert snapshot_day(None, events, NIGHT) == date(2026, 10, 4)
    assert snapshot_day(None, [], NIGHT) == date(2026, 10, 5)
    with pytest.raises(ValueError, match="snapshot_date"):
        snapshot_day(None, [{}], None)


def test_a_missing_export_is_a_clear_error(platform_home):
    with pytest.raises(MissingManuals, match="no manuals snapshot for 2026-10-05"):
        manuals_snapshot(date(2026, 10, 5), platform_home)
