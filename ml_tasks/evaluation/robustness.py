"""Robustness under realistic sensor faults, tested statistically (ISO/IEC 24029-2 in spirit).

Each perturbation changes the holdout's inputs the way a real fault would reach the model
through the feature pipeline, and the drop of one metric (ROC-AUC by default) is reported with a
paired bootstrap confidence interval: the same resampled rows are scored clean and perturbed, so
the interval is about the perturbation, not about which rows happened to be in the holdout.

- ``gaussian_noise``: every sensor statistic gets noise of ``sigma`` holdout standard deviations
  (a noisy transducer), repeated with ``repeats`` seeds; the bootstrap cycles through them;
- ``missing_sensor``: one sensor at a time goes silent: its level and spread statistics become
  missing (NaN, as the feature views emit for hours without readings) and its out-of-range
  counts 0. A sensor the model does not use costs exactly nothing; the one it depends on most
  costs the most, which makes the per-sensor drops an honest importance ranking;
- ``unit_shift``: one sensor reports in another unit (levels ``x * scale + offset``, spreads
  ``x * |scale|``), e.g. Fahrenheit for Celsius.

Feature columns belong to a sensor by name: ``<sensor>_<statistic>_<window>`` (the feature
views' naming), ``<sensor>_out_of_range_<window>`` for counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml_tasks.release.policy import RobustnessSettings, UnitShift


def sensor_columns(columns: list[str], sensor: str) -> dict[str, list[str]]:
    """The sensor's feature columns by kind: ``level`` (mean/min/max), ``spread``, ``count``."""
    kinds: dict[str, list[str]] = {"level": [], "spread": [], "count": []}
    for name in columns:
        if not name.startswith(f"{sensor}_"):
            continue
        if "_out_of_range_" in name:
            kinds["count"].append(name)
        elif "_std_" in name or name.endswith("_std"):
            kinds["spread"].append(name)
        else:
            kinds["level"].append(name)
    return kinds


def missing_sensor(frame: Any, sensor: str, columns: list[str]) -> Any:
    """The frame as the feature views emit it while ``sensor`` sends nothing."""
    import numpy as np

    out = frame.copy()
    kinds = sensor_columns(columns, sensor)
    for name in kinds["level"] + kinds["spread"]:
        out[name] = np.nan
    for name in kinds["count"]:
        out[name] = 0
    return out


def gaussian_noise(
    frame: Any, sensors: tuple[str, ...], columns: list[str], sigma: float, seed: int
) -> Any:
    """Noise of ``sigma`` column standard deviations on every sensor level and spread."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = frame.copy()
    for sensor in sensors:
        kinds = sensor_columns(columns, sensor)
        for name in kinds["level"] + kinds["spread"]:
            values = out[name].to_numpy(dtype="float64")
            sd = float(np.nanstd(values)) or 0.0
            noisy = values + rng.normal(0.0, sigma * sd, len(values))
            out[name] = np.maximum(noisy, 0.0) if name in kinds["spread"] else noisy
    return out


def unit_shift(frame: Any, shift: UnitShift, columns: list[str]) -> Any:
    """``shift.sensor`` in another unit: levels scaled and offset, spreads scaled."""
    out = frame.copy()
    kinds = sensor_columns(columns, shift.sensor)
    for name in kinds["level"]:
        out[name] = out[name].astype("float64") * shift.scale + shift.offset
    for name in kinds["spread"]:
        out[name] = out[name].astype("float64") * abs(shift.scale)
    return out


def fast_roc_auc(y: Any, p: Any) -> float | None:
    """ROC-AUC as the Mann-Whitney statistic (ties count half); None with one class."""
    from scipy.stats import rankdata

    positives = float(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[y > 0].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _metric_fn(name: str) -> Callable[[Any, Any], float | None]:
    if name == "roc_auc":
        return fast_roc_auc
    from ml_tasks.evaluation import metrics

    return metrics.pr_auc


def paired_drop(
    metric: Callable[[Any, Any], float | None],
    y: Any,
    base: Any,
    perturbed: list[Any],
    resamples: list[Any],
    confidence: float,
) -> dict[str, Any]:
    """Drop ``metric(clean) - metric(perturbed)`` with a paired bootstrap interval.

    ``perturbed`` holds one score array per repeat; resample ``b`` uses repeat ``b % len``.
    """
    import numpy as np

    clean = metric(y, base)
    scores = [metric(y, p) for p in perturbed]
    valid = [s for s in scores if s is not None]
    if clean is None or not valid:
        return {"drop": None, "ci": [None, None], "clean": clean, "perturbed": None}
    diffs = []
    for b, idx in enumerate(resamples):
        pert = perturbed[b % len(perturbed)]
        a, c = metric(y[idx], base[idx]), metric(y[idx], pert[idx])
        if a is not None and c is not None:
            diffs.append(a - c)
    alpha = (1.0 - confidence) / 2.0
    ci = (
        [float(np.quantile(diffs, alpha)), float(np.quantile(diffs, 1.0 - alpha))]
        if diffs
        else [None, None]
    )
    mean_perturbed = float(np.mean(valid))
    return {
        "drop": float(clean - mean_perturbed),
        "ci": ci,
        "clean": float(clean),
        "perturbed": mean_perturbed,
        "repeats": len(perturbed),
    }


def run_robustness(
    scorer: Callable[[Any], Any],
    frame: Any,
    y: Any,
    features: list[str],
    spec: RobustnessSettings,
    *,
    bootstrap_samples: int,
    confidence: float,
    seed: int,
) -> dict[str, Any]:
    """Every perturbation of ``spec`` on ``frame``; drops of ``spec.metric`` with intervals."""
    import numpy as np

    y = np.asarray(y, dtype="float64")
    rng = np.random.default_rng(seed)
    resamples = [rng.integers(0, len(y), len(y)) for _ in range(bootstrap_samples)]
    metric = _metric_fn(spec.metric)
    base = scorer(frame)
    sensors = tuple(s for s in spec.sensors if any(sensor_columns(features, s).values()))

    def drop(perturbed_frames: list[Any]) -> dict[str, Any]:
        return paired_drop(
            metric, y, base, [scorer(f) for f in perturbed_frames], resamples, confidence
        )

    noise = spec.gaussian_noise
    results: dict[str, Any] = {
        "metric": spec.metric,
        "confidence": confidence,
        "bootstrap_samples": bootstrap_samples,
        "sensors": list(sensors),
        "sensors_not_in_features": [s for s in spec.sensors if s not in sensors],
        "gaussian_noise": {
            "sigma": noise.sigma,
            **drop(
                [
                    gaussian_noise(frame, sensors, features, noise.sigma, seed + r)
                    for r in range(noise.repeats)
                ]
            ),
        },
        "missing_sensor": {},
        "unit_shift": {},
    }
    for sensor in spec.sensors:  # every configured sensor: an unused one must cost nothing
        results["missing_sensor"][sensor] = drop([missing_sensor(frame, sensor, features)])
    for shift in spec.unit_shifts:
        results["unit_shift"][shift.name] = {
            "sensor": shift.sensor,
            "scale": shift.scale,
            "offset": shift.offset,
            **drop([unit_shift(frame, shift, features)]),
        }
    results["summary"] = summarise(results)
    return results


def _worst(entries: dict[str, dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    scored = [(k, v) for k, v in entries.items() if v.get("drop") is not None]
    if not scored:
        return None, None
    return max(scored, key=lambda kv: kv[1]["drop"])


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Per perturbation kind, the worst case: its drop and interval (what the gate reads)."""
    noise = results["gaussian_noise"]
    sensor, missing = _worst(results["missing_sensor"])
    shift, shifted = _worst(results["unit_shift"])
    ranking = sorted(
        ((k, v["drop"]) for k, v in results["missing_sensor"].items() if v.get("drop") is not None),
        key=lambda kv: -kv[1],
    )
    return {
        "gaussian_noise": {
            "case": f"sigma={noise['sigma']}",
            "drop": noise["drop"],
            "ci": noise["ci"],
        },
        "missing_sensor": {
            "case": sensor,
            "drop": missing["drop"] if missing else None,
            "ci": missing["ci"] if missing else [None, None],
        },
        "unit_shift": {
            "case": shift,
            "drop": shifted["drop"] if shifted else None,
            "ci": shifted["ci"] if shifted else [None, None],
        },
        "sensor_importance": [{"sensor": k, "drop": d} for k, d in ranking],
        "most_important_sensor": ranking[0][0] if ranking and ranking[0][1] > 0 else None,
    }
