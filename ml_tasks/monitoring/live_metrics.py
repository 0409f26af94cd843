"""Live classification metrics of one slice of labelled predictions, and the drop rule.

Pure numpy/pandas over rows that already carry their label (:mod:`ml_tasks.monitoring.live_labels`):
no storage, no registry. The metric definitions are the offline evaluation's
(:mod:`ml_tasks.evaluation.metrics`) where they mean the same thing; the one difference is the
alert decision: offline, recall "at the budget" flags the top share of machines per hour; live,
the decision is the one the gateway **served** (the logged ``alert`` column: the score against
the version's fixed threshold), so live recall and precision say what the maintenance team was
actually told.

A metric that cannot be computed is ``None`` with a note saying why (too few positives for a
ranking metric, no alert served for precision), never NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Values of the ``status`` column of a computed slice.
COMPUTED = "computed"  # every metric, ranking metrics included
INSUFFICIENT = "insufficient"  # too few rows or positives: ranking metrics left out, said why


@dataclass(frozen=True)
class DropRule:
    """When a slice's live numbers raise the alarm (the policy's ``live_performance`` section).

    ``None`` switches a bound off. Drops are measured against the version's offline evaluation
    (holdout) value; floors are absolute.
    """

    max_roc_auc_drop: float | None = 0.1
    min_roc_auc: float | None = None
    max_recall_drop: float | None = None
    min_recall: float | None = None
    # A floor only: the offline evaluation's PR-AUC is not recorded per version here.
    min_pr_auc: float | None = None


def slice_metrics(
    y: Sequence[int] | Any,
    scores: Sequence[float] | Any,
    alerts: Sequence[bool] | Any | None,
    *,
    min_rows: int,
    min_positives: int,
    bins: int = 10,
) -> dict[str, Any]:
    """Every live metric of one slice: ``y`` labels (0/1), ``scores`` served, ``alerts`` served.

    ROC-AUC and PR-AUC only when the slice holds at least ``min_rows`` rows and
    ``min_positives`` positives (and a negative): below that one failure more or less swings
    them by tenths, so they are ``None`` and ``note`` says why. Brier score, calibration and the
    served decision's recall/precision are computed on any non-empty slice (``alerts`` None:
    no decision was served, so recall and precision are None).
    """
    import numpy as np

    from ml_tasks.evaluation import metrics

    y = np.asarray(y, dtype="float64")
    p = np.asarray(scores, dtype="float64")
    # No alert decision served (a version without an alert threshold): no recall/precision.
    a = np.asarray(alerts if alerts is not None else np.zeros(len(y)), dtype=bool)
    rows, positives = len(y), int(y.sum())
    out: dict[str, Any] = {
        "rows": rows,
        "positives": positives,
        "prevalence": positives / rows if rows else None,
        "roc_auc": None,
        "pr_auc": None,
        "recall_at_alert": None,
        "precision_at_alert": None,
        "alert_share": float(a.mean()) if rows and alerts is not None else None,
        "brier": None,
        "ece": None,
        "mean_score": float(p.mean()) if rows else None,
        "status": INSUFFICIENT,
        "note": "",
    }
    if rows == 0:
        out["note"] = "no labelled predictions"
        return out
    hits = float((a & (y > 0)).sum())
    if alerts is not None:
        out["recall_at_alert"] = hits / positives if positives else None
        out["precision_at_alert"] = hits / float(a.sum()) if a.any() else None
    out["brier"] = metrics.brier(y, p)
    out["ece"] = metrics.calibration(y, p, bins)["ece"]
    if rows < min_rows or positives < min_positives or positives == rows:
        out["note"] = (
            f"{rows} rows / {positives} positives (minimum {min_rows} / {min_positives}): "
            "ROC-AUC and PR-AUC not computed"
        )
        return out
    out["roc_auc"] = metrics.roc_auc(y, p)
    out["pr_auc"] = metrics.pr_auc(y, p)
    out["status"] = COMPUTED
    return out


def drop_reasons(
    live: Mapping[str, Any], offline: Mapping[str, Any], rule: DropRule, *, where: str
) -> list[str]:
    """Why ``live`` (a :func:`slice_metrics` result) breaches ``rule``; empty when it holds.

    ``offline`` holds the version's evaluation values (``roc_auc``, ``recall_at_budget``; a
    missing one only switches its drop bound off). A metric that was not computed breaches
    nothing: too few positives is reported, not alarmed on.
    """
    reasons: list[str] = []
    checks = (
        ("roc_auc", "ROC-AUC", "roc_auc", rule.max_roc_auc_drop, rule.min_roc_auc),
        ("recall_at_alert", "recall at the served alert", "recall_at_budget",
         rule.max_recall_drop, rule.min_recall),
        ("pr_auc", "PR-AUC", "pr_auc", None, rule.min_pr_auc),
    )  # fmt: skip
    for key, label, offline_key, max_drop, floor in checks:
        value = live.get(key)
        if value is None:
            continue
        reference = offline.get(offline_key)
        if max_drop is not None and reference is not None and value < reference - max_drop:
            reasons.append(
                f"{where}: live {label} {value:.3f} is {reference - value:.3f} below the offline "
                f"evaluation's {reference:.3f} (max drop {max_drop})"
            )
        if floor is not None and value < floor:
            reasons.append(f"{where}: live {label} {value:.3f} is below the floor {floor}")
    return reasons
