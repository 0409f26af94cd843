"""The monitoring policy file: loads, validates, and resolves per-column thresholds."""

from __future__ import annotations

import pytest

from ml_tasks.monitoring.policy import PolicyError, load_policy, parse_policy


def test_repository_policy_loads_with_distance_methods(policy):
    assert policy.drift.method == "wasserstein"
    assert len(policy.drift.columns) == 20
    assert policy.slice_column == "plant_id"
    assert "feature_drift" in policy.alarm.retrain_on
    assert "data_quality" not in policy.alarm.retrain_on


def test_first_matching_pattern_sets_a_columns_threshold(policy):
    assert policy.drift.threshold_for("pressure_bar_mean_1h") == pytest.approx(0.2)
    assert policy.drift.threshold_for("pressure_bar_std_1h") == pytest.approx(0.3)
    # vibration_mm_s_* comes first, so it wins over *_std_1h
    assert policy.drift.threshold_for("vibration_mm_s_std_1h") == pytest.approx(0.35)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"drift": {"columns": ["a"], "treshold": 0.1}}, "unknown key"),
        ({"drift": {"columns": ["a"], "method": "ks"}}, "not a distance method"),
        ({"drift": {"columns": []}}, "drift.columns is empty"),
        ({"drift": {"columns": ["a"]}, "alarm": {"retrain_on": ["weather"]}}, "unknown kind"),
        ({"drift": {"columns": ["a"]}, "surprise": 1}, "unknown top-level"),
        ({"drift": {"columns": ["a"]}, "prediction": {"alarm_on": "plants"}}, "alarm_on"),
    ],
)
def test_invalid_policies_fail_loudly(raw, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(raw)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yaml")


def test_policy_path_has_an_env_override(tmp_path, monkeypatch):
    target = tmp_path / "monitoring.yaml"
    target.write_text("drift:\n  columns: [x]\n  threshold: 0.5\nreference:\n  start: 2026-10-01\n")
    monkeypatch.setenv("PLATFORM_MONITORING_POLICY", str(target))
    loaded = load_policy()
    assert loaded.drift.threshold == pytest.approx(0.5)
    assert str(loaded.reference.start) == "2026-10-01"
    assert loaded.to_dict()["reference"]["start"] == "2026-10-01"
