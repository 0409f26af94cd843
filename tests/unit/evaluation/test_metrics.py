"""Metrics on tiny, hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pytest

from ml_tasks.evaluation import metrics


def test_recall_at_budget_flags_the_top_share_of_each_hour():
    # Two hours, 10 machines each; budget 20 % -> 2 flagged per hour.
    groups = np.repeat([0, 1], 10)
    scores = np.tile(np.linspace(0.0, 0.9, 10), 2)
    y = np.zeros(20)
    y[[9, 8, 0]] = 1  # hour 0: the two top-scored fail, and the lowest-scored one
    y[[15]] = 1  # hour 1: a middle one fails (not flagged)
    flags = metrics.budget_flags(scores, groups, 0.2)
    assert flags.sum() == 4 and flags[[8, 9, 18, 19]].all()
    result = metrics.at_budget(y, scores, groups, 0.2)
    assert result["recall_at_budget"] == pytest.approx(2 / 4)
    assert result["precision_at_budget"] == pytest.approx(2 / 4)


def test_budget_rounds_up_to_at_least_one_machine():
    flags = metrics.budget_flags(np.array([0.1, 0.5, 0.2]), np.zeros(3), 0.01)
    assert flags.tolist() == [False, True, False]


def test_alert_threshold_cuts_the_budget_share_of_the_scores():
    scores = np.linspace(0.0, 1.0, 1001)
    threshold = metrics.alert_threshold(scores, 0.05)
    assert threshold == pytest.approx(0.95)
    assert (scores >= threshold).mean() == pytest.approx(0.05, abs=0.002)
    assert metrics.alert_threshold(np.array([0.2, np.nan]), 0.5) == pytest.approx(0.2)
    assert metrics.alert_threshold(np.array([]), 0.05) is None


def test_calibration_error_is_zero_when_calibrated_and_large_when_not():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(float)
    assert metrics.calibration(y, p)["ece"] < 0.01
    assert metrics.calibration(y, np.clip(p * 0.3, 0, 1))["ece"] > 0.2


def test_undefined_metrics_are_none_not_nan():
    y = np.zeros(5)
    p = np.linspace(0, 1, 5)
    assert metrics.roc_auc(y, p) is None
    assert metrics.pr_auc(y, p) is None
    out = metrics.classification_metrics(y, p, np.zeros(5), budget=0.2, bins=5)
    assert out["recall_at_budget"] is None and out["brier"] == pytest.approx(np.mean(p**2))


def test_small_slices_are_skipped_with_the_reason():
    y = np.array([0, 1] * 50 + [0, 1, 0])
    p = np.where(y == 1, 0.8, 0.2).astype(float)
    slices = np.array(["P1"] * 100 + ["P2"] * 3)
    out = metrics.slice_metrics(
        y, p, np.zeros(103), slices, budget=0.5, bins=5, min_rows=50, min_positives=5
    )
    assert out["P1"]["roc_auc"] == pytest.approx(1.0)
    assert "skipped" in out["P2"] and "3 rows" in out["P2"]["skipped"]
    assert metrics.worst_slice(out, "roc_auc") == ("P1", pytest.approx(1.0))


def test_non_finite_scores_are_an_error():
    with pytest.raises(ValueError, match="not finite"):
        metrics.brier(np.array([0, 1]), np.array([0.1, np.nan]))
