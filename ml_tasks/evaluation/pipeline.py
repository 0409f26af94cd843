"""Evaluate a registered version against the champion and log everything to its MLflow run.

:func:`evaluate_version` is what the ``evaluate_model`` DAG and ``python -m ml_tasks evaluate``
run. It scores the challenger and the current champion on the same time-based holdout
(:mod:`~ml_tasks.evaluation.holdout`), computes the metrics, slices, latency and robustness of
the challenger, writes the evaluation report and the model card, and logs them to the run that
produced the challenger:

- ``evaluation/evaluation.json`` (everything, what the gates read), ``evaluation/report.html``
  and ``evaluation/plots/*.png``; ``model_card/model_card.md`` and ``model_card.json``;
- metrics ``eval.challenger.*``, ``eval.champion.*`` and ``eval.robustness.*``.

Only when all of that is logged does the version get the tags ``evaluation.status=complete``
and ``evaluation.sha256`` (the digest of ``evaluation.json``): the gate sensors wait for that
tag, so they never read a half-written evaluation (:mod:`ml_tasks.evaluation.records` reads it
back). Evaluating again replaces the artifacts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_tasks.evaluation.records import (
    ALERT_THRESHOLD_TAG,
    COMPLETE,
    DIGEST_TAG,
    EVALUATION_ARTIFACT,
    MODEL_CARD_ARTIFACT,
    REPORT_ARTIFACT,
    STATUS_TAG,
)
from ml_tasks.registry.aliases import ReleaseContext, verify_or_quarantine
from ml_tasks.registry.models import (
    CHALLENGER,
    CHAMPION,
    ModelVersion,
    alias_version,
    client,
    get_version,
    load_scorer,
)
from ml_tasks.release.policy import METRIC_DIRECTIONS, PromotionPolicy, load_policy
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationSummary:
    """The evaluation stage's result: the gated numbers of both models, small enough for XCom
    (as :meth:`to_dict`) and the CLI. The full evaluation stays in MLflow (``records``)."""

    model_name: str
    version: str
    run_id: str
    champion_version: str | None
    holdout: dict[str, Any]  # rows, positives, start, end
    metrics: dict[str, dict[str, Any]]  # role (challenger, champion) -> gated metric -> value
    robustness: dict[str, Any]  # perturbation kind -> worst case
    report: str  # artifact paths in the evaluation run
    model_card: str
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(value: Any) -> Any:
    """NaN/inf to None, numpy scalars to Python: JSON that every reader accepts."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _score_model(
    scorer: Any, holdout: Any, policy: PromotionPolicy, *, with_latency: bool
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from ml_tasks.evaluation import metrics

    ev = policy.evaluation
    scores = scorer(holdout.frame)
    overall = metrics.classification_metrics(
        holdout.y, scores, holdout.groups, budget=ev.alert_budget, bins=ev.calibration_bins
    )
    slices: dict[str, Any] = {}
    if holdout.slice_column:
        slices = metrics.slice_metrics(
            holdout.y,
            scores,
            holdout.groups,
            holdout.frame[holdout.slice_column].to_numpy(),
            budget=ev.alert_budget,
            bins=ev.calibration_bins,
            min_rows=ev.min_slice_rows,
            min_positives=ev.min_slice_positives,
        )
    for metric in ("roc_auc", "pr_auc"):
        name, value = metrics.worst_slice(slices, metric)
        overall[f"worst_slice_{metric}"] = value
        overall[f"worst_slice_{metric}_slice"] = name
    if with_latency:
        overall.update(metrics.latency(scorer, holdout.frame, ev.latency_calls, ev.seed))
    return scores, overall, slices


def _comparison(challenger: dict[str, Any], champion: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for name in METRIC_DIRECTIONS:
        a = challenger.get(name)
        b = (champion or {}).get(name)
        out[name] = {
            "challenger": a,
            "champion": b,
            "delta": (a - b) if a is not None and b is not None else None,
        }
    return out


def _log_metrics(mlflow_client: Any, run_id: str, evaluation: dict[str, Any]) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    values: dict[str, float] = {}
    for role in ("challenger", "champion"):
        for name, value in (evaluation["metrics"].get(role) or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[f"eval.{role}.{name}"] = float(value)
    for kind, summary in ((evaluation.get("robustness") or {}).get("summary") or {}).items():
        if isinstance(summary, dict) and summary.get("drop") is not None:
            values[f"eval.robustness.{kind}.drop"] = float(summary["drop"])
    metrics = [Metric(k, v, now, 0) for k, v in sorted(values.items())]
    for i in range(0, len(metrics), 1000):
        mlflow_client.log_batch(run_id, metrics=metrics[i : i + 1000])


def _verify_before_scoring(
    mlflow_client: Any, name: str, version: str, run_id: str | None, settings: Settings
) -> None:
    """No metric for files that are not the registered ones: a mismatch quarantines and raises."""

    context = ReleaseContext(actor="evaluation" if run_id else "cli:evaluate", run_id=run_id)
    verify_or_quarantine(
        mlflow_client, name, version, stage="evaluation", context=context, settings=settings
    )


def evaluate_version(
    version: str | int | None = None,
    *,
    model_name: str | None = None,
    settings: Settings | None = None,
    policy: PromotionPolicy | None = None,
    run_id: str | None = None,
) -> EvaluationSummary:
    """Evaluate ``version`` (default: the ``challenger`` alias); returns a small summary."""
    from ml_tasks.evaluation import metrics, model_card, report, robustness
    from ml_tasks.evaluation.holdout import load_holdout

    s = settings or get_settings()
    pol = policy or load_policy(settings=s)
    name = model_name or pol.model_name
    c = client(s)
    challenger = get_version(name, version, alias=CHALLENGER, mlflow_client=c)
    _verify_before_scoring(c, name, challenger.version, run_id, s)
    champion_version = alias_version(c, name, CHAMPION)
    champion: ModelVersion | None = None
    if champion_version and champion_version != challenger.version:
        champion = get_version(name, champion_version, mlflow_client=c)
    log.info(
        "evaluating %s v%s (run %s) against %s",
        name,
        challenger.version,
        challenger.run_id,
        f"champion v{champion.version}" if champion else "no champion",
    )
    scorer = load_scorer(challenger)
    champion_scorer = load_scorer(champion) if champion else None
    columns = list(
        dict.fromkeys(scorer.features + (champion_scorer.features if champion_scorer else []))
    )
    holdout = load_holdout(challenger, champion, columns, pol.evaluation.slice_column)
    log.info("holdout: %s", holdout.describe())

    errors: dict[str, str] = {}
    scores = {}
    scores["challenger"], overall, slices = _score_model(scorer, holdout, pol, with_latency=True)
    threshold = metrics.alert_threshold(scores["challenger"], pol.evaluation.alert_budget)
    champion_metrics, champion_slices = None, None
    if champion is not None and champion_scorer is not None:
        try:
            scores["champion"], champion_metrics, champion_slices = _score_model(
                champion_scorer, holdout, pol, with_latency=True
            )
        except (KeyError, ValueError) as err:  # e.g. the champion needs features now gone
            errors["champion"] = f"v{champion.version} could not be scored on the holdout: {err}"
            log.warning(errors["champion"])
    rb = robustness.run_robustness(
        scorer,
        holdout.frame,
        holdout.y,
        scorer.features,
        pol.robustness,
        bootstrap_samples=pol.evaluation.bootstrap_samples,
        confidence=pol.evaluation.confidence,
        seed=pol.evaluation.seed,
    )
    evaluation: dict[str, Any] = _clean(
        {
            "schema": 1,
            "model_name": name,
            "version": challenger.version,
            "run_id": challenger.run_id,
            "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "airflow_run_id": run_id,
            "policy": {
                "path": pol.path,
                "version": pol.version,
                "sha256": pol.sha256,
                "evaluation": pol.to_dict()["evaluation"],
            },
            "challenger": challenger.summary(),
            "champion": champion.summary() if champion else None,
            "holdout": holdout.describe(),
            "metrics": {"challenger": overall, "champion": champion_metrics},
            "comparison": _comparison(overall, champion_metrics),
            "slices": {"challenger": slices, "champion": champion_slices},
            "robustness": rb,
            # What the gateway alerts at when this version serves (tag ALERT_THRESHOLD_TAG).
            "serving": {
                "alert_threshold": threshold,
                "alert_budget": pol.evaluation.alert_budget,
            },
            "errors": errors,
        }
    )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ev_dir, card_dir = root / "evaluation", root / "model_card"
        ev_dir.mkdir()
        card_dir.mkdir()
        plots = report.write_plots(ev_dir / "plots", holdout.y, scores, evaluation)
        spec = model_card.load_spec(name, s)
        card = _clean(model_card.build_card(spec, evaluation, challenger))
        (card_dir / "model_card.json").write_text(json.dumps(card, indent=2))
        (card_dir / "model_card.md").write_text(model_card.render_markdown(card))
        evaluation["artifacts"] = sorted(
            [f"evaluation/plots/{p.name}" for p in plots.values()]
            + [
                EVALUATION_ARTIFACT,
                REPORT_ARTIFACT,
                MODEL_CARD_ARTIFACT,
                "model_card/model_card.json",
            ]
        )
        (ev_dir / "report.html").write_text(report.render_html(evaluation, plots, pol))
        payload = json.dumps(evaluation, indent=2, sort_keys=True)
        (ev_dir / "evaluation.json").write_text(payload)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        c.log_artifacts(challenger.run_id, str(ev_dir), "evaluation")
        c.log_artifacts(challenger.run_id, str(card_dir), "model_card")
    _log_metrics(c, challenger.run_id, evaluation)
    tags = {
        "evaluation.at": evaluation["evaluated_at"],
        "evaluation.champion_version": champion.version if champion else "none",
        "evaluation.policy_sha256": pol.sha256 or "",
        "evaluation.report": REPORT_ARTIFACT,
        "model_card": MODEL_CARD_ARTIFACT,
        **({ALERT_THRESHOLD_TAG: repr(threshold)} if threshold is not None else {}),
        DIGEST_TAG: digest,
        STATUS_TAG: COMPLETE,  # last: the gates wait for this one
    }
    for key, value in tags.items():
        c.set_model_version_tag(name, challenger.version, key, value)
    c.set_tag(challenger.run_id, "evaluation.status", COMPLETE)
    summary = summarise(evaluation)
    log.info("evaluation of %s v%s: %s", name, challenger.version, json.dumps(summary.metrics))
    return summary


def summarise(evaluation: dict[str, Any]) -> EvaluationSummary:
    """The gated numbers of both models out of a full evaluation record."""
    keys = list(METRIC_DIRECTIONS)
    champion = evaluation.get("champion")
    return EvaluationSummary(
        model_name=evaluation["model_name"],
        version=evaluation["version"],
        run_id=evaluation["run_id"],
        champion_version=champion["version"] if champion else None,
        holdout={k: evaluation["holdout"][k] for k in ("rows", "positives", "start", "end")},
        metrics={
            role: {k: (evaluation["metrics"].get(role) or {}).get(k) for k in keys}
            for role in ("challenger", "champion")
            if evaluation["metrics"].get(role)
        },
        robustness={
            k: v
            for k, v in (evaluation.get("robustness") or {}).get("summary", {}).items()
            if k in ("gaussian_noise", "missing_sensor", "unit_shift", "most_important_sensor")
        },
        report=REPORT_ARTIFACT,
        model_card=MODEL_CARD_ARTIFACT,
        errors=evaluation.get("errors") or {},
    )
