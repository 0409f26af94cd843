"""The search index gate's decision in the task log, with the policy's thresholds."""

from __future__ import annotations

import logging
from dataclasses import asdict

import pytest

from ml_tasks.search import gates, pipeline
from ml_tasks.search.policy import load_policy


@pytest.fixture
def policy():
    return load_policy()


def _decision(policy, passed: bool) -> gates.GateDecision:
    """A decision as gate() builds it: thresholds from the policy, numbers from the checks."""
    decision = gates.GateDecision(green=2, blue=1)
    decision.thresholds = {
        "corpus": asdict(policy.corpus),
        "quality": asdict(policy.quality),
        "drift": asdict(policy.drift),
    }
    decision.corpus = {"documents": 40, "skipped": 0, "skipped_share": 0.0}
    decision.quality = {"k": 5, "recall_at_k": 0.62, "mrr": 0.5, "queries": 74}
    decision.blue_quality = {"k": 5, "recall_at_k": 0.986, "mrr": 0.785, "queries": 74}
    if not passed:
        decision.fail("quality: recall@5 0.620 < minimum 0.850")
    return decision


def test_gate_records_the_policy_thresholds(policy, monkeypatch):
    for check in ("check_corpus", "check_quality", "check_drift"):
        monkeypatch.setattr(gates, check, lambda *a, **k: None)
    decision = gates.gate(None, 2, 1, {}, [], policy)
    assert decision.thresholds["quality"]["min_recall_at_k"] == policy.quality.min_recall_at_k
    assert decision.thresholds["drift"]["max_distance"] == policy.drift.max_distance


def test_the_log_lines_name_values_and_thresholds(policy):
    q = policy.quality
    lines = pipeline.format_decision(_decision(policy, passed=False).as_dict())
    quality = next(line for line in lines if line.startswith("quality:"))
    assert "green v2 recall@5 0.62" in quality
    assert f"(minimum recall {q.min_recall_at_k}, MRR {q.min_mrr})" in quality
    live = next(line for line in lines if line.startswith("live v1"))
    assert f"at most {q.max_recall_drop} recall and {q.max_mrr_drop} MRR below" in live
    assert lines[-1] == (
        "gate BLOCKED: green v2 vs live v1: quality: recall@5 0.620 < minimum 0.850"
    )


def test_a_decision_stored_before_thresholds_still_formats(policy):
    old = _decision(policy, passed=True).as_dict()
    del old["thresholds"]
    assert pipeline.format_decision(old)[-1] == "gate PASSED: green v2 vs live v1"


@pytest.mark.parametrize("passed", [True, False])
def test_gate_green_logs_a_block_at_warning(platform_home, policy, monkeypatch, caplog, passed):
    monkeypatch.setattr(pipeline, "gate", lambda *a, **k: _decision(policy, passed))
    # As it comes through XCom: build_green's IndexBuild as a dict.
    built = pipeline.IndexBuild(
        interval="2026-10-02", green=2, blue=1, rows=10, reused_version=False, fingerprint="f"
    ).to_dict()
    with caplog.at_level(logging.INFO, logger="ml_tasks.search.pipeline"):
        if passed:
            pipeline.gate_green(built, settings=platform_home, policy=policy)
        else:
            with pytest.raises(gates.IndexGateFailed):
                pipeline.gate_green(built, settings=platform_home, policy=policy)
    verdict = next(r for r in caplog.records if r.getMessage().startswith("gate "))
    assert verdict.levelno == (logging.INFO if passed else logging.WARNING)
    assert any("minimum recall" in r.getMessage() for r in caplog.records)
