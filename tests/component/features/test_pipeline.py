"""Which days a feature run covers, and the whole pipeline in one call."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ml_tasks.features.pipeline import landing_days, plan, refresh


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def test_explicit_days_win_then_asset_events_then_the_data_interval():
    assert landing_days(start="2026-10-03", event_intervals=["2026-10-01"]) == (
        date(2026, 10, 3),
        date(2026, 10, 3),
    )
    assert landing_days(start="2026-10-01", end="2026-10-04") == (
        date(2026, 10, 1),
        date(2026, 10, 4),
    )
    events = ["2026-10-05", "2026-10-03", "2026-10-04", ""]
    assert landing_days(event_intervals=events, interval_start=_at(9)) == (
        date(2026, 10, 3),
        date(2026, 10, 5),
    )
    # A daily data interval [D, D + 1) is landing day D.
    assert landing_days(interval_start=_at(2), interval_end=_at(3)) == (
        date(2026, 10, 2),
        date(2026, 10, 2),
    )
    # A manual run of the asset-scheduled DAG at D + 1 00:00 (zero-length interval) is day D,
    # the convention of the ELT DAG's runs (orchestration.interval_run_time).
    assert landing_days(interval_start=_at(3), interval_end=_at(3)) == (
        date(2026, 10, 2),
        date(2026, 10, 2),
    )
    with pytest.raises(ValueError, match="no days"):
        landing_days()


def test_late_days_are_recomputed_but_never_before_the_data(features_home):
    # The telemetry contract accepts events up to 2 days late.
    assert plan(date(2026, 10, 4), date(2026, 10, 4), features_home) == {
        "landing_start": "2026-10-04",
        "landing_end": "2026-10-04",
        "start": "2026-10-02",
        "end": "2026-10-04",
    }
    assert plan(date(2026, 10, 1), date(2026, 10, 2), features_home)["start"] == "2026-10-01"


def test_refresh_computes_registers_and_materializes(features_home):
    result = refresh(date(2026, 10, 3), date(2026, 10, 4), settings=features_home)
    assert result.days["start"] == "2026-10-01"
    assert result.compute.days == 4
    assert result.register["changed"] is True
    assert result.materialize.online_rows_offered == 3 * 6
    again = refresh(date(2026, 10, 3), date(2026, 10, 4), settings=features_home)
    assert again.register["changed"] is False
