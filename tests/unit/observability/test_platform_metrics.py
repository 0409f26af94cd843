"""Each batch stage's result becomes the samples the alert rules and the dashboard read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import pytest

from ml_tasks.elt.events import TableRun
from ml_tasks.monitoring.drift import ColumnDrift, SliceDrift
from ml_tasks.monitoring.results import MonitoringDay
from ml_tasks.observability import platform_metrics as pm
from ml_tasks.observability.pushgateway import Sample
from ml_tasks.release.gates import Check, GateDecision
from ml_tasks.training.runner import TrainResult


def _values(samples: list[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): float(s.value) for s in samples if s.name == name}


def test_table_run_rows_share_reasons_and_version() -> None:
    run = TableRun(
        table="telemetry_events",
        interval="2026-01-05",
        rows_read=200,
        rows_curated=180,
        rows_quarantined=10,
        rows_duplicate=8,
        rows_conflict=2,
        quarantine_reasons={"range:temperature": 6, "unknown:machine_id": 4},
        version=12,
    )
    samples = pm.table_run_samples(run)

    rows = _values(samples, pm.ELT_ROWS)
    assert rows[("outcome", "read"), ("table", "telemetry_events")] == 200
    assert rows[("outcome", "quarantined"), ("table", "telemetry_events")] == 10
    assert len(rows) == 5
    assert _values(samples, pm.ELT_QUARANTINED_SHARE) == {(("table", "telemetry_events"),): 0.05}
    reasons = _values(samples, pm.ELT_QUARANTINE_REASON_ROWS)
    assert reasons[("reason", "unknown:machine_id"), ("table", "telemetry_events")] == 4
    assert _values(samples, pm.ELT_TABLE_VERSION) == {(("table", "telemetry_events"),): 12}


def test_an_empty_table_run_has_share_zero() -> None:
    run = TableRun("machines", "2026-01-05", 0, 0, 0, 0)
    assert _values(pm.table_run_samples(run), pm.ELT_QUARANTINED_SHARE) == {
        (("table", "machines"),): 0.0
    }


def _day(breached: bool) -> MonitoringDay:
    return MonitoringDay(
        interval="2026-01-05",
        model_name="failure_model",
        model_version="3",
        alias="champion",
        reference_kind="champion_training_set",
        reference_id="ts-1",
        breached=breached,
        retrain=breached,
        kinds=["feature_drift"] if breached else [],
        reasons=[],
        drifted_columns={},
        share_drifted=0.5,
        prediction_available=True,
        rows={},
        report_dir="",
        html_reports=[],
        mlflow_run_id=None,
        timings={},
    )


def test_drift_scores_per_slice_and_column_and_the_alarm() -> None:
    fleet = SliceDrift(
        name="fleet",
        current_rows=10,
        reference_rows=10,
        reference_day_type="weekday",
        evaluated=True,
        columns=[
            ColumnDrift("temperature", "wasserstein", 0.1, 0.3, True),
            ColumnDrift("vibration", "wasserstein", 0.1, 0.02, False),
        ],
        share=0.5,
        prediction=ColumnDrift("prediction", "psi", 0.2, 0.05, False),
    )
    skipped = SliceDrift("plant_b", 0, 0, "weekday", evaluated=False, skipped_reason="no rows")

    samples = pm.drift_samples(_day(breached=True), [fleet, skipped])

    model = {"alias": "champion", "model": "failure_model", "version": "3"}
    scores = _values(samples, pm.DRIFT_SCORE)
    temperature = {**model, "slice": "fleet", "column": "temperature", "method": "wasserstein"}
    assert scores[tuple(sorted(temperature.items()))] == pytest.approx(0.3)
    assert {dict(k)["column"] for k in scores} == {"temperature", "vibration", "prediction"}
    assert {dict(k)["slice"] for k in scores} == {"fleet"}  # an unevaluated slice has none
    drifted = _values(samples, pm.DRIFT_COLUMN_DRIFTED)
    assert sorted(drifted.values()) == [0.0, 0.0, 1.0]
    key = tuple(sorted(model.items()))
    assert _values(samples, pm.DRIFT_ALARM) == {key: 1.0}
    assert _values(pm.drift_samples(_day(breached=False), [fleet]), pm.DRIFT_ALARM) == {key: 0.0}


def test_gate_decision_verdict_and_numeric_reasons() -> None:
    decision = GateDecision(
        gate="metrics",
        model_name="failure_model",
        version="4",
        champion_version="3",
        passed=False,
        checks=(
            Check("min", "roc_auc", 0.81, 0.85, 0.8, True, "ok"),
            Check("no_worse", "pr_auc", 0.30, 0.42, 0.02, False, "worse than champion"),
            Check("present", "model_card", "yes", None, None, True, "card there"),
        ),
    )
    samples = pm.gate_samples(decision)

    base = {"gate": "metrics", "model": "failure_model", "version": "4"}
    assert [(s.labels, s.value) for s in samples if s.name == pm.GATE_DECISION] == [
        ({**base, "verdict": "blocked"}, 1)
    ]
    passed = {s.labels["metric"]: s.value for s in samples if s.name == pm.GATE_CHECK_PASSED}
    assert passed == {"roc_auc": True, "pr_auc": False, "model_card": True}
    values = {
        (s.labels["metric"], s.labels["role"]): s.value
        for s in samples
        if s.name == pm.GATE_CHECK_VALUE
    }
    # Text and missing numbers are left out rather than pushed as garbage.
    assert values == {
        ("roc_auc", "challenger"): 0.81,
        ("roc_auc", "champion"): 0.85,
        ("roc_auc", "threshold"): 0.8,
        ("pr_auc", "challenger"): 0.30,
        ("pr_auc", "champion"): 0.42,
        ("pr_auc", "threshold"): 0.02,
    }


def test_training_duration_rounds_and_best_validation_metrics() -> None:
    result = TrainResult(
        run_name="r",
        checkpoint_uri="/tmp/ckpt",
        rounds_requested=200,
        rounds_trained=61,
        best_iteration=30,
        best_score=0.4,
        stop_metric="aucpr",
        stopped_early=True,
        history=[
            {"round": 31, "validation-aucpr": 0.4, "validation-auc": float("nan")},
            {"round": 61, "validation-aucpr": 0.38, "validation-auc": 0.8},
        ],
        attempts=[{"start_round": 0}],
        timings={"fit_s": 12.5},
    )
    samples = pm.training_samples(result)

    assert _values(samples, pm.TRAINING_ROUNDS) == {
        (("kind", "requested"),): 200,
        (("kind", "trained"),): 61,
        (("kind", "best"),): 31,
    }
    assert _values(samples, pm.TRAINING_DURATION) == {(): 12.5}
    # The best round's metrics; NaN (one class in the window) is not pushed.
    assert _values(samples, pm.TRAINING_VALIDATION_METRIC) == {
        (("metric", "validation-aucpr"),): 0.4
    }
    assert _values(samples, pm.TRAINING_STOPPED_EARLY) == {(): 1.0}


def test_search_gate_recall_and_version() -> None:
    decision = {"green": 7, "passed": True, "quality": {"recall_at_k": 0.92, "mrr": 0.8}}
    samples = pm.search_gate_samples(decision)
    assert _values(samples, pm.SEARCH_INDEX_GOLDEN_RECALL) == {(("version", "7"),): 0.92}
    assert _values(samples, pm.SEARCH_INDEX_GATE_PASSED) == {(("version", "7"),): 1.0}
    assert _values(samples, pm.SEARCH_INDEX_VERSION) == {(("alias", "green"),): 7}


def test_push_stage_adds_success_time_and_day(monkeypatch: pytest.MonkeyPatch) -> None:
    pushed: list[tuple[str, list[Sample], Mapping[str, str] | None]] = []

    def fake_push(
        job: str, samples: Iterable[Sample], *, grouping: Mapping[str, str] | None, settings: object
    ) -> bool:
        pushed.append((job, list(samples), grouping))
        return True

    monkeypatch.setattr(pm, "push_metrics", fake_push)
    run = TableRun("machines", "2026-01-05", 3, 3, 0, 0)
    assert pm.push_table_run(run)

    [(job, samples, grouping)] = pushed
    assert (job, grouping) == ("elt", {"table": "machines"})
    names = {s.name for s in samples}
    assert {pm.STAGE_SUCCESS_TIMESTAMP, pm.DATA_INTERVAL_TIMESTAMP, pm.ELT_ROWS} <= names
    [day] = [s.value for s in samples if s.name == pm.DATA_INTERVAL_TIMESTAMP]
    assert day == datetime(2026, 1, 5, tzinfo=UTC).timestamp()


def test_every_name_is_prefixed_and_listed() -> None:
    assert pm.LIVE_ROC_AUC in pm.PUSHED_METRICS
    assert pm.DRIFT_SCORE in pm.PUSHED_METRICS
    assert all(name.startswith("ml_platform_") for name in pm.PUSHED_METRICS)
