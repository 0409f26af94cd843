"""Every monitoring threshold at its boundary: exactly at it, and one step to either side.

The policy's words: a column drifts at a distance *at or over* its threshold, a slice drifts
when the share of drifted columns is *at or over* ``drift_share``, a quality share breaches
only *over* its limit, and a slice or a day-type reference needs *at least* ``min_rows``. Each
value below is the policy's own float (or integer), so "exactly at" is exact; one step is the
next float (``math.nextafter``) or one row.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ml_tasks.monitoring.drift import SliceDrift, _read_results, match_reference
from ml_tasks.monitoring.quality import SensorQuality, SliceQuality, _findings

UP, DOWN = math.inf, -math.inf


def _slice() -> SliceDrift:
    return SliceDrift("all", 500, 500, "all", evaluated=False, detail=False)


def _value_drift(column: str, score: float, threshold: float) -> dict:
    return {
        "config": {
            "type": "evidently:metric_v2:ValueDrift",
            "column": column,
            "method": "wasserstein",
            "threshold": threshold,
        },
        "value": score,
    }


def _drifted_count(count: int, share: float) -> dict:
    return {
        "config": {"type": "evidently:metric_v2:DriftedColumnsCount"},
        "value": {"count": count, "share": share},
    }


def test_a_column_drifts_at_its_threshold_and_not_one_step_below(policy):
    column = policy.drift.columns[0]
    threshold = policy.drift.threshold_for(column)

    def drifted(score: float) -> bool:
        out = _slice()
        _read_results(
            {"metrics": [_value_drift(column, score, threshold)]}, out, policy, {column}, "p"
        )
        [result] = out.columns
        return result.drifted

    assert drifted(threshold)
    assert drifted(math.nextafter(threshold, UP))
    assert not drifted(math.nextafter(threshold, DOWN))


def test_the_prediction_drifts_at_its_threshold_and_not_one_step_below(policy):
    column, threshold = policy.prediction.column, policy.prediction.threshold

    def drifted(score: float) -> bool:
        out = _slice()
        _read_results(
            {"metrics": [_value_drift(column, score, threshold)]}, out, policy, set(), column
        )
        return out.prediction.drifted

    assert drifted(threshold)
    assert drifted(math.nextafter(threshold, UP))
    assert not drifted(math.nextafter(threshold, DOWN))


def test_a_slice_drifts_at_drift_share_and_not_one_step_below(policy):
    share = policy.drift.drift_share
    columns = set(policy.drift.columns)

    def dataset_drift(value: float) -> bool:
        out = _slice()
        _read_results({"metrics": [_drifted_count(1, value)]}, out, policy, columns, "p")
        return out.dataset_drift

    assert dataset_drift(share)
    assert dataset_drift(math.nextafter(share, UP))
    assert not dataset_drift(math.nextafter(share, DOWN))


@pytest.mark.parametrize("check", ["silent_share", "null_share", "out_of_range_share"])
def test_a_quality_share_breaches_only_over_its_limit(policy, check):
    q = policy.quality
    limit = {
        "silent_share": q.max_silent_share,
        "null_share": q.max_null_share,
        "out_of_range_share": q.max_out_of_range_share,
    }[check]

    def breached(value: float) -> bool:
        shares = {"silent_share": 0.0, "null_share": 0.0, "out_of_range_share": 0.0, check: value}
        sensor = SensorQuality(
            q.sensors[0], shares["null_share"], False, shares["out_of_range_share"], 1000, 0
        )
        figures = SliceQuality("all", 1000, 10, shares["silent_share"], [sensor])
        return any(f["check"] == check for f in _findings(figures, policy))

    assert not breached(limit)
    assert not breached(math.nextafter(limit, DOWN))
    assert breached(math.nextafter(limit, UP))


def test_the_day_type_reference_needs_at_least_min_rows(policy):
    minimum = policy.reference.min_rows
    assert policy.reference.match_day_type

    def matched(weekday_rows: int) -> str:
        reference = pd.DataFrame({"day_type": ["weekday"] * weekday_rows + ["weekend"] * 50})
        _, kind = match_reference(reference, "weekday", policy)
        return kind

    assert matched(minimum) == "weekday"
    assert matched(minimum + 1) == "weekday"
    assert matched(minimum - 1) == "all"  # too few of its day type: the whole reference
