"""The drift table and the status the promotion gate reads: alarm, since, clearing, backfills."""

from __future__ import annotations

from ml_tasks.monitoring import store
from ml_tasks.monitoring.status import drift_status, promotion_gate


def _row(
    day: str, breached: bool, version: str = "none", written: str = "1", alias: str = "none"
) -> dict:
    reasons = (
        [{"kind": "feature_drift", "slice": "plant_id=P2", "message": f"drift on {day}"}]
        if breached
        else []
    )
    return {
        "interval_start": day,
        "interval_end": day,
        "model_name": "failure_model",
        "model_version": version,
        "alias": alias,
        "reference_kind": "fixed_window",
        "reference_id": "window:x",
        "breached": breached,
        "feature_drift": breached,
        "prediction_drift": False,
        "prediction_available": False,
        "data_quality": False,
        "retrain": breached,
        "share_drifted": 0.3 if breached else 0.0,
        "max_slice_share": 0.3 if breached else 0.0,
        "drifted_slices": ["plant_id=P2"] if breached else [],
        "drifted_columns": {},
        "column_scores": {},
        "prediction": "not available",
        "quality": {},
        "reasons": reasons,
        "current_rows": 2400,
        "compared_rows": 2400,
        "reference_rows": 16800,
        "report_dir": f"/reports/{day}",
        "mlflow_run_id": None,
        "policy_version": 1,
        "run_id": "test",
        "written_at": written,
    }


def test_never_monitored_is_open_and_says_so(platform_home):
    status = drift_status("failure_model", platform_home)
    assert status["in_alarm"] is False and status["evaluated"] is False
    decision = promotion_gate("failure_model", platform_home)
    assert decision.open and "not monitored yet" in decision.reason


def test_breach_closes_the_gate_and_a_clean_interval_reopens_it(platform_home):
    s = platform_home
    store.write_row(_row("2026-10-22", False), s)
    store.write_row(_row("2026-10-23", True), s)
    store.write_row(_row("2026-10-24", True), s)
    status = drift_status("failure_model", s)
    assert status["in_alarm"] and status["since"] == "2026-10-23"
    assert status["reasons"] == ["drift on 2026-10-24"]
    assert status["alarm_intervals"] == ["2026-10-23", "2026-10-24"]
    decision = promotion_gate("failure_model", s)
    assert not decision.open
    assert "since 2026-10-23" in decision.reason and "drift on 2026-10-24" in decision.reason

    # A backfill of an older interval does not change what the latest interval says.
    store.write_row(_row("2026-10-20", False, written="2"), s)
    assert drift_status("failure_model", s)["in_alarm"]

    store.write_row(_row("2026-10-25", False), s)
    assert promotion_gate("failure_model", s).open
    assert drift_status("failure_model", s)["since"] is None


def test_rerun_replaces_the_interval_row_per_model_version(platform_home):
    s = platform_home
    store.write_row(_row("2026-10-24", True), s)
    store.write_row(_row("2026-10-24", False, written="2"), s)  # rerun after a fix
    store.write_row(_row("2026-10-24", True, version="3", written="3"), s)  # new champion
    rows = store.read_rows("failure_model", s)
    assert [(r["model_version"], r["breached"]) for r in rows] == [("none", False), ("3", True)]
    # The latest write for the interval decides (the champion's comparison).
    assert drift_status("failure_model", s)["model_version"] == "3"


def test_a_candidate_check_opens_the_gate_for_that_version_only(platform_home):
    s = platform_home
    store.write_row(_row("2026-10-24", True, version="3", alias="champion"), s)
    # The retrained challenger v4, compared with its own training data: no drift.
    store.write_row(_row("2026-10-24", False, version="4", written="2", alias="challenger"), s)
    assert drift_status("failure_model", s)["in_alarm"]  # the serving model's status
    assert not promotion_gate("failure_model", s).open
    decision = promotion_gate("failure_model", s, model_version="4")
    assert decision.open and "reference v4" in decision.reason
    # A version never checked falls back to the serving model's status: closed.
    assert not promotion_gate("failure_model", s, model_version="5").open
