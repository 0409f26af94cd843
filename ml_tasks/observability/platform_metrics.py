"""The batch stages' results as Prometheus samples, and the one-line pushes the stages call.

Builders are pure (a stage's result in, a list of :class:`Sample` out); each ``push_*`` builds
and sends them through :func:`push_metrics` (a no-op without a Pushgateway, never raising).

Grouping: one Pushgateway group per stage and subject (job ``elt`` + table, ``drift`` + model
and alias, ``gates`` + model and gate, ...), not per day. A push replaces its group, so the
group always holds the latest run's numbers; a group per day would keep every old day's series
forever (the Pushgateway never forgets), and an alert on an old bad day would never resolve.
The day a push is about is its own gauge, ``ml_platform_data_interval_timestamp_seconds``.

Metric names are constants here: the alert rules (``include/monitoring/prometheus/rules``), the
Grafana dashboard and the live-performance stage import or test against them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ml_tasks.observability.pushgateway import Sample, push_metrics
from ml_tasks.settings import Settings

if TYPE_CHECKING:
    from ml_tasks.elt.events import TableRun
    from ml_tasks.monitoring.drift import SliceDrift
    from ml_tasks.monitoring.results import MonitoringDay
    from ml_tasks.training.runner import TrainResult


class GateCheck(Protocol):
    """A gate check (:class:`ml_tasks.release.gates.Check`; typed by shape, since the gates
    module pushes through this one and an import back would be a cycle)."""

    @property
    def rule(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def challenger(self) -> Any: ...
    @property
    def champion(self) -> Any: ...
    @property
    def threshold(self) -> Any: ...
    @property
    def passed(self) -> bool: ...


class GateVerdict(Protocol):
    """A gate decision (:class:`ml_tasks.release.gates.GateDecision`)."""

    @property
    def gate(self) -> str: ...
    @property
    def model_name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def checks(self) -> Sequence[GateCheck]: ...


PREFIX = "ml_platform_"

# Every push: when the stage last finished (the "no nightly run in 26 h" alert) and which day
# its numbers are about.
STAGE_SUCCESS_TIMESTAMP = "ml_platform_stage_success_timestamp_seconds"
DATA_INTERVAL_TIMESTAMP = "ml_platform_data_interval_timestamp_seconds"

# ELT (job "elt", one group per table).
ELT_ROWS = "ml_platform_elt_rows"
ELT_QUARANTINED_SHARE = "ml_platform_elt_quarantined_share"
ELT_QUARANTINE_REASON_ROWS = "ml_platform_elt_quarantine_reason_rows"
ELT_TABLE_VERSION = "ml_platform_elt_table_version"

# Drift monitoring (job "drift", one group per model and reference alias).
DRIFT_SCORE = "ml_platform_drift_score"
DRIFT_COLUMN_DRIFTED = "ml_platform_drift_column_drifted"
DRIFT_SHARE = "ml_platform_drift_share"
DRIFT_ALARM = "ml_platform_drift_alarm"
DRIFT_RETRAIN_REQUESTED = "ml_platform_drift_retrain_requested"

# Promotion gates (job "gates", one group per model and gate).
GATE_DECISION = "ml_platform_gate_decision"
GATE_CHECK_PASSED = "ml_platform_gate_check_passed"
GATE_CHECK_VALUE = "ml_platform_gate_check_value"

# Training (job "training").
TRAINING_DURATION = "ml_platform_training_duration_seconds"
TRAINING_ROUNDS = "ml_platform_training_rounds"
TRAINING_STOPPED_EARLY = "ml_platform_training_stopped_early"
TRAINING_ATTEMPTS = "ml_platform_training_attempts"
TRAINING_VALIDATION_METRIC = "ml_platform_training_validation_metric"

# Maintenance-manual search index (job "search_index").
SEARCH_INDEX_GATE_PASSED = "ml_platform_search_index_gate_passed"
SEARCH_INDEX_GOLDEN_RECALL = "ml_platform_search_index_golden_recall"
SEARCH_INDEX_GOLDEN_MRR = "ml_platform_search_index_golden_mrr"
SEARCH_INDEX_VERSION = "ml_platform_search_index_version"

# Live model performance from delayed labels (pushed by ml_tasks.monitoring.live_performance),
# labelled model, version, alias: the ROC-AUC of the latest labelled day, and 0/1 for a drop
# beyond the monitoring policy.
LIVE_ROC_AUC = "ml_platform_live_roc_auc"
LIVE_PERFORMANCE_ALARM = "ml_platform_live_performance_alarm"

# Every name above, for the tests that check rules and dashboard panels against them.
PUSHED_METRICS = frozenset(
    value for key, value in dict(globals()).items() if key.isupper() and isinstance(value, str)
) - {PREFIX}


def _day_timestamp(day: str | date) -> float:
    """Midnight UTC of ``day`` as Unix seconds."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans count as 0/1; text and NaN do not)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def table_run_samples(run: TableRun) -> list[Sample]:
    """One ELT table run: rows by outcome, the quarantined share of the rows read, rows per
    quarantine reason, and the Delta version written."""
    table = {"table": run.table}
    outcomes = {
        "read": run.rows_read,
        "curated": run.rows_curated,
        "quarantined": run.rows_quarantined,
        "duplicate": run.rows_duplicate,
        "conflict": run.rows_conflict,
    }
    samples = [
        Sample(ELT_ROWS, count, {**table, "outcome": outcome}, "Rows of the latest ELT run.")
        for outcome, count in outcomes.items()
    ]
    share = run.rows_quarantined / run.rows_read if run.rows_read else 0.0
    samples.append(Sample(ELT_QUARANTINED_SHARE, share, table, "Quarantined share of rows read."))
    samples += [
        Sample(ELT_QUARANTINE_REASON_ROWS, count, {**table, "reason": reason}, "Rows per reason.")
        for reason, count in sorted(run.quarantine_reasons.items())
    ]
    if run.version is not None:
        samples.append(Sample(ELT_TABLE_VERSION, run.version, table, "Delta table version."))
    return samples


def drift_samples(result: MonitoringDay, slices: Iterable[SliceDrift]) -> list[Sample]:
    """One monitoring day: each compared column's drift score and verdict per slice (the
    prediction as column ``prediction``), the drifted share per slice, the breach flag."""
    model = {"model": result.model_name, "version": result.model_version, "alias": result.alias}
    samples: list[Sample] = []
    for piece in slices:
        if not piece.evaluated:
            continue
        columns = list(piece.columns)
        if piece.prediction is not None:
            columns.append(piece.prediction)
        for col in columns:
            labels = {**model, "slice": piece.name, "column": col.column, "method": col.method}
            samples.append(Sample(DRIFT_SCORE, col.score, labels, "Drift distance of a column."))
            samples.append(Sample(DRIFT_COLUMN_DRIFTED, col.drifted, labels, "1: drifted."))
        samples.append(
            Sample(DRIFT_SHARE, piece.share, {**model, "slice": piece.name}, "Drifted share.")
        )
    samples.append(Sample(DRIFT_ALARM, result.breached, model, "1: the day breached the policy."))
    samples.append(Sample(DRIFT_RETRAIN_REQUESTED, result.retrain, model, "1: retrain asked."))
    return samples


def gate_samples(decision: GateVerdict) -> list[Sample]:
    """One gate decision: 1 on ``verdict`` passed or blocked, and each check's verdict and its
    numbers (challenger, champion, threshold where numeric): the reasons, as labels that stay
    few (rule and metric, never the free-text message)."""
    base = {"model": decision.model_name, "version": decision.version, "gate": decision.gate}
    verdict = "passed" if decision.passed else "blocked"
    samples = [Sample(GATE_DECISION, 1, {**base, "verdict": verdict}, "Latest gate verdict.")]
    for check in decision.checks:
        labels = {**base, "rule": check.rule, "metric": check.metric}
        samples.append(Sample(GATE_CHECK_PASSED, check.passed, labels, "1: the check passed."))
        for role in ("challenger", "champion", "threshold"):
            value = _number(getattr(check, role))
            if value is not None:
                samples.append(Sample(GATE_CHECK_VALUE, value, {**labels, "role": role}))
    return samples


def training_samples(result: TrainResult) -> list[Sample]:
    """One training run: fit duration, rounds, early stop, attempts, best validation metrics."""
    summary = result.summary()
    samples = [
        Sample(TRAINING_ROUNDS, result.rounds_requested, {"kind": "requested"}, "Rounds."),
        Sample(TRAINING_ROUNDS, result.rounds_trained, {"kind": "trained"}),
        Sample(TRAINING_STOPPED_EARLY, result.stopped_early, {}, "1: early stopping ended it."),
        Sample(TRAINING_ATTEMPTS, len(result.attempts), {}, "Attempts (1 + restarts)."),
    ]
    if result.best_iteration is not None:
        samples.append(Sample(TRAINING_ROUNDS, result.best_iteration + 1, {"kind": "best"}))
    fit = _number(result.timings.get("fit_s"))
    if fit is not None:
        samples.append(Sample(TRAINING_DURATION, fit, {}, "Seconds the fit took on Ray."))
    for metric, value in sorted(summary["best_metrics"].items()):
        number = _number(value)
        if number is not None:
            samples.append(
                Sample(TRAINING_VALIDATION_METRIC, number, {"metric": metric}, "Best round.")
            )
    return samples


def search_gate_samples(decision: Mapping[str, Any]) -> list[Sample]:
    """The search index gate (:func:`ml_tasks.search.pipeline.gate_green`'s decision dict): the
    green version's verdict and golden-set recall@k and MRR."""
    labels = {"version": str(decision["green"])}
    quality = decision.get("quality") or {}
    samples = [Sample(SEARCH_INDEX_GATE_PASSED, bool(decision["passed"]), labels, "1: passed.")]
    for name, key in (
        (SEARCH_INDEX_GOLDEN_RECALL, "recall_at_k"),
        (SEARCH_INDEX_GOLDEN_MRR, "mrr"),
    ):
        value = _number(quality.get(key))
        if value is not None:
            samples.append(Sample(name, value, labels, f"Golden-set {key} of the gated version."))
    samples.append(
        Sample(SEARCH_INDEX_VERSION, int(decision["green"]), {"alias": "green"}, "Index version.")
    )
    return samples


def push_stage(
    job: str,
    samples: Iterable[Sample],
    *,
    grouping: Mapping[str, str] | None = None,
    day: str | date | None = None,
    settings: Settings | None = None,
) -> bool:
    """Push a finished stage's samples, with its success time and (when given) its day."""
    extra = [Sample(STAGE_SUCCESS_TIMESTAMP, time.time(), {}, "When the stage last finished.")]
    if day is not None:
        extra.append(Sample(DATA_INTERVAL_TIMESTAMP, _day_timestamp(day), {}, "Its data day."))
    return push_metrics(job, [*samples, *extra], grouping=grouping, settings=settings)


def push_table_run(run: TableRun, settings: Settings | None = None) -> bool:
    """The ELT call at the end of each table's curation."""
    samples = table_run_samples(run)
    return push_stage(
        "elt", samples, grouping={"table": run.table}, day=run.interval or None, settings=settings
    )


def push_drift(
    result: MonitoringDay, slices: Iterable[SliceDrift], settings: Settings | None = None
) -> bool:
    """The drift monitor's call once the day's status is written."""
    grouping = {"model": result.model_name, "alias": result.alias}
    return push_stage(
        "drift",
        drift_samples(result, slices),
        grouping=grouping,
        day=result.interval,
        settings=settings,
    )


def push_gate(decision: GateVerdict, settings: Settings | None = None) -> bool:
    """A recorded gate decision's call."""
    grouping = {"model": decision.model_name, "gate": decision.gate}
    return push_stage("gates", gate_samples(decision), grouping=grouping, settings=settings)


def push_training(result: TrainResult, settings: Settings | None = None) -> bool:
    """The training stage's call once its result is stored."""
    return push_stage("training", training_samples(result), settings=settings)


def push_search_gate(decision: Mapping[str, Any], settings: Settings | None = None) -> bool:
    """The search index gate's call once its decision is recorded (passed or blocked)."""
    return push_stage(
        "search_index",
        search_gate_samples(decision),
        grouping={"step": "gate"},
        day=decision.get("interval") or None,
        settings=settings,
    )


def push_search_live(live_version: int, settings: Settings | None = None) -> bool:
    """The live swap's call: the version the live alias points at."""
    samples = [Sample(SEARCH_INDEX_VERSION, live_version, {"alias": "live"}, "Index version.")]
    return push_stage("search_index", samples, grouping={"step": "live"}, settings=settings)
