"""The drift gate's decision in the task log: the verdict and every reason with its threshold."""

from __future__ import annotations

import logging
from dataclasses import replace

from ml_tasks.monitoring.status import day_verdict
from tests.component.monitoring.test_monitoring_pipeline import (  # the same synthetic days
    CLEAN,
    DRIFTED,
    START,
    _NoChampion,
    _run,
    offline,  # ruff: ignore[unused-import]  (fixture: 8 clean days, then the drifted one)
)
from tests.monitoring_fixtures import breach_day

BREACH = breach_day()


def test_a_breach_names_reasons_thresholds_and_reports():
    headline, lines = day_verdict(BREACH, drift_share=0.1)
    assert headline == (
        "drift gate 2026-10-09: BREACH (feature_drift): failure_model v3 against "
        "training_set:7@failure_model-v3"
    )
    assert lines[0].endswith("pressure_bar_mean_1h (wasserstein 0.41 >= 0.1)")
    fleet = "fleet: 5% of the monitored columns drifted (dataset drift at >= drift_share 10%)"
    assert fleet in lines
    assert "retraining requested (drift_alarm asset event)" in lines
    assert lines[-1] == f"reports: {BREACH.report_dir}"


def test_a_clean_day_says_so():
    clean = replace(BREACH, breached=False, retrain=False, kinds=[], reasons=[])
    headline, lines = day_verdict(replace(clean, model_version="none"), drift_share=0.1)
    assert "no breach: failure_model (no champion)" in headline
    assert lines[0].startswith("fleet: 5% ")


def test_run_monitoring_logs_the_decision(offline, policy, caplog):  # ruff: ignore[redefined-while-unused]
    fast = replace(
        policy,
        reference=replace(policy.reference, start=START),
        reports=replace(policy.reports, html="none"),
    )
    with caplog.at_level(logging.INFO, logger="ml_tasks.monitoring.pipeline"):
        _run(CLEAN, offline, fast, _NoChampion())
    clean = [r for r in caplog.records if "drift gate" in r.getMessage()]
    assert [r.levelno for r in clean] == [logging.INFO]
    assert f"drift gate {CLEAN}: no breach" in clean[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ml_tasks.monitoring.pipeline"):
        drifted = _run(DRIFTED, offline, fast, _NoChampion())
    # The same verdict travels in the result (XCom) for the task note.
    assert drifted.verdict.headline.startswith(f"drift gate {DRIFTED}: BREACH")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned[0].startswith(f"drift gate {DRIFTED}: BREACH (feature_drift)")
    assert any("feature drift in plant_id=P2" in m and ">=" in m for m in warned)
    assert any("drift_share" in m for m in warned)
