"""The evaluation report page shows every gated metric with its threshold and verdict."""

from __future__ import annotations

import html
import re

import pytest

from ml_tasks.evaluation.report import gate_verdicts, render_html
from ml_tasks.evaluation.robustness import summarise
from ml_tasks.release.policy import load_policy

GOOD = {
    "roc_auc": 0.85,
    "pr_auc": 0.40,
    "recall_at_budget": 0.50,
    "brier_skill": 0.20,
    "brier": 0.05,
    "ece": 0.02,
    "worst_slice_roc_auc": 0.80,
    "scoring_cpu_ms": 2.0,
}


def _drop(value: float) -> dict:
    return {"clean": 0.85, "perturbed": 0.85 - value, "drop": value, "ci": [value - 0.01, value]}


def _evaluation(challenger: dict, champion: dict | None) -> dict:
    """A small evaluation in the pipeline's shape (no model needed to render a page)."""
    rob = {
        "metric": "roc_auc",
        "confidence": 0.95,
        "bootstrap_samples": 60,
        "gaussian_noise": {"sigma": 0.1, **_drop(0.01)},
        "missing_sensor": {"temperature_c": _drop(0.05)},
        "unit_shift": {"pressure_in_psi": _drop(0.02)},
    }
    rob["summary"] = summarise(rob)
    return {
        "model_name": "failure_model",
        "version": "7",
        "evaluated_at": "2026-10-30T03:10:00+00:00",
        "policy": {"path": "promotion.yaml", "version": 1, "sha256": "ab" * 32},
        "challenger": {"version": "7"},
        "champion": {"version": "6"} if champion else None,
        "holdout": {
            "rows": 4000,
            "positives": 120,
            "start": "2026-10-20",
            "end": "2026-10-30",
            "training_set_version": 3,
            "slice_column": "plant_id",
        },
        "metrics": {"challenger": challenger, "champion": champion},
        "comparison": {},
        "slices": {"challenger": {}, "champion": None},
        "robustness": rob,
        "errors": {},
    }


def _rows(page: str) -> list[list[str]]:
    """Cell texts of the gate-verdict table."""
    section = page.split("Gate verdicts", 1)[1].split("</table>", 1)[0]
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", section)
    ]
    return [r for r in rows if r]  # the header row has <th> cells only


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_a_regressed_metric_fails_with_its_threshold(policy):
    challenger = {**GOOD, "roc_auc": 0.65}
    page = render_html(_evaluation(challenger, GOOD), {}, policy)
    rows = {(r[0], r[1]): r for r in _rows(page)}
    _, _, value, champ, threshold, verdict, reason = rows["roc_auc", "min"]
    assert (value, champ, threshold, verdict) == ("0.6500", "0.8500", "0.7000", "FAIL")
    assert reason == "roc_auc: challenger 0.6500 < minimum 0.7000"
    assert rows["roc_auc", "max_regression_abs"][5] == "FAIL"
    assert rows["ece", "max"][4:6] == ["0.0500", "PASS"]
    assert "BLOCKED: 3 of" in page
    heading = "Evaluation of failure_model v7 against champion v6, holdout 2026-10-20 .. 2026-10-30"
    assert f"<h1>{heading}</h1>" in page and f"<title>{heading}</title>" in page


def test_every_rule_of_the_policy_has_a_row(policy):
    page = render_html(_evaluation(GOOD, GOOD), {}, policy)
    shown = {(r[0], r[1]) for r in _rows(page)}
    for rule in policy.gates.metrics:
        assert any(metric == rule.metric for metric, _ in shown), rule.metric
    for rule in policy.gates.robustness:
        assert any(m.startswith(rule.perturbation) for m, _ in shown), rule.perturbation
    assert all(r[5] == "PASS" for r in _rows(page))
    assert "PASSED: all" in page and "Gate verdicts" in page


def test_the_verdicts_are_the_gates_own(policy):
    """No second implementation of the thresholds: the rows are the gates' checks."""
    evaluation = _evaluation({**GOOD, "pr_auc": 0.05}, None)
    checks = gate_verdicts(evaluation, policy)
    rows = _rows(render_html(evaluation, {}, policy))
    assert [r[6] for r in rows] == [c.message for c in checks]
    assert [r[5] == "PASS" for r in rows] == [c.passed for c in checks]
