"""The model card says why the version was trained: the drift alarm in full, or the schedule."""

from __future__ import annotations

from datetime import date

from ml_tasks.evaluation.model_card import build_card, render_markdown
from ml_tasks.registry.models import ModelVersion
from ml_tasks.training.trigger import resolve_trigger

SPEC = {
    "intended_use": "rank machines by failure risk",
    "out_of_scope": ["safety decisions"],
    "risk": {"eu_ai_act_tier": "minimal", "justification": "advisory"},
    "limitations": ["synthetic data"],
}
EVALUATION = {
    "metrics": {"challenger": {"roc_auc": 0.9}},
    "holdout": {"rows": 100, "positives": 5, "start": "2026-10-20", "end": "2026-10-24"},
    "slices": {},
    "policy": {"path": "promotion.yaml", "sha256": "abc"},
    "evaluated_at": "2026-11-30T00:00:00+00:00",
}


def _card_text(trigger: dict | None) -> str:
    version = ModelVersion(
        model_name="failure_model",
        version="4",
        run_id="r",
        tags={"training_set.version": "7"},
        aliases=("challenger",),
        lineage={"features": ["a"], "training_set": {"start": "2026-09-27"}, "trigger": trigger},
    )
    card = build_card(SPEC, EVALUATION, version)
    assert card["provenance"]["trigger"] == trigger
    return render_markdown(card)


def test_a_drift_triggered_version_names_the_alarm_on_its_card():
    alarm = {
        "interval": "2026-10-24",
        "kinds": ["feature_drift"],
        "model_version": "3",
        "drifted_columns": {"plant_id=P2": ["temperature_c_mean_1h"]},
    }
    trigger = resolve_trigger(
        {"drift_alarm": [{"extra": alarm}]},
        start=None,
        end=None,
        window_days=28,
        run_after=date(2026, 11, 30),
    )
    text = _card_text(trigger.to_dict())
    assert (
        "- trained because: drift alarm of 2026-10-24 (feature_drift) in plant P2:"
        " temperature_c_mean_1h; window 2026-09-27 .. 2026-10-24 (monitored model v3)"
    ) in text


def test_other_versions_say_what_they_know():
    nightly = resolve_trigger(
        None, start=None, end=None, window_days=7, run_after=date(2026, 10, 31), run_type=None
    )
    text = _card_text(nightly.to_dict())
    assert "- trained because: nightly schedule; window 2026-10-24 .. 2026-10-30" in text
    assert "- trained because: not recorded" in _card_text(None)


def test_the_card_tabulates_each_silent_sensor_and_the_dropout_share():
    evaluation = {
        **EVALUATION,
        "robustness": {
            "summary": {"missing_sensor": {"case": "vibration_mm_s", "drop": 0.11}},
            "missing_sensor": {
                "temperature_c": {
                    "clean": 0.99,
                    "perturbed": 0.986,
                    "drop": 0.004,
                    "ci": [0, 0.01],
                },
                "vibration_mm_s": {
                    "clean": 0.99,
                    "perturbed": 0.88,
                    "drop": 0.11,
                    "ci": [0.08, 0.13],
                },
            },
        },
    }
    version = ModelVersion(
        model_name="failure_model",
        version="2",
        run_id="r",
        tags={"training.sensor_dropout": "0.3"},
        aliases=(),
        lineage={"features": ["a"], "training_set": {}},
    )
    text = render_markdown(build_card(SPEC, evaluation, version))
    assert "Trained with sensor dropout: 0.3 (" in text
    rows = [line for line in text.splitlines() if line.startswith("| vibration_mm_s")]
    assert rows == ["| vibration_mm_s | 0.9900 | 0.8800 | 0.1100 | [0.0800, 0.1300] |"]
    # The worst sensor first.
    assert text.index("| vibration_mm_s") < text.index("| temperature_c")
