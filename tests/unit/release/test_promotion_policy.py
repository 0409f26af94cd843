"""The promotion policy file: loads, validates, and rejects what it does not understand."""

from __future__ import annotations

import pytest
import yaml

from ml_tasks.release.policy import (
    METRIC_DIRECTIONS,
    PolicyError,
    load_policy,
    parse_policy,
)
from ml_tasks.settings import REPO_ROOT

POLICY = REPO_ROOT / "include" / "policies" / "promotion.yaml"


def raw() -> dict:
    return yaml.safe_load(POLICY.read_text())


def test_the_shipped_policy_loads_with_every_rule_kind():
    policy = load_policy(POLICY)
    assert policy.model_name == "failure_model"
    assert {r.metric for r in policy.gates.metrics} >= {"roc_auc", "pr_auc", "recall_at_budget"}
    assert {r.perturbation for r in policy.gates.robustness} == {
        "gaussian_noise",
        "missing_sensor",
        "unit_shift",
    }
    assert "model_card/model_card.md" in policy.gates.artifacts
    assert policy.gates.drift is not None and policy.gates.drift.block_on_alarm
    assert policy.sha256 and len(policy.sha256) == 64
    roc = policy.rule("roc_auc")
    assert roc.higher_is_better and roc.min is not None and roc.max_regression_abs is not None


def test_settings_point_at_the_policy_and_can_be_overridden(tmp_path, monkeypatch):
    from ml_tasks.settings import get_settings

    monkeypatch.delenv("PLATFORM_PROMOTION_POLICY", raising=False)
    assert get_settings().promotion_policy_path == POLICY
    monkeypatch.setenv("PLATFORM_PROMOTION_POLICY", str(tmp_path / "p.yaml"))
    assert get_settings().promotion_policy_path == tmp_path / "p.yaml"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["gates"]["metrics"].update(roc_acu={"min": 0.7}), "unknown metric 'roc_acu'"),
        (
            lambda r: r["gates"]["metrics"]["roc_auc"].update(minimum=0.7),
            "unknown key(s) ['minimum']",
        ),
        (
            lambda r: r["gates"]["robustness"].update(dropout={"max_drop": 0.1}),
            "unknown perturbation",
        ),
        (lambda r: r["evaluation"].update(alert_budget=0), "alert_budget must be in (0, 1]"),
        (lambda r: r["gates"]["metrics"].update(pr_auc={}), "gates.metrics.pr_auc: no bound given"),
        (lambda r: r.update(treshold=1), "unknown key(s) ['treshold']"),
        (lambda r: r["robustness"].update(statistic="median"), "robustness.statistic"),
        (
            lambda r: r["release"]["live"].update(min_canary_answer=10),
            "release.live: unknown key(s) ['min_canary_answer']",
        ),
        (
            lambda r: r["release"]["live"].update(max_error_rate=5),
            "release.live.max_error_rate must be in [0, 1]",
        ),
        (
            lambda r: r["release"]["live"].update(wait_seconds="15m"),
            "release.live.wait_seconds: expected a number",
        ),
        (
            lambda r: r["release"]["live"].update(min_shadow_answers=0),
            "release.live.min_shadow_answers must be >= 1",
        ),
    ],
)
def test_typos_and_impossible_values_fail_loudly(mutate, message):
    data = raw()
    mutate(data)
    with pytest.raises(PolicyError, match=None) as err:
        parse_policy(data)
    assert message in str(err.value)


def test_without_a_drift_key_there_is_no_drift_rule():
    data = raw()
    del data["gates"]["drift"]
    assert parse_policy(data).gates.drift is None


def test_metric_directions_are_facts_not_thresholds():
    # The code knows which way is better; every number comes from the file.
    assert METRIC_DIRECTIONS["roc_auc"] is True and METRIC_DIRECTIONS["brier"] is False
    source = (REPO_ROOT / "ml_tasks" / "release" / "gates.py").read_text()
    for rule in load_policy(POLICY).gates.metrics:
        for bound in (rule.min, rule.max, rule.max_regression_abs):
            if bound is not None:
                assert repr(bound) not in source, f"{rule.metric} threshold {bound} in gates.py"
