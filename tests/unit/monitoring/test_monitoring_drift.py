"""Evidently drift per slice: the shifted plant and columns are found, clean data is not."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml_tasks.monitoring.drift import compare_slice, match_reference
from tests.monitoring_frames import days, machine_hours

DAY = date(2026, 10, 8)  # a Thursday


def _compare(current, reference, policy, **kwargs):
    args = {"current_day_type": "weekday", "with_prediction": False, "detail": True}
    return compare_slice("plant_id=P2", current, reference, policy, **{**args, **kwargs})


def test_shifted_plant_is_flagged_on_the_shifted_columns_only(policy):
    reference = days(date(2026, 10, 1), 5)
    current = machine_hours(DAY, seed=99, shift={("P2", "pressure_bar"): 2.5})
    p2, snapshot = _compare(
        current[current.plant_id == "P2"], reference[reference.plant_id == "P2"], policy
    )
    assert p2.evaluated and p2.dataset_drift
    assert p2.drifted_columns == [
        "pressure_bar_mean_1h",
        "pressure_bar_min_1h",
        "pressure_bar_max_1h",
    ]
    assert p2.drifted_count == 3 and p2.share == pytest.approx(3 / 20)
    scores = {c.column: c for c in p2.columns}
    assert scores["pressure_bar_mean_1h"].method == "wasserstein"
    assert scores["pressure_bar_mean_1h"].score >= 0.2
    assert type(scores["pressure_bar_mean_1h"].score) is float  # not a numpy float
    assert "pressure_bar_mean_1h" in snapshot.json()

    p1, _ = _compare(
        current[current.plant_id == "P1"], reference[reference.plant_id == "P1"], policy
    )
    assert p1.evaluated and not p1.dataset_drift and p1.drifted_columns == []


def test_screen_counts_like_the_full_report_without_per_column_charts(policy):
    reference = days(date(2026, 10, 1), 5)
    current = machine_hours(DAY, seed=99, shift={("P2", "pressure_bar"): 2.5})
    current, reference = current[current.plant_id == "P2"], reference[reference.plant_id == "P2"]
    screen, _ = _compare(current, reference, policy, detail=False)
    full, _ = _compare(current, reference, policy, detail=True)
    assert (screen.drifted_count, screen.dataset_drift) == (3, True)
    assert screen.share == pytest.approx(0.15)
    assert screen.columns == [] and not screen.detail
    assert (full.drifted_count, full.share) == (screen.drifted_count, screen.share)


def test_all_null_column_is_skipped_not_a_crash(policy):
    reference = days(date(2026, 10, 1), 3)
    current = machine_hours(DAY, seed=99)
    current["pressure_bar_mean_1h"] = np.nan
    result, _ = _compare(current, reference, policy, detail=False)
    assert result.evaluated
    assert result.not_compared == {"pressure_bar_mean_1h": "no values in the current interval"}


def test_reference_matches_the_day_type_when_it_has_enough_rows(policy):
    reference = days(date(2026, 10, 1), 7)  # Thu..Wed: 2 weekend days
    weekend, kind = match_reference(reference, "weekend", policy)
    assert kind == "weekend" and set(weekend["day_type"]) == {"weekend"}
    tiny = reference[reference["day_type"] == "weekday"].head(policy.reference.min_rows + 5)
    tiny = pd.concat([tiny, reference[reference["day_type"] == "weekend"].head(10)])
    fallback, kind = match_reference(tiny, "weekend", policy)
    assert kind == "all" and len(fallback) == len(tiny)


def test_too_few_rows_are_not_compared(policy):
    current = machine_hours(DAY).head(50)
    result, snapshot = _compare(current, days(date(2026, 10, 1), 2), policy)
    assert not result.evaluated and snapshot is None
    assert "too few rows" in result.skipped_reason
