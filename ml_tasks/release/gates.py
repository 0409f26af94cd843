"""Promotion gates: the policy's rules applied to a version's evaluation and to drift status.

Four gates, one per kind of evidence, each a sensor task in ``promote_model``:

- ``metrics``: every gated metric against its absolute bound and, when there is a champion,
  against the champion's value on the same holdout (absolute and relative regression); also
  that the holdout was big enough and that the champion compared with is still the champion;
- ``robustness``: the worst drop per perturbation kind against ``max_drop``;
- ``artifacts``: the required artifacts exist in the version's MLflow run;
- ``drift``: drift monitoring is not in alarm (:func:`ml_tasks.monitoring.status.promotion_gate`);
  present only when the policy has the rule.

Every check records the metric, the challenger's value, the champion's value and the threshold,
and says in one sentence why it passed or failed. :func:`decide` returns None while the
evaluation a gate needs does not exist yet (the sensor keeps waiting). With ``record=True``
(what the gate sensors use) each verdict is also kept on the model version as the tag
``gate.<gate>`` (``passed`` or ``blocked``): :func:`recorded_verdict` reads them back, e.g. for
the rollback rule (only a version that passed every gate, or was champion, is a target).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from ml_tasks.release.policy import MetricRule, PromotionPolicy, load_policy
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

GATES = ("metrics", "robustness", "artifacts", "drift")
NEEDS_EVALUATION = frozenset({"metrics", "robustness", "artifacts"})
VERDICT_TAG = "gate.{gate}"
PASSED, BLOCKED = "passed", "blocked"


@dataclass(frozen=True)
class Check:
    """One rule applied: the numbers and the verdict."""

    rule: str
    metric: str
    challenger: Any
    champion: Any
    threshold: Any
    passed: bool
    message: str


@dataclass(frozen=True)
class GateDecision:
    """A gate's verdict on one version, with every check."""

    gate: str
    model_name: str
    version: str
    champion_version: str | None
    passed: bool
    checks: tuple[Check, ...]
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        return [c.message for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [asdict(c) for c in self.checks]
        out["reasons"] = self.reasons
        return out

    def summary(self) -> str:
        head = (
            f"gate {self.gate}: {'PASSED' if self.passed else 'BLOCKED'} "
            f"{self.model_name} v{self.version}"
            f" (champion {'v' + self.champion_version if self.champion_version else 'none'})"
        )
        if self.passed:
            return f"{head}, {len(self.checks)} check(s) passed"
        return f"{head}: " + "; ".join(self.reasons)

    def log_lines(self) -> list[str]:
        return [f"{'PASS' if c.passed else 'FAIL'} {c.message}" for c in self.checks]


def _n(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def metric_checks(rule: MetricRule, challenger: Any, champion: Any) -> list[Check]:
    """The bounds of ``rule`` for one metric (regression only when the champion has a value)."""
    m = rule.metric
    if challenger is None:
        return [
            Check(
                "available",
                m,
                None,
                champion,
                None,
                False,
                f"{m}: not available for the challenger (undefined on this holdout)",
            )
        ]
    checks = []
    if rule.min is not None:
        ok = challenger >= rule.min
        checks.append(
            Check(
                "min",
                m,
                challenger,
                champion,
                rule.min,
                ok,
                f"{m}: challenger {_n(challenger)} {'>=' if ok else '<'} minimum {_n(rule.min)}",
            )
        )
    if rule.max is not None:
        ok = challenger <= rule.max
        checks.append(
            Check(
                "max",
                m,
                challenger,
                champion,
                rule.max,
                ok,
                f"{m}: challenger {_n(challenger)} {'<=' if ok else '>'} maximum {_n(rule.max)}",
            )
        )
    if champion is None:
        return checks
    regression = (champion - challenger) if rule.higher_is_better else (challenger - champion)
    if rule.max_regression_abs is not None:
        ok = regression <= rule.max_regression_abs
        checks.append(
            Check(
                "max_regression_abs",
                m,
                challenger,
                champion,
                rule.max_regression_abs,
                ok,
                f"{m}: challenger {_n(challenger)} vs champion {_n(champion)}: "
                f"regression {_n(regression)} {'<=' if ok else '>'} "
                f"max_regression_abs {_n(rule.max_regression_abs)}",
            )
        )
    if rule.max_regression_rel is not None:
        allowed = rule.max_regression_rel * abs(champion)
        ok = regression <= allowed
        checks.append(
            Check(
                "max_regression_rel",
                m,
                challenger,
                champion,
                rule.max_regression_rel,
                ok,
                f"{m}: challenger {_n(challenger)} vs champion {_n(champion)}: "
                f"regression {_n(regression)} {'<=' if ok else '>'} "
                f"max_regression_rel {_n(rule.max_regression_rel)} x |champion| = "
                f"{_n(allowed)}",
            )
        )
    return checks


def metrics_gate(
    evaluation: dict[str, Any], policy: PromotionPolicy, current_champion: str | None
) -> list[Check]:
    """The ``metrics`` gate's checks on an evaluation."""
    checks = []
    compared = (evaluation.get("champion") or {}).get("version")
    if compared != current_champion and current_champion != evaluation["version"]:
        checks.append(
            Check(
                "champion_unchanged",
                "champion",
                compared,
                current_champion,
                None,
                False,
                f"champion: evaluated against {'v' + compared if compared else 'no champion'}"
                f" but the champion is now {'v' + current_champion if current_champion else 'none'}"
                ": evaluate again",
            )
        )
    hold, ev = evaluation["holdout"], policy.evaluation
    for name, value, minimum in (
        ("holdout_rows", hold["rows"], ev.min_holdout_rows),
        ("holdout_positives", hold["positives"], ev.min_holdout_positives),
    ):
        ok = value >= minimum
        checks.append(
            Check(
                "min",
                name,
                value,
                None,
                minimum,
                ok,
                f"{name}: {value} {'>=' if ok else '<'} minimum {minimum}"
                + ("" if ok else " (too little holdout to compare on)"),
            )
        )
    error = (evaluation.get("errors") or {}).get("champion")
    if error:
        checks.append(
            Check("champion_scored", "champion", None, compared, None, False, f"champion: {error}")
        )
    challenger = evaluation["metrics"]["challenger"]
    champion = evaluation["metrics"].get("champion") or {}
    for rule in policy.gates.metrics:
        checks += metric_checks(rule, challenger.get(rule.metric), champion.get(rule.metric))
    return checks


def robustness_gate(evaluation: dict[str, Any], policy: PromotionPolicy) -> list[Check]:
    """The ``robustness`` gate's checks: worst drop per perturbation kind."""
    summary = (evaluation.get("robustness") or {}).get("summary") or {}
    metric = (evaluation.get("robustness") or {}).get("metric", policy.robustness.metric)
    use_upper = policy.robustness.statistic == "upper_ci"
    checks = []
    for rule in policy.gates.robustness:
        result = summary.get(rule.perturbation) or {}
        drop = result.get("drop")
        ci = result.get("ci") or [None, None]
        value = ci[1] if use_upper else drop
        name = f"{rule.perturbation}[{result.get('case')}]"
        if value is None:
            checks.append(
                Check(
                    "max_drop",
                    name,
                    None,
                    None,
                    rule.max_drop,
                    False,
                    f"{name}: {metric} drop not measured",
                )
            )
            continue
        ok = value <= rule.max_drop
        label = "upper CI of the drop" if use_upper else "drop"
        checks.append(
            Check(
                "max_drop",
                name,
                value,
                None,
                rule.max_drop,
                ok,
                f"{name}: {metric} {label} {_n(value)} (CI {_n(ci[0])}..{_n(ci[1])}) "
                f"{'<=' if ok else '>'} max_drop {_n(rule.max_drop)}",
            )
        )
    return checks


def artifacts_gate(
    model_name: str, version: str, run_id: str, policy: PromotionPolicy, mlflow_client: Any
) -> list[Check]:
    """The ``artifacts`` gate's checks: each required artifact is in the version's run."""
    from ml_tasks.registry.models import artifact_exists

    checks = []
    for artifact in policy.gates.artifacts:
        ok = artifact_exists(mlflow_client, run_id, artifact)
        checks.append(
            Check(
                "artifact",
                artifact,
                "present" if ok else "missing",
                None,
                "required",
                ok,
                f"artifact {artifact}: {'present' if ok else 'MISSING'} in run "
                f"{run_id} of {model_name} v{version}",
            )
        )
    return checks


def drift_gate(model_name: str, policy: PromotionPolicy, settings: Settings) -> list[Check]:
    """The ``drift`` gate's check (none when the policy has no drift rule)."""
    if policy.gates.drift is None or not policy.gates.drift.block_on_alarm:
        return []
    from ml_tasks.monitoring.status import promotion_gate

    decision = promotion_gate(model_name, settings)
    status = decision.status
    return [
        Check(
            "no_alarm",
            "drift",
            "alarm" if status.get("in_alarm") else "no alarm",
            None,
            "no alarm",
            bool(decision.open),
            f"drift: {decision.reason}",
        )
    ]


def record_decision(mlflow_client: Any, decision: GateDecision) -> None:
    """Keep the verdict on the version: ``gate.<gate>`` = passed | blocked, with when and why."""
    from datetime import UTC, datetime

    key = VERDICT_TAG.format(gate=decision.gate)
    name, version = decision.model_name, decision.version
    mlflow_client.set_model_version_tag(name, version, key, PASSED if decision.passed else BLOCKED)
    mlflow_client.set_model_version_tag(
        name, version, f"{key}.at", datetime.now(UTC).isoformat(timespec="seconds")
    )
    mlflow_client.set_model_version_tag(
        name, version, f"{key}.champion", decision.champion_version or "none"
    )


def recorded_verdict(tags: dict[str, str]) -> str | None:
    """``blocked`` if any recorded gate blocked the version, ``passed`` if every gate passed it,
    None while some gate has no recorded verdict."""
    verdicts = [tags.get(VERDICT_TAG.format(gate=g)) for g in GATES]
    if BLOCKED in verdicts:
        return BLOCKED
    return PASSED if all(v == PASSED for v in verdicts) else None


def decide(
    gate: str,
    model_name: str,
    version: str | int,
    *,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
    record: bool = False,
) -> GateDecision | None:
    """Apply one gate to one version; None while the evaluation it needs is not complete.

    ``record``: also keep the verdict on the version (:func:`record_decision`).
    """
    from ml_tasks.evaluation import records
    from ml_tasks.observability.platform_metrics import push_gate
    from ml_tasks.registry.models import CHAMPION, alias_version, client

    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; known: {GATES}")
    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    c = client(s)
    version = str(version)
    champion = alias_version(c, model_name, CHAMPION)
    evaluation = None
    if gate in NEEDS_EVALUATION:
        evaluation = records.load_evaluation(model_name, version, s)
        if evaluation is None:
            return None
        if gate == "metrics":
            checks = metrics_gate(evaluation, pol, champion)
        elif gate == "robustness":
            checks = robustness_gate(evaluation, pol)
        else:
            checks = artifacts_gate(model_name, version, evaluation["run_id"], pol, c)
    else:
        checks = drift_gate(model_name, pol, s)
    compared = ((evaluation or {}).get("champion") or {}).get("version") if evaluation else champion
    decision = GateDecision(
        gate=gate,
        model_name=model_name,
        version=version,
        champion_version=compared if compared != version else None,
        passed=all(c.passed for c in checks),
        checks=tuple(checks),
        policy={"path": pol.path, "version": pol.version, "sha256": pol.sha256},
    )
    if record:
        record_decision(c, decision)
        push_gate(decision, s)
    return decision


def decide_all(
    model_name: str,
    version: str | int,
    *,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
) -> list[GateDecision | None]:
    """Every gate (the CLI's view of what ``promote_model`` would decide)."""
    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    return [decide(g, model_name, version, settings=s, policy=pol) for g in GATES]


def format_decisions(decisions: list[GateDecision | None]) -> str:
    """Human-readable gate decisions with every check."""
    lines = []
    for gate, decision in zip(GATES, decisions, strict=True):
        if decision is None:
            lines.append(f"gate {gate}: WAITING (no complete evaluation yet)")
            continue
        lines.append(decision.summary())
        lines += [f"    {line}" for line in decision.log_lines()]
    blocked = [d for d in decisions if d is not None and not d.passed]
    waiting = [g for g, d in zip(GATES, decisions, strict=True) if d is None]
    verdict = "BLOCKED" if blocked else ("WAITING" if waiting else "PASSED")
    lines.append(f"decision: {verdict}")
    return "\n".join(lines)
