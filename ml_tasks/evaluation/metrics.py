"""Classification metrics of a failure model on labelled machine-hours (pure numpy/pandas).

- ROC-AUC and PR-AUC (average precision) rank every machine-hour;
- **recall at an alert budget** is what the maintenance team lives with: at every hour only the
  top ``budget`` share of the machines reporting in that hour is flagged (rounded up, at least
  one), and the metric is the share of failure hours that were flagged (precision likewise);
- the Brier score and the expected calibration error (ECE, equal-width bins) say whether a
  predicted 0.3 means a 30 % chance, which matters once people set thresholds on it; the Brier
  skill score compares the Brier score with always predicting the prevalence, so a bound on it
  means the same on holdouts with different failure rates;
- slice metrics repeat all of it per plant; slices too small to say anything are reported as
  skipped, with the reason, rather than as a noisy number.

A metric that is undefined on the data (ROC-AUC with one class only) is ``None``, never NaN, so it
travels through JSON and the gates can name it.
"""

from __future__ import annotations

import math
from typing import Any


def _arrays(y: Any, p: Any) -> tuple[Any, Any]:
    import numpy as np

    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and scores {p.shape} differ in shape")
    if not np.isfinite(p).all():
        raise ValueError(f"{int((~np.isfinite(p)).sum())} scores are not finite")
    return y, p


def _two_classes(y: Any) -> bool:
    return 0 < float(y.sum()) < len(y)


def roc_auc(y: Any, p: Any) -> float | None:
    """Area under the ROC curve; None with a single class."""
    from sklearn.metrics import roc_auc_score

    y, p = _arrays(y, p)
    return float(roc_auc_score(y, p)) if _two_classes(y) else None


def pr_auc(y: Any, p: Any) -> float | None:
    """Average precision (area under the precision-recall curve); None without positives."""
    from sklearn.metrics import average_precision_score

    y, p = _arrays(y, p)
    return float(average_precision_score(y, p)) if y.sum() > 0 else None


def brier(y: Any, p: Any) -> float:
    """Mean squared error of the predicted probability."""
    import numpy as np

    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2))


def brier_skill(y: Any, p: Any) -> float | None:
    """1 - Brier / Brier of always predicting the prevalence (> 0: better than no skill)."""
    y, p = _arrays(y, p)
    prevalence = float(y.mean()) if len(y) else 0.0
    reference = prevalence * (1.0 - prevalence)
    return 1.0 - brier(y, p) / reference if reference > 0 else None


def calibration(y: Any, p: Any, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error over ``bins`` equal-width bins, and the reliability curve."""
    import numpy as np

    y, p = _arrays(y, p)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    curve, ece = [], 0.0
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count == 0:
            continue
        mean_pred, frac_pos = float(p[mask].mean()), float(y[mask].mean())
        ece += count / len(y) * abs(mean_pred - frac_pos)
        curve.append(
            {
                "bin": [float(edges[b]), float(edges[b + 1])],
                "count": count,
                "mean_predicted": mean_pred,
                "fraction_positive": frac_pos,
            }
        )
    return {"ece": float(ece), "bins": bins, "curve": curve}


def budget_flags(p: Any, groups: Any, budget: float) -> Any:
    """Boolean mask: per group (hour), the top ``ceil(budget * n)`` scores are flagged.

    Ties are broken by position, so exactly that many rows are flagged in every group.
    """
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"g": np.asarray(groups), "p": np.asarray(p, dtype="float64")})
    frame["pos"] = np.arange(len(frame))
    frame = frame.sort_values(["g", "p", "pos"], ascending=[True, False, True], kind="stable")
    rank = frame.groupby("g", sort=False).cumcount().to_numpy()
    size = frame.groupby("g", sort=False)["p"].transform("size").to_numpy()
    quota = np.maximum(1, np.ceil(budget * size - 1e-9)).astype("int64")
    flags = np.zeros(len(frame), dtype=bool)
    flags[frame["pos"].to_numpy()] = rank < quota
    return flags


def alert_threshold(p: Any, budget: float) -> float | None:
    """The score at or above which a model alerts on about ``budget`` of the traffic.

    The ``1 - budget`` quantile of its scores on the holdout: the online gateway answers one
    machine at a time and cannot rank within an hour as :func:`budget_flags` does, so it
    compares each score with this fixed cut instead. None without scores.
    """
    import numpy as np

    scores = np.asarray(p, dtype="float64")
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        return None
    return float(np.quantile(scores, 1.0 - budget))


def at_budget(y: Any, p: Any, groups: Any, budget: float) -> dict[str, float | None]:
    """Recall and precision when the top ``budget`` share of machines is flagged per hour."""
    y, p = _arrays(y, p)
    flags = budget_flags(p, groups, budget)
    positives = float(y.sum())
    flagged = int(flags.sum())
    hits = float(y[flags].sum())
    return {
        "recall_at_budget": hits / positives if positives else None,
        "precision_at_budget": hits / flagged if flagged else None,
        "flagged_share": flagged / len(y) if len(y) else None,
    }


def classification_metrics(
    y: Any, p: Any, groups: Any, *, budget: float, bins: int
) -> dict[str, Any]:
    """Every metric of one model on one set of rows."""
    y, p = _arrays(y, p)
    cal = calibration(y, p, bins)
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "prevalence": float(y.mean()) if len(y) else None,
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        **at_budget(y, p, groups, budget),
        "brier": brier(y, p),
        "brier_skill": brier_skill(y, p),
        "ece": cal["ece"],
        "calibration_curve": cal["curve"],
    }


def slice_metrics(
    y: Any,
    p: Any,
    groups: Any,
    slices: Any,
    *,
    budget: float,
    bins: int,
    min_rows: int,
    min_positives: int,
) -> dict[str, dict[str, Any]]:
    """:func:`classification_metrics` per slice value; small slices are skipped with why."""
    import numpy as np

    y, p = _arrays(y, p)
    slices = np.asarray(slices).astype(str)
    groups = np.asarray(groups)
    out: dict[str, dict[str, Any]] = {}
    for value in sorted(set(slices.tolist())):
        mask = slices == value
        rows, positives = int(mask.sum()), int(y[mask].sum())
        if rows < min_rows or positives < min_positives:
            out[value] = {
                "rows": rows,
                "positives": positives,
                "skipped": f"{rows} rows / {positives} positives "
                f"(minimum {min_rows} / {min_positives})",
            }
            continue
        metrics = classification_metrics(y[mask], p[mask], groups[mask], budget=budget, bins=bins)
        metrics.pop("calibration_curve")
        out[value] = metrics
    return out


def worst_slice(slices: dict[str, dict[str, Any]], metric: str) -> tuple[str | None, float | None]:
    """The evaluated slice with the lowest ``metric`` (None when no slice has it)."""
    scored = [
        (name, m[metric])
        for name, m in slices.items()
        if m.get(metric) is not None and not math.isnan(m[metric])
    ]
    if not scored:
        return None, None
    return min(scored, key=lambda kv: kv[1])


def latency(scorer: Any, frame: Any, calls: int, seed: int = 0) -> dict[str, float]:
    """Single-row scoring latency (wall p50/p95, ms), its CPU cost, and batch throughput.

    Single rows are scored with one OpenMP thread, as a request worker would: with a thread
    pool per call, XGBoost spends ten times the CPU on spinning threads for one row (measured:
    45 ms against 4 ms on two busy cores). Wall-clock percentiles depend on whatever else runs
    on the machine; the CPU time per call (median of ``time.process_time`` deltas) much less,
    which is why the policy gates ``scoring_cpu_ms`` and reports the wall-clock figures.
    """
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=min(calls, len(frame)), replace=False)
    wall, cpu = [], []
    with threadpool_limits(limits=1):
        scorer(frame.iloc[[int(rows[0])]])  # warm-up: first call pays lazy initialisation
        for i in rows:
            row = frame.iloc[[int(i)]]
            started, started_cpu = time.perf_counter(), time.process_time()
            scorer(row)
            cpu.append((time.process_time() - started_cpu) * 1000.0)
            wall.append((time.perf_counter() - started) * 1000.0)
    started = time.perf_counter()
    scorer(frame)
    batch_s = time.perf_counter() - started
    return {
        "latency_p50_ms": float(np.percentile(wall, 50)),
        "latency_p95_ms": float(np.percentile(wall, 95)),
        "scoring_cpu_ms": float(np.median(cpu)),
        "throughput_rows_s": float(len(frame) / max(batch_s, 1e-9)),
        "latency_calls": len(wall),
    }
