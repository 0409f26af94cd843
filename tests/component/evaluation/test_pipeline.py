"""Evaluation of registered versions: everything lands on the challenger's MLflow run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_tasks.evaluation import records
from ml_tasks.registry.models import client, read_run_json
from tests.release_fixtures import MODEL


def test_challenger_and_champion_are_scored_on_the_same_holdout(release_registry, evaluations):
    ev = evaluations["better"]
    assert ev["version"] == release_registry.better
    assert ev["champion"]["version"] == release_registry.good
    hold = ev["holdout"]
    # The holdout is the challenger's validation window: rows after the training rows + 24 h.
    assert hold["rows"] >= 1000 and hold["positives"] >= 20 and hold["restricted"] is None
    for role in ("challenger", "champion"):
        m = ev["metrics"][role]
        assert m["rows"] == hold["rows"] and m["positives"] == hold["positives"]
        for key in ("roc_auc", "pr_auc", "recall_at_budget", "brier", "ece", "scoring_cpu_ms"):
            assert m[key] is not None, f"{role} {key}"
    assert set(ev["slices"]["challenger"]) == {"P1", "P2", "P3"}
    assert ev["comparison"]["roc_auc"]["delta"] == pytest.approx(
        ev["metrics"]["challenger"]["roc_auc"] - ev["metrics"]["champion"]["roc_auc"]
    )


def test_the_worse_challenger_measures_as_worse(evaluations):
    worse, better = evaluations["worse"]["metrics"], evaluations["better"]["metrics"]
    assert worse["challenger"]["roc_auc"] < 0.65 < better["challenger"]["roc_auc"]
    assert worse["champion"]["roc_auc"] == pytest.approx(better["challenger"]["roc_auc"])


def test_everything_is_logged_to_the_challengers_run(release_registry, evaluations):
    c = client(release_registry.settings)
    mv = c.get_model_version(MODEL, release_registry.better)
    assert mv.tags[records.STATUS_TAG] == records.COMPLETE
    assert mv.tags["evaluation.champion_version"] == release_registry.good
    listed = {f.path for f in c.list_artifacts(mv.run_id, "evaluation")}
    assert {"evaluation/evaluation.json", "evaluation/report.html", "evaluation/plots"} <= listed
    plots = {f.path for f in c.list_artifacts(mv.run_id, "evaluation/plots")}
    assert {"evaluation/plots/roc.png", "evaluation/plots/robustness.png"} <= plots
    card = read_run_json(c, mv.run_id, "model_card/model_card.json")
    assert card["risk"]["eu_ai_act_tier"] == "minimal" and card["risk"]["justification"]
    assert card["provenance"]["training_set_version"] == release_registry.training_set.version
    assert card["provenance"]["model_sha256"] == mv.tags["model_sha256"]
    assert card["slices"] and card["robustness"]["missing_sensor"]["case"]
    metrics = c.get_run(mv.run_id).data.metrics
    assert metrics["eval.challenger.roc_auc"] == pytest.approx(
        evaluations["better"]["metrics"]["challenger"]["roc_auc"]
    )
    assert "eval.champion.roc_auc" in metrics and "eval.robustness.missing_sensor.drop" in metrics


def test_the_alert_threshold_tag_cuts_the_budget_of_the_holdout_scores(
    release_registry, evaluations
):
    from ml_tasks.evaluation.holdout import load_holdout
    from ml_tasks.registry.models import get_version, load_scorer
    from ml_tasks.release.policy import load_policy

    c = client(release_registry.settings)
    budget = load_policy(release_registry.policy_path).evaluation.alert_budget
    challenger = get_version(MODEL, release_registry.better, mlflow_client=c)
    champion = get_version(MODEL, release_registry.good, mlflow_client=c)
    scorer = load_scorer(challenger)
    holdout = load_holdout(challenger, champion, scorer.features, None)
    scores = scorer(holdout.frame)
    tag = float(challenger.tags[records.ALERT_THRESHOLD_TAG])
    assert tag == pytest.approx(float(np.quantile(scores, 1 - budget)))
    assert tag == evaluations["better"]["serving"]["alert_threshold"]
    assert (scores >= tag).mean() == pytest.approx(budget, abs=0.01)
    # Every evaluated version gets its own threshold.
    worse = c.get_model_version(MODEL, release_registry.worse).tags
    assert float(worse[records.ALERT_THRESHOLD_TAG]) != pytest.approx(tag)


def test_model_card_markdown_has_every_section(release_registry):
    import mlflow

    c = client(release_registry.settings)
    run_id = c.get_model_version(MODEL, release_registry.good).run_id
    text = mlflow.artifacts.load_text(f"runs:/{run_id}/model_card/model_card.md")
    for heading in (
        "## Intended use",
        "## Risk tier under the EU AI Act",
        "## Training data provenance",
        "## Features",
        "## Metrics (time-based holdout)",
        "### Per slice",
        "## Robustness",
        "## Limitations",
    ):
        assert heading in text, heading
    assert "**minimal**" in text


def test_robustness_on_a_registered_version_is_honest(evaluations):
    # v1 ("good") was trained without the vibration features: losing vibration costs nothing.
    rob = evaluations["good"]["robustness"]
    assert rob["missing_sensor"]["vibration_mm_s"]["drop"] == pytest.approx(0.0, abs=0)
    assert rob["summary"]["most_important_sensor"] == "temperature_c"
    assert rob["missing_sensor"]["temperature_c"]["ci"][0] > 0


def test_a_changed_evaluation_file_is_detected(release_registry, evaluations, tmp_path):
    c = client(release_registry.settings)
    version = release_registry.worse
    run_id = c.get_model_version(MODEL, version).run_id
    original = read_run_json(c, run_id, records.EVALUATION_ARTIFACT)
    forged = {**original, "metrics": {**original["metrics"]}}
    forged["metrics"]["challenger"] = {**original["metrics"]["challenger"], "roc_auc": 0.99}
    folder = tmp_path / "evaluation"
    folder.mkdir()
    try:
        (folder / "evaluation.json").write_text(json.dumps(forged, indent=2, sort_keys=True))
        c.log_artifact(run_id, str(folder / "evaluation.json"), "evaluation")
        with pytest.raises(records.EvaluationTampered, match="does not match"):
            records.load_evaluation(MODEL, version, release_registry.settings)
    finally:
        (folder / "evaluation.json").write_text(json.dumps(original, indent=2, sort_keys=True))
        c.log_artifact(run_id, str(folder / "evaluation.json"), "evaluation")
    assert records.load_evaluation(MODEL, version, release_registry.settings) == original


def test_a_version_that_does_not_exist_has_no_evaluation(release_registry):
    assert records.evaluation_status(MODEL, "999", release_registry.settings) is None
