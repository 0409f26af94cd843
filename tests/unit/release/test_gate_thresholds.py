"""Every gate threshold, pinned at its boundary: exactly at it, and one step to either side.

The gate tests on trained models sit far from every threshold, so turning ``<=`` into ``<`` (or
``>=`` into ``>``) would pass them. Here each bound of the shipped promotion policy is hit
exactly: the challenger's value *is* the bound (``min``, ``max``, ``max_drop``), or the champion
and challenger are chosen so that the regression the gate computes, in the same float
operations, equals the tolerance. "One step" is the next float (``math.nextafter``) or the next
integer. The policy says "at least" and "at most", so a value exactly at a bound passes.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import pytest

from ml_tasks.release import gates
from ml_tasks.release.policy import MetricRule, load_policy

POLICY = load_policy()
UP, DOWN = math.inf, -math.inf


def _bounds(kind: str) -> list[MetricRule]:
    return [r for r in POLICY.gates.metrics if getattr(r, kind) is not None]


def _only(checks: list[gates.Check], rule: str) -> gates.Check:
    [check] = [c for c in checks if c.rule == rule]
    return check


def _rule(rule: MetricRule, **bounds: float) -> MetricRule:
    """``rule`` (its metric and direction) with only the given bounds."""
    return MetricRule(rule.metric, **bounds)


ABSOLUTE = [("min", r) for r in _bounds("min")] + [("max", r) for r in _bounds("max")]


@pytest.mark.parametrize(
    ("kind", "rule"), ABSOLUTE, ids=lambda x: x if isinstance(x, str) else x.metric
)
def test_an_absolute_bound_holds_at_the_bound_and_fails_one_step_beyond(kind, rule):
    bound = getattr(rule, kind)
    inside, outside = (UP, DOWN) if kind == "min" else (DOWN, UP)
    only = _rule(rule, **{kind: bound})

    def check(value: float) -> gates.Check:
        return _only(gates.metric_checks(only, value, None), kind)

    assert check(bound).passed, check(bound).message
    assert check(math.nextafter(bound, inside)).passed
    beyond = check(math.nextafter(bound, outside))
    assert not beyond.passed
    assert ("< minimum" if kind == "min" else "> maximum") in beyond.message


def _regression_case(rule: MetricRule, tolerance: float) -> tuple[float, float, float]:
    """(champion, challenger, regression): the challenger worse by about ``tolerance``, and the
    regression as the gate computes it (a plain float subtraction, exact here: both values lie
    within a factor two of each other)."""
    if rule.higher_is_better:
        champion = 0.8125
        challenger = champion - tolerance
        return champion, challenger, champion - challenger
    champion = 0.0625 if rule.metric != "scoring_cpu_ms" else 4.0
    challenger = champion + tolerance
    return champion, challenger, challenger - champion


def _worse(rule: MetricRule, value: float) -> float:
    """One float step worse for the challenger's metric."""
    return math.nextafter(value, DOWN if rule.higher_is_better else UP)


def _better(rule: MetricRule, value: float) -> float:
    return math.nextafter(value, UP if rule.higher_is_better else DOWN)


def _assert_regression_boundary(
    rule: MetricRule, kind: str, challenger: float, champion: float
) -> None:
    """``challenger`` sits exactly at the tolerated regression: it passes, one float step
    better passes, one float step worse fails."""
    at = _only(gates.metric_checks(rule, challenger, champion), kind)
    assert at.passed, at.message
    assert _only(gates.metric_checks(rule, _better(rule, challenger), champion), kind).passed
    worse = _only(gates.metric_checks(rule, _worse(rule, challenger), champion), kind)
    assert not worse.passed and f"> {kind}" in worse.message


@pytest.mark.parametrize("rule", _bounds("max_regression_abs"), ids=lambda r: r.metric)
def test_the_absolute_regression_holds_at_the_tolerance_and_fails_one_step_beyond(rule):
    champion, challenger, regression = _regression_case(rule, rule.max_regression_abs)
    # The tolerance, as the float regression it becomes (equal to the policy's up to one ulp).
    assert math.isclose(regression, rule.max_regression_abs, rel_tol=1e-12)
    tolerance = _rule(rule, max_regression_abs=regression)

    _assert_regression_boundary(tolerance, "max_regression_abs", challenger, champion)


@pytest.mark.parametrize("rule", _bounds("max_regression_rel"), ids=lambda r: r.metric)
def test_the_relative_regression_holds_at_the_tolerance_and_fails_one_step_beyond(rule):
    # Dyadic numbers (exact in binary and in decimal): 0.125 x |0.75| = 0.09375 exactly, and
    # 0.75 - 0.65625 = 0.09375 exactly. The policy's own values have no exact boundary pair.
    relative, champion = 0.125, 0.75
    allowed = relative * abs(champion)
    challenger = champion - allowed if rule.higher_is_better else champion + allowed
    assert Fraction(allowed) == Fraction(3, 32)  # exact: no rounding anywhere
    assert Fraction(challenger) in (Fraction(21, 32), Fraction(27, 32))
    tolerance = _rule(rule, max_regression_rel=relative)

    _assert_regression_boundary(tolerance, "max_regression_rel", challenger, champion)


def test_lower_is_better_metrics_regress_upwards():
    """Brier: a higher challenger is the regression, a lower one an improvement."""
    rule = MetricRule("brier", max_regression_abs=0.0)
    assert _only(gates.metric_checks(rule, 0.0625, 0.0625), "max_regression_abs").passed
    assert _only(gates.metric_checks(rule, 0.0, 0.0625), "max_regression_abs").passed
    assert not _only(gates.metric_checks(rule, 0.125, 0.0625), "max_regression_abs").passed


def _evaluation(rows: int, positives: int) -> dict:
    return {
        "version": "2",
        "champion": {"version": "1"},
        "holdout": {"rows": rows, "positives": positives},
        "metrics": {"challenger": {}, "champion": {}},
        "errors": {},
    }


@pytest.mark.parametrize(
    ("metric", "minimum"),
    [
        ("holdout_rows", POLICY.evaluation.min_holdout_rows),
        ("holdout_positives", POLICY.evaluation.min_holdout_positives),
    ],
)
def test_the_holdout_minimums_hold_at_the_bound_and_fail_one_below(metric, minimum):
    policy = dataclasses.replace(POLICY, gates=dataclasses.replace(POLICY.gates, metrics=()))
    ev = POLICY.evaluation
    big = {
        "holdout_rows": ev.min_holdout_rows + 10,
        "holdout_positives": ev.min_holdout_positives + 10,
    }

    def check(value: int) -> gates.Check:
        sizes = {**big, metric: value}
        evaluation = _evaluation(sizes["holdout_rows"], sizes["holdout_positives"])
        checks = gates.metrics_gate(evaluation, policy, "1")
        [found] = [c for c in checks if c.metric == metric]
        return found

    assert check(minimum).passed, check(minimum).message
    assert check(minimum + 1).passed
    below = check(minimum - 1)
    assert not below.passed and "too little holdout" in below.message


def _robustness(perturbation: str, drop: float, upper: float) -> dict:
    result = {"case": "x", "drop": drop, "ci": [drop - 0.25, upper]}
    return {"robustness": {"metric": "roc_auc", "summary": {perturbation: result}}}


@pytest.mark.parametrize("statistic", ["point", "upper_ci"])
@pytest.mark.parametrize("rule", POLICY.gates.robustness, ids=lambda r: r.perturbation)
def test_a_robustness_drop_holds_at_max_drop_and_fails_one_step_above(rule, statistic):
    policy = dataclasses.replace(
        POLICY,
        robustness=dataclasses.replace(POLICY.robustness, statistic=statistic),
        gates=dataclasses.replace(POLICY.gates, robustness=(rule,)),
    )

    def check(value: float) -> gates.Check:
        # The statistic the gate does not read sits far on the failing side: only the one it
        # reads decides.
        drop, upper = (value, 1.0) if statistic == "point" else (1.0, value)
        [found] = gates.robustness_gate(_robustness(rule.perturbation, drop, upper), policy)
        return found

    assert check(rule.max_drop).passed, check(rule.max_drop).message
    assert check(math.nextafter(rule.max_drop, DOWN)).passed
    above = check(math.nextafter(rule.max_drop, UP))
    assert not above.passed and "> max_drop" in above.message


@pytest.mark.parametrize("kind", ["rows", "positives"])
def test_a_slice_is_evaluated_from_its_minimum_size_and_skipped_one_below(kind):
    """The evaluation policy's ``min_slice_rows`` / ``min_slice_positives`` (slice metrics)."""
    import numpy as np

    from ml_tasks.evaluation.metrics import slice_metrics

    ev = POLICY.evaluation
    rows, positives = ev.min_slice_rows + 20, ev.min_slice_positives + 5

    def skipped(n_rows: int, n_positives: int) -> bool:
        y = np.zeros(n_rows, dtype=int)
        y[:n_positives] = 1
        p = np.linspace(0.01, 0.99, n_rows)
        groups = np.arange(n_rows) // 10
        out = slice_metrics(
            y,
            p,
            groups,
            np.full(n_rows, "P1"),
            budget=ev.alert_budget,
            bins=ev.calibration_bins,
            min_rows=ev.min_slice_rows,
            min_positives=ev.min_slice_positives,
        )
        return "skipped" in out["P1"]

    if kind == "rows":
        assert not skipped(ev.min_slice_rows, positives)
        assert not skipped(ev.min_slice_rows + 1, positives)
        assert skipped(ev.min_slice_rows - 1, positives)
    else:
        assert not skipped(rows, ev.min_slice_positives)
        assert not skipped(rows, ev.min_slice_positives + 1)
        assert skipped(rows, ev.min_slice_positives - 1)
