"""The live numbers of a release stage, from the prediction log, and the decision on them.

While ``promote_model`` walks shadow -> canary on a running gateway, every answer lands in the
``predictions`` table (:mod:`ml_tasks.serving.prediction_log`) with the alias and version that
gave it and, when it was mirrored, the other model's score and alert beside it. A stage's
numbers are read from the rows since the stage (or canary step) began:

- per alias: answers (status 200), server errors (5xx), p50/p99 request latency;
- the candidate's error rate: its 5xx answers plus the mirrors it failed to score, over
  everything it was asked;
- agreement with the champion on the *same* requests (rows with ``shadow_outcome ==
  "scored"``): mean and max |score difference| over the answers, and the alert disagreement
  ``1 - |both alert| / |either alerts|`` over the distinct machines (a machine asked about
  fifty times is still one alert), as the offline shadow replay measures it. With fewer
  alerting machines than the policy's ``min_alert_machines`` the disagreement is reported but
  not judged: two alerts that differ say nothing about a model.

:func:`decide_shadow` and :func:`decide_canary` turn the numbers into a :class:`LiveDecision`
with one :class:`~ml_tasks.release.gates.Check` per rule of the policy's ``release.live``
section (the gates' style: the numbers, the threshold, one sentence). A decision is not
``ready`` until the step has seen enough traffic; the caller keeps waiting until then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ml_tasks.release.gates import Check
from ml_tasks.release.policy import LivePolicy, PromotionPolicy
from ml_tasks.settings import Settings

CHAMPION, CANARY, SHADOW = "champion", "canary", "shadow"
# Fewest champion answers in a window for its p99 to be compared with; fewer: the baseline
# given by the caller (the champion's p99 over the whole stage) is used instead.
MIN_BASELINE_ANSWERS = 50


@dataclass(frozen=True)
class AliasTraffic:
    """What one alias answered in the window."""

    alias: str
    answers: int  # status 200
    errors: int  # status >= 500
    not_found: int  # 404: unknown machines, nobody's fault
    p50_latency_ms: float | None
    p99_latency_ms: float | None
    p99_inference_ms: float | None
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agreement:
    """Candidate vs champion on the same requests (mirrored answers)."""

    pairs: int
    mean_abs_score_difference: float | None
    max_abs_score_difference: float | None
    # Distinct machines (their latest pair) where each model alerts, both do, either does.
    alerts_candidate: int
    alerts_champion: int
    alerts_both: int
    alert_machines: int
    alert_disagreement: float | None


@dataclass(frozen=True)
class LiveNumbers:
    """The numbers of one stage (or canary step) window for one candidate version."""

    stage: str
    version: str
    since: str
    until: str | None
    rows: int
    traffic: dict[str, AliasTraffic]
    # The candidate: answers it gave, errors (5xx answers + failed mirrors), everything it was
    # asked (answers + 5xx + mirrors), and the mirrors by outcome.
    candidate_answers: int
    candidate_errors: int
    candidate_attempts: int
    mirrors: dict[str, int]
    agreement: Agreement

    @property
    def error_rate(self) -> float | None:
        if not self.candidate_attempts:
            return None
        return self.candidate_errors / self.candidate_attempts

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["error_rate"] = self.error_rate
        return out


@dataclass(frozen=True)
class LiveDecision:
    """A stage's verdict on live numbers; ``ready`` False: not enough traffic yet, keep waiting."""

    stage: str
    step: int | None  # the canary share in percent; None for the shadow
    model_name: str
    version: str
    champion_version: str | None
    ready: bool
    passed: bool
    checks: tuple[Check, ...]
    numbers: LiveNumbers
    waiting_for: str | None = None
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        return [c.message for c in self.checks if not c.passed]

    @property
    def name(self) -> str:
        return self.stage if self.step is None else f"{self.stage} step {self.step} %"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [asdict(c) for c in self.checks]
        out["numbers"] = self.numbers.to_dict()
        out["reasons"] = self.reasons
        return out

    def summary(self) -> str:
        head = f"live {self.name}: {self.model_name} v{self.version}"
        if not self.ready:
            return f"{head}: waiting for {self.waiting_for}"
        if self.passed:
            return f"{head}: PASSED, {len(self.checks)} check(s) on live traffic"
        return f"{head}: BLOCKED: " + "; ".join(self.reasons)

    def log_lines(self) -> list[str]:
        return [f"{'PASS' if c.passed else 'FAIL'} {c.message}" for c in self.checks]


# -- numbers ------------------------------------------------------------------------------------


def _percentile_ms(values: Any, q: float) -> float | None:
    import numpy as np

    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype="float64"), q) * 1000.0)


def alias_traffic(rows: dict[str, Any], alias: str) -> AliasTraffic:
    """Answers, errors and latency of ``alias`` in the rows (columns as numpy arrays)."""
    mine = rows["alias"] == alias
    status = rows["status"]
    ok = mine & (status == 200)
    return AliasTraffic(
        alias=alias,
        answers=int(ok.sum()),
        errors=int((mine & (status >= 500)).sum()),
        not_found=int((mine & (status == 404)).sum()),
        p50_latency_ms=_percentile_ms(rows["latency_s"][ok], 50),
        p99_latency_ms=_percentile_ms(rows["latency_s"][ok], 99),
        p99_inference_ms=_percentile_ms(rows["inference_s"][ok], 99),
        versions=tuple(sorted({str(v) for v in rows["model_version"][mine] if v})),
    )


def agreement(
    candidate: Any,
    champion: Any,
    candidate_alert: Any,
    champion_alert: Any,
    machines: Any,
) -> Agreement:
    """Score agreement of paired answers, alert agreement of the machines they are about
    (alerts: None where a model had no threshold; those pairs are left out of the alerts)."""
    import numpy as np

    a = np.asarray(candidate, dtype="float64")
    b = np.asarray(champion, dtype="float64")
    diff = np.abs(a - b)
    latest: dict[str, tuple[bool, bool]] = {}
    for machine, x, y in zip(machines, candidate_alert, champion_alert, strict=True):
        if x is not None and y is not None:
            latest[str(machine)] = (bool(x), bool(y))
    ca = sum(1 for x, _ in latest.values() if x)
    cb = sum(1 for _, y in latest.values() if y)
    both = sum(1 for x, y in latest.values() if x and y)
    union = sum(1 for x, y in latest.values() if x or y)
    return Agreement(
        pairs=len(a),
        mean_abs_score_difference=float(diff.mean()) if len(a) else None,
        max_abs_score_difference=float(diff.max()) if len(a) else None,
        alerts_candidate=ca,
        alerts_champion=cb,
        alerts_both=both,
        alert_machines=union,
        alert_disagreement=(1.0 - both / union) if union else (0.0 if latest else None),
    )


def _columns(table: Any) -> dict[str, Any]:
    """The columns the numbers need, as numpy arrays (nulls: None in object arrays, NaN)."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in (
        "alias",
        "model_version",
        "shadow_alias",
        "shadow_version",
        "shadow_outcome",
        "machine_id",
    ):
        out[name] = np.array(table.column(name).to_pylist(), dtype=object)
    for name in ("shadow_alert", "alert"):
        out[name] = np.array(table.column(name).to_pylist(), dtype=object)
    for name in ("score", "shadow_score", "latency_s", "inference_s"):
        values = table.column(name).to_pylist()
        out[name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
    out["status"] = np.array(table.column("status").to_pylist(), dtype="int64")
    return out


def live_numbers(
    table: Any,
    *,
    stage: str,
    version: str,
    since: datetime,
    until: datetime | None = None,
) -> LiveNumbers:
    """The numbers of ``version`` as the ``stage`` alias (``shadow`` or ``canary``) in ``table``
    (prediction-log rows of the window)."""
    import numpy as np

    rows = _columns(table)
    version = str(version)
    traffic = {
        alias: alias_traffic(rows, alias)
        for alias in (CHAMPION, CANARY)
        if (rows["alias"] == alias).any()
    }
    # The candidate's own answers (a canary); a shadow only ever scores mirrors.
    answered = (rows["alias"] == stage) & (rows["model_version"] == version)
    answers = int((answered & (rows["status"] == 200)).sum())
    errors = int((answered & (rows["status"] >= 500)).sum())
    # Mirrors sent to the candidate's alias (a failed one has no version: the alias says it).
    to_candidate = rows["shadow_alias"] == stage
    outcome = rows["shadow_outcome"]
    mirrors = {
        "scored": int(
            (to_candidate & (outcome == "scored") & (rows["shadow_version"] == version)).sum()
        ),
        "error": int((to_candidate & (outcome == "error")).sum()),
        # Dropped mirrors name no target: every one in the window is counted.
        "dropped": int((outcome == "dropped").sum()),
    }
    errors += mirrors["error"]
    attempts = int(answered.sum()) - int((answered & (rows["status"] == 404)).sum())
    attempts += mirrors["scored"] + mirrors["error"]
    # Pairs on the same request: the candidate answered and the champion scored the mirror, or
    # the champion answered and the candidate scored the mirror.
    scored = outcome == "scored"
    forward = scored & answered & (rows["shadow_alias"] == CHAMPION)
    backward = (
        scored & (rows["alias"] == CHAMPION) & to_candidate & (rows["shadow_version"] == version)
    )
    candidate = np.concatenate([rows["score"][forward], rows["shadow_score"][backward]])
    champion = np.concatenate([rows["shadow_score"][forward], rows["score"][backward]])
    candidate_alert = list(rows["alert"][forward]) + list(rows["shadow_alert"][backward])
    champion_alert = list(rows["shadow_alert"][forward]) + list(rows["alert"][backward])
    return LiveNumbers(
        stage=stage,
        version=version,
        since=since.isoformat(),
        until=until.isoformat() if until else None,
        rows=table.num_rows,
        traffic=traffic,
        candidate_answers=answers if stage == CANARY else mirrors["scored"],
        candidate_errors=errors,
        candidate_attempts=attempts,
        mirrors=mirrors,
        agreement=agreement(
            candidate,
            champion,
            candidate_alert,
            champion_alert,
            list(rows["machine_id"][forward]) + list(rows["machine_id"][backward]),
        ),
    )


def measure(
    settings: Settings,
    *,
    stage: str,
    version: str,
    since: datetime,
    until: datetime | None = None,
) -> LiveNumbers:
    """:func:`live_numbers` of the prediction log's rows from ``since`` (to ``until``)."""
    from ml_tasks.serving.prediction_log import read_predictions

    table = read_predictions(settings, since=since, until=until)
    return live_numbers(table, stage=stage, version=version, since=since, until=until)


def champion_p99_ms(settings: Settings, since: datetime) -> float | None:
    """The champion's p99 request latency since ``since`` (the canary's latency baseline)."""
    from ml_tasks.serving.prediction_log import read_predictions

    table = read_predictions(settings, since=since, columns=["alias", "status", "latency_s"])
    import numpy as np

    alias = np.array(table.column("alias").to_pylist(), dtype=object)
    status = np.array(table.column("status").to_pylist(), dtype="int64")
    latency = np.array(table.column("latency_s").to_pylist(), dtype="float64")
    ok = (alias == CHAMPION) & (status == 200)
    return _percentile_ms(latency[ok], 99) if ok.sum() >= MIN_BASELINE_ANSWERS else None


# -- decisions ----------------------------------------------------------------------------------


def _n(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _bound(metric: str, value: float | None, limit: float, what: str) -> Check:
    """``value <= limit`` (None: nothing to measure, which passes and says so)."""
    if value is None:
        return Check("max", metric, None, None, limit, True, f"{metric}: nothing to measure yet")
    ok = value <= limit
    return Check(
        "max",
        metric,
        value,
        None,
        limit,
        ok,
        f"{metric}: {what} {_n(value)} {'<=' if ok else '>'} maximum {_n(limit)}",
    )


def _count(metric: str, have: int, need: int, what: str) -> Check:
    ok = have >= need
    return Check(
        "min",
        metric,
        have,
        None,
        need,
        ok,
        f"{metric}: {have} {what} ({'>=' if ok else '<'} {need})",
    )


def _alert_check(agree: Agreement, limit: float, live: LivePolicy, who: str) -> Check:
    metric = "alert_disagreement"
    shared = (
        f"{who} vs champion: {agree.alerts_both} alerting machines shared of "
        f"{agree.alerts_candidate} / {agree.alerts_champion}"
    )
    if agree.alert_machines < live.min_alert_machines:
        return Check(
            "max",
            metric,
            agree.alert_disagreement,
            None,
            limit,
            True,
            f"{metric}: not judged, {agree.alert_machines} alerting machine(s) < "
            f"{live.min_alert_machines} ({shared})",
        )
    return _bound(metric, agree.alert_disagreement, limit, f"({shared})")


def _decision(
    stage: str,
    step: int | None,
    numbers: LiveNumbers,
    checks: list[Check],
    live: LivePolicy,
    model_name: str,
    champion_version: str | None,
    needs: str,
) -> LiveDecision:
    """The verdict once the step has seen enough: enough answers or, for a candidate that
    fails, enough attempts to judge that now (``needs``: what it waits for until then)."""
    need = live.min_shadow_answers if stage == SHADOW else live.min_canary_answers
    failing = (numbers.error_rate or 0.0) > live.max_error_rate
    ready = numbers.candidate_answers >= need or (failing and numbers.candidate_attempts >= need)
    return LiveDecision(
        stage=stage,
        step=step,
        model_name=model_name,
        version=numbers.version,
        champion_version=champion_version,
        ready=ready,
        passed=ready and all(c.passed for c in checks),
        checks=tuple(checks),
        numbers=numbers,
        waiting_for=None if ready else f"{needs} ({numbers.candidate_answers} so far)",
        policy=asdict(live),
    )


def decide_shadow(
    numbers: LiveNumbers,
    policy: PromotionPolicy,
    *,
    model_name: str,
    champion_version: str | None,
) -> LiveDecision:
    """The shadow's verdict: it scored enough mirrors, rarely failed, and does not disagree
    with the champion about alerts beyond ``release.shadow.max_alert_disagreement`` (the bound
    the offline replay applies: the shadow's question is the same, only the traffic is real)."""
    live = policy.release.live
    need = live.min_shadow_answers
    agree = numbers.agreement
    checks = [
        _count("shadow_answers", numbers.candidate_answers, need, "mirrored answers scored"),
        _bound("error_rate", numbers.error_rate, live.max_error_rate, "shadow mirrors failed"),
    ]
    limit = policy.release.shadow.max_alert_disagreement
    if limit is not None:
        checks.append(_alert_check(agree, limit, live, "shadow"))
    return _decision(
        SHADOW,
        None,
        numbers,
        checks,
        live,
        model_name,
        champion_version,
        f"{need} mirrored answers scored by the shadow",
    )


def _latency_check(numbers: LiveNumbers, live: LivePolicy, baseline_p99_ms: float | None) -> Check:
    canary = numbers.traffic.get(CANARY)
    champion = numbers.traffic.get(CHAMPION)
    cand = canary.p99_latency_ms if canary else None
    same_window = champion is not None and champion.answers >= MIN_BASELINE_ANSWERS
    base = champion.p99_latency_ms if same_window and champion else baseline_p99_ms
    where = "same window" if same_window else "earlier in the stage"
    metric = "p99_latency_ms"
    if cand is None:
        return Check("ratio", metric, None, base, None, True, f"{metric}: no canary answers yet")
    if cand <= live.p99_latency_floor_ms:
        return Check(
            "floor",
            metric,
            cand,
            base,
            live.p99_latency_floor_ms,
            True,
            f"{metric}: canary {cand:.2f} ms <= floor {live.p99_latency_floor_ms:.1f} ms",
        )
    if base is None or base <= 0:
        return Check(
            "ratio",
            metric,
            cand,
            None,
            live.max_p99_latency_ratio,
            True,
            f"{metric}: canary {cand:.2f} ms, no champion answers to compare with",
        )
    limit = live.max_p99_latency_ratio * base
    ok = cand <= limit
    return Check(
        "ratio",
        metric,
        cand,
        base,
        live.max_p99_latency_ratio,
        ok,
        f"{metric}: canary {cand:.2f} ms {'<=' if ok else '>'} {live.max_p99_latency_ratio:g} x "
        f"champion {base:.2f} ms ({where}) = {limit:.2f} ms",
    )


def decide_canary(
    numbers: LiveNumbers,
    policy: PromotionPolicy,
    *,
    model_name: str,
    champion_version: str | None,
    percent: int,
    baseline_p99_ms: float | None = None,
) -> LiveDecision:
    """One canary step's verdict on its window: enough canary answers, and error rate, p99
    latency against the champion's, mean |score difference| and alert disagreement within the
    policy's ``release.live`` bounds. ``baseline_p99_ms``: the champion's p99 to compare with
    when the window holds too few champion answers (at 100 % it holds none)."""
    live = policy.release.live
    need = live.min_canary_answers
    agree = numbers.agreement
    checks = [
        _count("canary_answers", numbers.candidate_answers, need, "answers by the canary"),
        _bound("error_rate", numbers.error_rate, live.max_error_rate, "canary 5xx share"),
        _latency_check(numbers, live, baseline_p99_ms),
        _bound(
            "mean_abs_score_difference",
            agree.mean_abs_score_difference,
            live.max_mean_abs_score_difference,
            f"canary vs champion on {agree.pairs} shared requests",
        ),
        _alert_check(agree, live.max_alert_disagreement, live, "canary"),
    ]
    return _decision(
        CANARY,
        percent,
        numbers,
        checks,
        live,
        model_name,
        champion_version,
        f"{need} answers by the canary",
    )
