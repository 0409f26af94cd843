"""The promotion policy (``include/policies/promotion.yaml``) as typed, validated settings.

Policy as code: every threshold the release gates apply, and every knob of the evaluation that
produces the numbers they read, is in the YAML file and nowhere in the code. What the code does
know is the direction of each metric (a higher ROC-AUC is better, a higher Brier score is
worse): that is a fact about the metric, not a tolerance.

Each gated metric has, in the manner of MLflow's ``MetricThreshold``, an absolute bound and a
tolerated regression against the champion, absolute and relative; all given bounds must hold.
Unknown keys (:mod:`ml_tasks.policy`), metrics and perturbations are rejected when the file is
loaded, so a typo fails the run with its name instead of silently dropping a rule. The policy
lives next to the gates that apply it (:mod:`ml_tasks.release.gates`); the evaluation reads its
``evaluation`` and ``robustness`` knobs from it too.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ml_tasks.policy import PolicyError, mapping, read_policy_file, reject_unknown, section
from ml_tasks.settings import Settings, get_settings

# Metric -> whether a higher value is better. These are the metrics an evaluation produces.
METRIC_DIRECTIONS: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "recall_at_budget": True,
    "precision_at_budget": True,
    "brier": False,
    "brier_skill": True,
    "ece": False,
    "worst_slice_roc_auc": True,
    "worst_slice_pr_auc": True,
    "latency_p50_ms": False,
    "latency_p95_ms": False,
    "scoring_cpu_ms": False,
}
PERTURBATIONS = ("gaussian_noise", "missing_sensor", "unit_shift")
STATISTICS = ("point", "upper_ci")
ROBUSTNESS_METRICS = ("roc_auc", "pr_auc")


@dataclass(frozen=True)
class EvaluationSettings:
    """How the evaluation computes its numbers (not thresholds: the gates hold those)."""

    alert_budget: float = 0.05
    calibration_bins: int = 10
    slice_column: str | None = "plant_id"
    min_slice_rows: int = 200
    min_slice_positives: int = 5
    min_holdout_rows: int = 500
    min_holdout_positives: int = 20
    latency_calls: int = 200
    bootstrap_samples: int = 200
    confidence: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class NoiseSpec:
    """Gaussian noise on every sensor feature, ``sigma`` holdout standard deviations wide."""

    sigma: float = 0.1
    repeats: int = 5


@dataclass(frozen=True)
class UnitShift:
    """A sensor reporting in another unit: levels become ``x * scale + offset``."""

    name: str
    sensor: str
    scale: float
    offset: float = 0.0


@dataclass(frozen=True)
class RobustnessSettings:
    """The perturbation tests (ISO/IEC 24029-2 style statistical testing)."""

    metric: str = "roc_auc"
    sensors: tuple[str, ...] = ()
    gaussian_noise: NoiseSpec = field(default_factory=NoiseSpec)
    unit_shifts: tuple[UnitShift, ...] = ()
    # Which number the gate compares with ``max_drop``: the point estimate of the drop, or the
    # upper end of its bootstrap confidence interval (robust "with confidence").
    statistic: str = "point"


@dataclass(frozen=True)
class MetricRule:
    """Bounds on one metric: absolute, and the regression tolerated against the champion."""

    metric: str
    min: float | None = None
    max: float | None = None
    max_regression_abs: float | None = None
    max_regression_rel: float | None = None

    @property
    def higher_is_better(self) -> bool:
        return METRIC_DIRECTIONS[self.metric]


@dataclass(frozen=True)
class RobustnessRule:
    """The largest tolerated drop of the robustness metric under one perturbation kind."""

    perturbation: str
    max_drop: float


@dataclass(frozen=True)
class DriftRule:
    """Promotion waits while drift monitoring is in alarm for the model."""

    block_on_alarm: bool = True


@dataclass(frozen=True)
class GatePolicy:
    """Everything the gates check."""

    metrics: tuple[MetricRule, ...] = ()
    robustness: tuple[RobustnessRule, ...] = ()
    artifacts: tuple[str, ...] = ()
    drift: DriftRule | None = None


@dataclass(frozen=True)
class ShadowPolicy:
    """Offline shadow replay: the share of alert decisions the two models may disagree on."""

    max_alert_disagreement: float | None = None


@dataclass(frozen=True)
class LivePolicy:
    """Shadow and canary on live gateway traffic: how much traffic to wait for, and the bounds
    its numbers (:mod:`ml_tasks.release.live`, from the prediction log) must stay within."""

    # Answers each step needs before it is judged: shadow, mirrored answers the shadow scored;
    # a canary step, answers given by the canary.
    min_shadow_answers: int = 200
    min_canary_answers: int = 200
    # How long a step waits for them before the release fails (and rolls the canary back).
    wait_seconds: float = 900.0
    # Share of the canary's answers that are server errors (5xx); for the shadow, of its mirrors.
    max_error_rate: float = 0.01
    # Canary p99 request latency over the champion's p99 in the same window; a canary p99 under
    # the floor never fails (sub-millisecond timings are mostly scheduling noise).
    max_p99_latency_ratio: float = 2.0
    p99_latency_floor_ms: float = 20.0
    # Mean |canary score - champion score| on the same requests (mirrored answers).
    max_mean_abs_score_difference: float = 0.1
    # 1 - |both alert| / |either alerts| over the machines of the same requests (as the offline
    # shadow measures it), judged only once this many machines alerted on either side.
    max_alert_disagreement: float = 0.9
    min_alert_machines: int = 10


@dataclass(frozen=True)
class ReleasePolicy:
    """Release steps."""

    shadow: ShadowPolicy = field(default_factory=ShadowPolicy)
    live: LivePolicy = field(default_factory=LivePolicy)


@dataclass(frozen=True)
class PromotionPolicy:
    """The whole policy file."""

    name: str = "promotion"
    version: int = 1
    model_name: str = "failure_model"
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    robustness: RobustnessSettings = field(default_factory=RobustnessSettings)
    gates: GatePolicy = field(default_factory=GatePolicy)
    release: ReleasePolicy = field(default_factory=ReleasePolicy)
    path: str | None = None
    sha256: str | None = None

    def rule(self, metric: str) -> MetricRule | None:
        return next((r for r in self.gates.metrics if r.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (recorded with every evaluation and gate decision)."""
        return asdict(self)


def _robustness(raw: Any) -> RobustnessSettings:
    raw = dict(mapping("robustness", raw))
    reject_unknown("robustness", raw, {f.name for f in fields(RobustnessSettings)})
    noise = section("robustness.gaussian_noise", NoiseSpec, raw.pop("gaussian_noise", None))
    shifts = []
    for i, item in enumerate(raw.pop("unit_shifts", None) or []):
        shifts.append(section(f"robustness.unit_shifts[{i}]", UnitShift, item))
    sensors = tuple(raw.pop("sensors", None) or ())
    return RobustnessSettings(
        **raw, sensors=sensors, gaussian_noise=noise, unit_shifts=tuple(shifts)
    )


def _gates(raw: Any) -> GatePolicy:
    raw = mapping("gates", raw)
    reject_unknown("gates", raw, {"metrics", "robustness", "artifacts", "drift"})
    metrics = []
    for name, bounds in mapping("gates.metrics", raw.get("metrics")).items():
        if name not in METRIC_DIRECTIONS:
            raise PolicyError(
                f"gates.metrics: unknown metric {name!r}; known: {sorted(METRIC_DIRECTIONS)}"
            )
        bounds = mapping(f"gates.metrics.{name}", bounds)
        known = {f.name for f in fields(MetricRule)} - {"metric"}
        reject_unknown(f"gates.metrics.{name}", bounds, known)
        metrics.append(
            MetricRule(
                metric=name, **{k: None if v is None else float(v) for k, v in bounds.items()}
            )
        )
    robustness = []
    for kind, spec in mapping("gates.robustness", raw.get("robustness")).items():
        if kind not in PERTURBATIONS:
            raise PolicyError(
                f"gates.robustness: unknown perturbation {kind!r}; known: {PERTURBATIONS}"
            )
        spec = mapping(f"gates.robustness.{kind}", spec)
        reject_unknown(f"gates.robustness.{kind}", spec, {"max_drop"})
        if spec.get("max_drop") is None:
            raise PolicyError(f"gates.robustness.{kind}: max_drop is required")
        robustness.append(RobustnessRule(kind, float(spec["max_drop"])))
    artifacts = raw.get("artifacts") or []
    if not isinstance(artifacts, list) or not all(isinstance(a, str) for a in artifacts):
        raise PolicyError("gates.artifacts: expected a list of artifact paths")
    drift = None
    if "drift" in raw:  # absent key: no drift rule at all
        drift = section("gates.drift", DriftRule, raw["drift"])
    return GatePolicy(tuple(metrics), tuple(robustness), tuple(artifacts), drift)


def _release(raw: Any) -> ReleasePolicy:
    raw = mapping("release", raw)
    reject_unknown("release", raw, {"shadow", "live"})
    return ReleasePolicy(
        shadow=section("release.shadow", ShadowPolicy, raw.get("shadow")),
        live=section("release.live", LivePolicy, raw.get("live"), _number),
    )


def _number(key: str, value: Any) -> float:
    """A numeric policy value (YAML may give an int where a float is meant, or a typo'd text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"release.live.{key}: expected a number, got {value!r}")
    return value


def parse_policy(
    raw: dict[str, Any], path: str | None = None, sha256: str | None = None
) -> PromotionPolicy:
    """Build and validate a policy from its parsed YAML."""
    top = {"name", "version", "model_name", "evaluation", "robustness", "gates", "release"}
    reject_unknown("policy", raw, top)
    policy = PromotionPolicy(
        **{k: raw[k] for k in ("name", "version", "model_name") if k in raw},
        evaluation=section("evaluation", EvaluationSettings, raw.get("evaluation")),
        robustness=_robustness(raw.get("robustness")),
        gates=_gates(raw.get("gates")),
        release=_release(raw.get("release")),
        path=path,
        sha256=sha256,
    )
    validate(policy)
    return policy


def validate(policy: PromotionPolicy) -> None:
    """Raise :class:`PolicyError` on values that cannot work."""
    problems = []
    ev, rb = policy.evaluation, policy.robustness
    if not 0 < ev.alert_budget <= 1:
        problems.append(f"evaluation.alert_budget must be in (0, 1], got {ev.alert_budget}")
    if not 0 < ev.confidence < 1:
        problems.append(f"evaluation.confidence must be in (0, 1), got {ev.confidence}")
    for name in ("calibration_bins", "bootstrap_samples", "latency_calls"):
        if getattr(ev, name) < 1:
            problems.append(f"evaluation.{name} must be >= 1")
    if rb.metric not in ROBUSTNESS_METRICS:
        problems.append(f"robustness.metric must be one of {ROBUSTNESS_METRICS}, got {rb.metric!r}")
    if rb.statistic not in STATISTICS:
        problems.append(f"robustness.statistic must be one of {STATISTICS}, got {rb.statistic!r}")
    if rb.gaussian_noise.sigma <= 0 or rb.gaussian_noise.repeats < 1:
        problems.append("robustness.gaussian_noise: sigma must be > 0 and repeats >= 1")
    for shift in rb.unit_shifts:
        if shift.sensor not in rb.sensors:
            problems.append(
                f"robustness.unit_shifts {shift.name}: {shift.sensor!r} is not a sensor"
            )
        if shift.scale == 0:
            problems.append(f"robustness.unit_shifts {shift.name}: scale must not be 0")
    if any(r.perturbation != "gaussian_noise" for r in policy.gates.robustness) and not rb.sensors:
        problems.append("robustness.sensors is empty but sensor perturbations are gated")
    for rule in policy.gates.metrics:
        if all(
            getattr(rule, k) is None
            for k in ("min", "max", "max_regression_abs", "max_regression_rel")
        ):
            problems.append(f"gates.metrics.{rule.metric}: no bound given")
        for k in ("max_regression_abs", "max_regression_rel"):
            value = getattr(rule, k)
            if value is not None and value < 0:
                problems.append(f"gates.metrics.{rule.metric}.{k} must be >= 0")
    live = policy.release.live
    for name in ("min_shadow_answers", "min_canary_answers", "min_alert_machines"):
        if getattr(live, name) < 1:
            problems.append(f"release.live.{name} must be >= 1")
    for name in ("wait_seconds", "max_p99_latency_ratio"):
        if getattr(live, name) <= 0:
            problems.append(f"release.live.{name} must be > 0")
    for name in ("max_error_rate", "max_alert_disagreement"):
        if not 0 <= getattr(live, name) <= 1:
            problems.append(f"release.live.{name} must be in [0, 1]")
    for name in ("p99_latency_floor_ms", "max_mean_abs_score_difference"):
        if getattr(live, name) < 0:
            problems.append(f"release.live.{name} must be >= 0")
    for robust in policy.gates.robustness:
        if robust.max_drop < 0:
            problems.append(f"gates.robustness.{robust.perturbation}.max_drop must be >= 0")
    if problems:
        raise PolicyError("invalid promotion policy: " + "; ".join(problems))


def load_policy(
    path: str | Path | None = None, settings: Settings | None = None
) -> PromotionPolicy:
    """Read the policy file (default: the settings' ``promotion_policy_path``)."""
    target = Path(path) if path is not None else (settings or get_settings()).promotion_policy_path
    raw, text = read_policy_file(target, "promotion")
    return parse_policy(raw, path=str(target), sha256=hashlib.sha256(text.encode()).hexdigest())
