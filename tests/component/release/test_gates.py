"""Gate decisions: the policy's numbers, applied to real evaluations, with their reasons."""

from __future__ import annotations

import dataclasses

import pytest

from ml_tasks.release import gates
from ml_tasks.release.policy import load_policy
from tests.release_fixtures import MODEL, cheap_policy, reset, set_aliases


@pytest.fixture
def policy(release_registry):
    return load_policy(release_registry.policy_path)


def test_a_better_challenger_passes_every_gate(release_registry, evaluations, policy):
    checks = gates.metrics_gate(evaluations["better"], policy, release_registry.good)
    assert checks and all(c.passed for c in checks), [c.message for c in checks if not c.passed]
    # With a champion, regression rules apply and name both values.
    regression = [c for c in checks if c.rule == "max_regression_abs"]
    assert regression and all(c.champion is not None for c in regression)
    assert all(c.passed for c in gates.robustness_gate(evaluations["better"], policy))


def test_a_worse_challenger_is_blocked_with_metric_values_and_thresholds(
    release_registry, evaluations, policy
):
    checks = gates.metrics_gate(evaluations["worse"], policy, release_registry.better)
    failed = {(c.metric, c.rule): c for c in checks if not c.passed}
    roc = failed["roc_auc", "max_regression_abs"]
    assert roc.challenger < roc.champion - roc.threshold
    assert roc.threshold == policy.rule("roc_auc").max_regression_abs
    assert f"challenger {roc.challenger:.4f} vs champion {roc.champion:.4f}" in roc.message
    assert ("roc_auc", "min") in failed and "minimum" in failed["roc_auc", "min"].message


def test_the_first_release_is_judged_on_absolute_minimums_only(evaluations, policy):
    checks = gates.metrics_gate(evaluations["good"], policy, None)
    assert {c.rule for c in checks} <= {"min", "max"}
    assert all(c.passed for c in checks)


def test_changing_a_threshold_in_the_policy_file_changes_the_decision(
    release_registry, evaluations, tmp_path
):
    reset(release_registry)
    set_aliases(release_registry, champion=release_registry.good)
    s = release_registry.settings
    roc = evaluations["better"]["metrics"]["challenger"]["roc_auc"]
    assert gates.decide("metrics", MODEL, release_registry.better, settings=s).passed
    # Only the roc_auc minimum changes, to just above the challenger's value.
    stricter = cheap_policy(
        tmp_path, {"roc_auc: {min: 0.70,": f"roc_auc: {{min: {min(roc + 1e-4, 1.0)},"}
    )
    decision = gates.decide(
        "metrics", MODEL, release_registry.better, settings=s, policy=load_policy(stricter)
    )
    assert not decision.passed
    assert len(decision.reasons) == 1 and decision.reasons[0].startswith("roc_auc: challenger")
    assert "BLOCKED" in decision.summary()
    reset(release_registry)


def test_an_evaluation_against_a_replaced_champion_is_stale(release_registry, evaluations, policy):
    checks = gates.metrics_gate(evaluations["better"], policy, release_registry.worse)
    stale = [c for c in checks if c.rule == "champion_unchanged"]
    assert stale and not stale[0].passed and "evaluate again" in stale[0].message


def test_a_missing_artifact_blocks(release_registry, policy):
    from ml_tasks.registry.models import client

    c = client(release_registry.settings)
    run_id = c.get_model_version(MODEL, release_registry.good).run_id
    strict = dataclasses.replace(
        policy,
        gates=dataclasses.replace(
            policy.gates, artifacts=(*policy.gates.artifacts, "evaluation/fairness.html")
        ),
    )
    checks = gates.artifacts_gate(MODEL, release_registry.good, run_id, strict, c)
    assert [c.metric for c in checks if not c.passed] == ["evaluation/fairness.html"]
    assert "MISSING" in next(c.message for c in checks if not c.passed)


def _drift_row(model_version: str, breached: bool, day: str) -> dict:
    from ml_tasks.monitoring import store

    row = {name: None for name in store.COLUMNS}
    row.update(
        interval_start=day,
        interval_end=day,
        model_name=MODEL,
        model_version=model_version,
        reference_kind="champion",
        reference_id="test",
        breached=breached,
        feature_drift=breached,
        prediction_drift=False,
        prediction_available=True,
        data_quality=False,
        retrain=breached,
        share_drifted=0.5 if breached else 0.0,
        max_slice_share=0.5 if breached else 0.0,
        reasons=[{"kind": "feature_drift", "message": "plant P2: pressure_bar_mean_1h drifted"}]
        if breached
        else [],
        current_rows=100,
        compared_rows=100,
        reference_rows=100,
        policy_version=1,
        run_id="test",
        written_at=f"{day}T01:00:00",
    )
    return row


def test_drift_alarm_closes_the_gate_through_the_monitoring_status(
    release_registry, policy, tmp_path
):
    from ml_tasks.monitoring import store

    s = dataclasses.replace(release_registry.settings, lake_uri=str(tmp_path / "lake"))
    assert gates.drift_gate(MODEL, policy, s)[0].passed  # never monitored: open
    store.write_row(_drift_row("1", True, "2026-10-24"), s)
    [check] = gates.drift_gate(MODEL, policy, s)
    assert not check.passed and "pressure_bar_mean_1h drifted" in check.message
    store.write_row(_drift_row("1", False, "2026-10-25"), s)  # a clean day reopens it
    assert gates.drift_gate(MODEL, policy, s)[0].passed
    no_rule = dataclasses.replace(policy, gates=dataclasses.replace(policy.gates, drift=None))
    assert gates.drift_gate(MODEL, no_rule, s) == []


def test_decide_waits_while_there_is_no_evaluation(release_registry, monkeypatch):
    from ml_tasks.evaluation import records

    monkeypatch.setattr(records, "load_evaluation", lambda *a, **k: None)
    s = release_registry.settings
    assert gates.decide("metrics", MODEL, release_registry.good, settings=s) is None
    assert gates.decide("drift", MODEL, release_registry.good, settings=s) is not None
    text = gates.format_decisions(gates.decide_all(MODEL, release_registry.good, settings=s))
    assert "gate metrics: WAITING" in text and text.endswith("decision: WAITING")


def test_recorded_verdict_needs_every_gate_and_any_block_wins():
    from ml_tasks.release.gates import GATES, recorded_verdict

    passed = {f"gate.{g}": "passed" for g in GATES}
    assert recorded_verdict(passed) == "passed"
    assert recorded_verdict({**passed, "gate.drift": "blocked"}) == "blocked"
    assert recorded_verdict({k: v for k, v in passed.items() if k != "gate.artifacts"}) is None
    assert recorded_verdict({}) is None
