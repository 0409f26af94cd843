"""Feature and prediction drift with Evidently, for the whole fleet and per slice (plant).

Each slice compares the current rows of that slice with the reference rows of the same slice
(and, with ``match_day_type``, of the same day type) in its own Evidently ``Report``, in one of
two depths:

- **screen**: the drifted-column count over the policy's columns (with the policy's distance
  method and per-column thresholds) and the prediction's drift score. With the ``wasserstein``
  method it is computed here (:func:`screen_slice`) with Evidently's own formula (scipy's W1
  over the reference's population standard deviation, floored at 0.001, after dropping NaN and
  infinities): the same floats, without the histograms, correlations and time-index plot data
  that Evidently's ``DriftedColumnsCount`` computes for every column and a screen throws away
  (~1.8 s against ~0.05 s for a plant of the demo under load; BENCHMARKS.md). Other methods go
  through Evidently's ``DriftedColumnsCount`` and ``ValueDrift`` (:func:`compare_slice`).
- **detail**: ``DataDriftPreset`` (per-column scores, the drift table and distribution charts)
  plus the prediction's ``ValueDrift`` and, for the fleet, ``DataSummaryPreset``. Evidently
  renders its plotly charts while it computes, about 1.5 s per 20-column slice whatever the
  row count, so the pipeline runs it for the fleet and for every slice the screen (or the
  data-quality check) flagged, which is also where an engineer wants to read the HTML.

The numbers kept (scores, drifted columns, share, dataset-drift flag) come from Evidently's own
results, cast to plain floats (Evidently returns numpy values). ``DriftedColumnsCount`` has no
dataset-drift boolean: the flag is ``share >= drift_share``, the rule its preset applies.

Columns that are entirely null in the current or the reference slice cannot be compared
(Evidently refuses empty columns): they are skipped here with the reason, and the data-quality
check reports the sensor as all-null.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ml_tasks.monitoring.frames import DAY_TYPE
from ml_tasks.monitoring.policy import MonitoringPolicy

FLEET = "all"


@dataclass
class ColumnDrift:
    """One column's drift score against its threshold (distance: drift when score >= it)."""

    column: str
    method: str
    threshold: float
    score: float
    drifted: bool


@dataclass
class SliceDrift:
    """The drift result of one slice (the fleet, or one plant)."""

    name: str
    current_rows: int
    reference_rows: int
    reference_day_type: str
    evaluated: bool
    detail: bool = False
    skipped_reason: str | None = None
    columns: list[ColumnDrift] = field(default_factory=list)
    not_compared: dict[str, str] = field(default_factory=dict)
    drifted_count: int = 0
    share: float = 0.0
    dataset_drift: bool = False
    prediction: ColumnDrift | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["drifted_columns"] = self.drifted_columns
        return out


def slice_name(column: str | None, value: Any) -> str:
    """``all`` for the fleet, ``plant_id=P2`` for a slice."""
    return FLEET if column is None else f"{column}={value}"


def _float(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else float("nan")


def _comparable(frame: Any, column: str) -> bool:
    return column in frame.columns and bool(frame[column].notna().any())


def match_reference(reference: Any, current_day_type: str, policy: MonitoringPolicy) -> tuple:
    """The reference rows for a slice: same day type when there are enough of them."""
    if policy.reference.match_day_type and DAY_TYPE in reference.columns and len(reference):
        same = reference[reference[DAY_TYPE] == current_day_type]
        if len(same) >= policy.reference.min_rows:
            return same, current_day_type
    return reference, "all"


def compare_slice(
    name: str,
    current: Any,
    reference: Any,
    policy: MonitoringPolicy,
    *,
    current_day_type: str,
    with_prediction: bool,
    detail: bool,
    summary_columns: list[str] | None = None,
    timestamp: datetime | None = None,
) -> tuple[SliceDrift, Any]:
    """Compare one slice (screen or detail); returns the result and the Evidently snapshot
    (None when the slice could not be compared).

    ``summary_columns`` adds Evidently's ``DataSummaryPreset`` over those columns (nulls, ranges,
    category counts, current next to reference).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    ref, result, columns, with_prediction = _prepare(
        name, current, reference, policy, current_day_type, with_prediction, detail
    )
    if result.skipped_reason is not None:
        return result, None
    prediction = policy.prediction.column

    numerical = columns + ([prediction] if with_prediction else [])
    summary = [c for c in summary_columns or [] if c in current.columns and c in ref.columns]
    categorical = [c for c in summary if c in policy.quality.categorical_columns]
    numerical += [c for c in summary if c not in categorical and c not in numerical]
    keep = numerical + categorical
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    thresholds = {c: policy.drift.threshold_for(c) for c in columns}
    metrics: list[Any] = []
    if columns and detail:
        metrics.append(
            DataDriftPreset(
                columns=columns,
                method=policy.drift.method,
                per_column_threshold=thresholds,
                drift_share=policy.drift.drift_share,
            )
        )
    elif columns:
        metrics.append(
            DriftedColumnsCount(
                columns=columns,
                method=policy.drift.method,
                per_column_threshold=thresholds,
                drift_share=policy.drift.drift_share,
            )
        )
    if with_prediction:
        metrics.append(
            ValueDrift(
                column=prediction,
                method=policy.prediction.method,
                threshold=policy.prediction.threshold,
            )
        )
    if summary:
        metrics.append(DataSummaryPreset(columns=summary))
    report = Report(metrics, metadata={"slice": name, "depth": "detail" if detail else "screen"})
    snapshot = report.run(
        Dataset.from_pandas(current[keep], data_definition=definition),
        Dataset.from_pandas(ref[keep], data_definition=definition),
        timestamp=timestamp,
        name=f"drift {name}",
    )
    _read_results(snapshot.dict(), result, policy, set(columns), prediction)
    result.evaluated = True
    return result, snapshot


def _read_results(
    results: dict[str, Any],
    out: SliceDrift,
    policy: MonitoringPolicy,
    columns: set[str],
    prediction: str,
) -> None:
    """Per-column scores and the drifted count/share from Evidently's result dict."""
    for metric in results["metrics"]:
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith(":DriftedColumnsCount"):
            out.drifted_count = round(_float(metric["value"]["count"]))
            out.share = _float(metric["value"]["share"])
        elif kind.endswith(":ValueDrift"):
            column = config["column"]
            score = _float(metric["value"])
            threshold = _float(config["threshold"])
            drift = ColumnDrift(
                column=column,
                method=str(config["method"]),
                threshold=threshold,
                score=score,
                # Distance methods only (the policy rejects p-value ones): at or over = drift.
                drifted=bool(score >= threshold),
            )
            if column == prediction and column not in columns:
                out.prediction = drift
            elif column in columns:
                out.columns.append(drift)
    order = {c: i for i, c in enumerate(policy.drift.columns)}
    out.columns.sort(key=lambda c: order.get(c.column, len(order)))
    counted = sum(c.drifted for c in out.columns)
    if out.detail and counted != out.drifted_count:
        raise RuntimeError(
            f"slice {out.name}: Evidently counts {out.drifted_count} drifted columns, the "
            f"per-column results {counted}; check the policy's methods and thresholds"
        )
    out.dataset_drift = bool(columns) and out.share >= policy.drift.drift_share


def _prepare(
    name: str,
    current: Any,
    reference: Any,
    policy: MonitoringPolicy,
    current_day_type: str,
    with_prediction: bool,
    detail: bool,
) -> tuple[Any, SliceDrift, list[str], bool]:
    """The slice's reference rows, its result shell, the comparable columns and whether the
    prediction is compared; ``result.skipped_reason`` is set when nothing can be compared."""
    ref, ref_type = match_reference(reference, current_day_type, policy)
    result = SliceDrift(
        name=name,
        current_rows=len(current),
        reference_rows=len(ref),
        reference_day_type=ref_type,
        evaluated=False,
        detail=detail,
    )
    if len(current) < policy.current.min_rows or len(ref) < policy.reference.min_rows:
        result.skipped_reason = (
            f"too few rows to compare ({len(current)} current, {len(ref)} reference; "
            f"minimum {policy.current.min_rows} and {policy.reference.min_rows})"
        )
        return ref, result, [], False
    columns = []
    for column in policy.drift.columns:
        if not _comparable(current, column):
            result.not_compared[column] = "no values in the current interval"
        elif not _comparable(ref, column):
            result.not_compared[column] = "no values in the reference"
        else:
            columns.append(column)
    prediction = policy.prediction.column
    with_prediction = (
        with_prediction and _comparable(current, prediction) and _comparable(ref, prediction)
    )
    if not columns and not with_prediction:
        result.skipped_reason = "no column has values on both sides"
    return ref, result, columns, with_prediction


# Methods :func:`screen_slice` computes itself; any other goes through Evidently.
SCREEN_METHODS = frozenset({"wasserstein"})


def _finite(values: Any) -> Any:
    import numpy as np

    array = np.asarray(values, dtype="float64")
    return array[np.isfinite(array)]


def wasserstein_norm(reference: Any, current: Any) -> float:
    """Evidently's ``wasserstein`` score: W1(reference, current) / max(std(reference), 0.001),
    NaN and infinities dropped first (``legacy/calculations/stattests/wasserstein_distance_norm``
    and the cleaning in ``get_one_column_drift``)."""
    import numpy as np
    from scipy import stats

    ref, cur = _finite(reference), _finite(current)
    norm = max(float(np.std(ref)), 0.001)
    return float(stats.wasserstein_distance(ref, cur) / norm)


@dataclass
class ScreenSnapshot:
    """The JSON record of a screened slice (what Evidently's snapshot holds for a screen:
    the drifted-column count and share, the prediction's score), plus every column's score."""

    name: str
    method: str
    scores: dict[str, list[float]]
    drifted_count: int
    share: float
    prediction: dict[str, Any] | None

    def json(self) -> str:
        import json

        body = {
            "slice": self.name,
            "depth": "screen",
            "method": self.method,
            "columns": {c: {"score": s, "threshold": t} for c, (s, t) in self.scores.items()},
            "drifted_count": self.drifted_count,
            "share": self.share,
            "prediction": self.prediction,
        }
        return json.dumps(body, indent=2, allow_nan=False, default=str)


def can_screen(policy: MonitoringPolicy) -> bool:
    """Whether :func:`screen_slice` computes the policy's methods itself."""
    return {policy.drift.method, policy.prediction.method} <= SCREEN_METHODS


def screen_slice(
    name: str,
    current: Any,
    reference: Any,
    policy: MonitoringPolicy,
    *,
    current_day_type: str,
    with_prediction: bool,
) -> tuple[SliceDrift, ScreenSnapshot | None]:
    """The screen of one slice without Evidently: the same result as
    ``compare_slice(..., detail=False)`` (count, share, dataset drift, prediction score) for
    the methods in :data:`SCREEN_METHODS`."""
    if not can_screen(policy):
        raise ValueError(f"no built-in screen for {policy.drift.method!r}")
    ref, result, columns, with_prediction = _prepare(
        name, current, reference, policy, current_day_type, with_prediction, False
    )
    if result.skipped_reason is not None:
        return result, None
    scores = {}
    for column in columns:
        threshold = float(policy.drift.threshold_for(column))
        scores[column] = [wasserstein_norm(ref[column], current[column]), threshold]
    drifted = sum(score >= threshold for score, threshold in scores.values())
    result.drifted_count = drifted
    result.share = drifted / len(columns) if columns else 0.0
    result.dataset_drift = bool(columns) and result.share >= policy.drift.drift_share
    snapshot_prediction = None
    if with_prediction:
        column = policy.prediction.column
        threshold = float(policy.prediction.threshold)
        score = wasserstein_norm(ref[column], current[column])
        result.prediction = ColumnDrift(
            column=column,
            method=policy.prediction.method,
            threshold=threshold,
            score=score,
            drifted=bool(score >= threshold),
        )
        snapshot_prediction = asdict(result.prediction)
    result.evaluated = True
    snapshot = ScreenSnapshot(
        name=name,
        method=policy.drift.method,
        scores=scores,
        drifted_count=drifted,
        share=result.share,
        prediction=snapshot_prediction,
    )
    return result, snapshot
