"""The monitoring policy (``include/policies/monitoring.yaml``) as typed, validated settings.

Policy as code: every threshold the daily check applies is in the YAML file, reviewed like code.
Unknown keys (:mod:`ml_tasks.policy`) and p-value methods are rejected when the file is loaded,
so a typo fails the run with the key's name instead of silently falling back to a default.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from ml_tasks.policy import PolicyError, read_policy_file, reject_unknown, section
from ml_tasks.settings import Settings, get_settings

# Evidently's distance-type methods: a column drifts when its score is at or over the threshold.
# (Its p-value methods drift when the score is under the threshold; they are not accepted here.)
DISTANCE_METHODS = frozenset({"wasserstein", "psi", "jensenshannon", "hellinger", "kl_div", "ed"})
PREDICTION_ALARM_ON = ("fleet", "every_slice")
BREACH_KINDS = ("feature_drift", "prediction_drift", "data_quality")
HTML_MODES = ("findings", "all", "none")


@dataclass(frozen=True)
class ReferencePolicy:
    """What the current interval is compared with."""

    window_days: int = 7
    start: date | None = None
    sample_rows: int = 100_000
    match_day_type: bool = True
    min_rows: int = 200


@dataclass(frozen=True)
class CurrentPolicy:
    """How much of the interval is compared."""

    sample_rows: int = 20_000
    min_rows: int = 200


@dataclass(frozen=True)
class DriftPolicy:
    """Per-column drift tests and the dataset-drift rule."""

    columns: tuple[str, ...] = ()
    method: str = "wasserstein"
    threshold: float = 0.2
    column_thresholds: dict[str, float] = field(default_factory=dict)
    drift_share: float = 0.1

    def threshold_for(self, column: str) -> float:
        """The column's threshold: the first matching pattern, else the default."""
        for pattern, value in self.column_thresholds.items():
            if fnmatch.fnmatchcase(column, pattern):
                return value
        return self.threshold


@dataclass(frozen=True)
class PredictionPolicy:
    """Prediction drift of the champion (when there is one)."""

    column: str = "prediction"
    method: str = "wasserstein"
    threshold: float = 0.2
    # Which slices' prediction drift raises the alarm: "fleet" (the whole fleet only; every
    # slice's score is still computed and reported) or "every_slice".
    alarm_on: str = "fleet"


@dataclass(frozen=True)
class QualityPolicy:
    """Data-quality limits per slice."""

    sensors: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    max_null_share: float = 0.2
    max_silent_share: float = 0.2
    max_out_of_range_share: float = 0.01
    alarm_on_new_categories: bool = True


@dataclass(frozen=True)
class AlarmPolicy:
    """Which breach kinds request retraining."""

    retrain_on: tuple[str, ...] = ("feature_drift", "prediction_drift")


@dataclass(frozen=True)
class ReportPolicy:
    """Which Evidently HTML reports are written."""

    html: str = "findings"


@dataclass(frozen=True)
class LivePerformancePolicy:
    """Live model performance from delayed labels (``ml_tasks.monitoring.live_performance``)."""

    horizon_hours: int = 24
    min_rows: int = 200
    min_positives: int = 10
    calibration_bins: int = 10
    # Drop rule: ``None`` switches a bound off.
    max_roc_auc_drop: float | None = 0.1
    min_roc_auc: float | None = None
    max_recall_drop: float | None = None
    min_recall: float | None = None
    min_pr_auc: float | None = None
    # Which slices' breach raises the alarm: "fleet" or "every_slice" (plants too).
    alarm_on: str = "fleet"
    # Aliases whose live numbers can raise the alarm (the others are computed and reported).
    alarm_aliases: tuple[str, ...] = ("champion",)
    # Evidently classification report (HTML) per day and version.
    html: bool = True


@dataclass(frozen=True)
class MonitoringPolicy:
    """The whole policy file."""

    name: str = "monitoring"
    version: int = 1
    model_name: str = "failure_model"
    slice_column: str | None = "plant_id"
    reference: ReferencePolicy = field(default_factory=ReferencePolicy)
    current: CurrentPolicy = field(default_factory=CurrentPolicy)
    drift: DriftPolicy = field(default_factory=DriftPolicy)
    prediction: PredictionPolicy = field(default_factory=PredictionPolicy)
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    alarm: AlarmPolicy = field(default_factory=AlarmPolicy)
    reports: ReportPolicy = field(default_factory=ReportPolicy)
    live_performance: LivePerformancePolicy = field(default_factory=LivePerformancePolicy)
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (recorded with every summary)."""
        from dataclasses import asdict

        return asdict(self, dict_factory=lambda items: {k: _jsonable(v) for k, v in items})


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


_SECTIONS: dict[str, type] = {
    "reference": ReferencePolicy,
    "current": CurrentPolicy,
    "drift": DriftPolicy,
    "prediction": PredictionPolicy,
    "quality": QualityPolicy,
    "alarm": AlarmPolicy,
    "reports": ReportPolicy,
    "live_performance": LivePerformancePolicy,
}


def _section(name: str, cls: type, raw: Any) -> Any:
    def convert(key: str, value: Any) -> Any:
        if key == "start" and value is not None and not isinstance(value, date):
            try:
                return date.fromisoformat(str(value))
            except ValueError as err:
                raise PolicyError(f"{name}.start: not a date: {value!r}") from err
        if key == "alarm_aliases":
            return tuple(str(v) for v in value or ())
        if key == "column_thresholds":
            return {str(k): float(v) for k, v in (value or {}).items()}
        return value

    return section(name, cls, raw, convert)


def parse_policy(raw: dict[str, Any], path: str | None = None) -> MonitoringPolicy:
    """Build and validate a policy from its parsed YAML."""
    top = {f.name for f in fields(MonitoringPolicy)} - {"path"}
    reject_unknown("monitoring policy", raw, top, what="top-level key")
    sections = {name: _section(name, cls, raw.get(name)) for name, cls in _SECTIONS.items()}
    plain = {k: raw[k] for k in ("name", "version", "model_name", "slice_column") if k in raw}
    policy = MonitoringPolicy(**plain, **sections, path=path)
    validate(policy)
    return policy


def validate(policy: MonitoringPolicy) -> None:
    """Raise :class:`PolicyError` on values that cannot work."""
    problems = []
    for label, method in (("drift", policy.drift.method), ("prediction", policy.prediction.method)):
        if method not in DISTANCE_METHODS:
            problems.append(
                f"{label}.method {method!r} is not a distance method "
                f"({', '.join(sorted(DISTANCE_METHODS))})"
            )
    if policy.prediction.alarm_on not in PREDICTION_ALARM_ON:
        problems.append(
            f"prediction.alarm_on must be one of {PREDICTION_ALARM_ON}, "
            f"got {policy.prediction.alarm_on!r}"
        )
    if not policy.drift.columns:
        problems.append("drift.columns is empty")
    if not 0 < policy.drift.drift_share <= 1:
        problems.append(f"drift.drift_share must be in (0, 1], got {policy.drift.drift_share}")
    thresholds = [policy.drift.threshold, policy.prediction.threshold]
    thresholds += list(policy.drift.column_thresholds.values())
    if any(t <= 0 for t in thresholds):
        problems.append("thresholds must be > 0")
    for label, share in (
        ("quality.max_null_share", policy.quality.max_null_share),
        ("quality.max_silent_share", policy.quality.max_silent_share),
        ("quality.max_out_of_range_share", policy.quality.max_out_of_range_share),
    ):
        if not 0 <= share <= 1:
            problems.append(f"{label} must be in [0, 1], got {share}")
    bad_kinds = sorted(set(policy.alarm.retrain_on) - set(BREACH_KINDS))
    if bad_kinds:
        problems.append(f"alarm.retrain_on: unknown kind(s) {bad_kinds}; known: {BREACH_KINDS}")
    if policy.reports.html not in HTML_MODES:
        problems.append(f"reports.html must be one of {HTML_MODES}, got {policy.reports.html!r}")
    for label, n in (
        ("reference.window_days", policy.reference.window_days),
        ("reference.sample_rows", policy.reference.sample_rows),
        ("current.sample_rows", policy.current.sample_rows),
    ):
        if n < 1:
            problems.append(f"{label} must be >= 1, got {n}")
    problems += _live_problems(policy.live_performance)
    if problems:
        raise PolicyError("invalid monitoring policy: " + "; ".join(problems))


def _live_problems(live: LivePerformancePolicy) -> list[str]:
    problems = []
    if live.alarm_on not in PREDICTION_ALARM_ON:
        problems.append(
            f"live_performance.alarm_on must be one of {PREDICTION_ALARM_ON}, got {live.alarm_on!r}"
        )
    for label, n in (
        ("live_performance.horizon_hours", live.horizon_hours),
        ("live_performance.min_positives", live.min_positives),
        ("live_performance.calibration_bins", live.calibration_bins),
    ):
        if n < 1:
            problems.append(f"{label} must be >= 1, got {n}")
    for label, bound in (
        ("live_performance.max_roc_auc_drop", live.max_roc_auc_drop),
        ("live_performance.min_roc_auc", live.min_roc_auc),
        ("live_performance.max_recall_drop", live.max_recall_drop),
        ("live_performance.min_recall", live.min_recall),
        ("live_performance.min_pr_auc", live.min_pr_auc),
    ):
        if bound is not None and not 0 <= bound <= 1:
            problems.append(f"{label} must be in [0, 1] or null, got {bound}")
    return problems


def load_policy(
    path: str | Path | None = None, settings: Settings | None = None
) -> MonitoringPolicy:
    """Read the policy file (default: the settings' ``monitoring_policy_path``)."""
    target = Path(path) if path is not None else (settings or get_settings()).monitoring_policy_path
    raw, _ = read_policy_file(target, "monitoring")
    return parse_policy(raw, path=str(target))
