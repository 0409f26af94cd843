"""The evaluation report: one self-contained HTML page with plots, and the plots as PNG files.

Written into a folder that the pipeline logs as the ``evaluation/`` artifacts of the challenger's
MLflow run (the MLflow UI renders the HTML and the PNGs). Plots: ROC and precision-recall curves
of challenger and champion on the same holdout, the reliability diagram, per-slice metrics and
the robustness drops with their confidence intervals. Every gated metric is shown with its
threshold and verdict, computed by the promotion gates' own rules (:mod:`ml_tasks.release.gates`).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_tasks.release.policy import PromotionPolicy

COLORS = {"challenger": "#3b6ea5", "champion": "#c8702a"}


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _figure(width: float = 6.0, height: float = 4.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(
    folder: Path, y: Any, scores: dict[str, Any], evaluation: dict[str, Any]
) -> dict[str, Path]:
    """Write the PNG plots; ``scores`` maps ``challenger``/``champion`` to score arrays."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    folder.mkdir(parents=True, exist_ok=True)
    names = {k: f"{k} v{evaluation[k]['version']}" for k in scores if evaluation.get(k)}
    plots: dict[str, Path] = {}
    both_classes = 0 < float(y.sum()) < len(y)

    if both_classes:
        fig, ax = _figure()
        for key, p in scores.items():
            fpr, tpr, _ = roc_curve(y, p)
            auc = evaluation["metrics"][key]["roc_auc"]
            ax.plot(fpr, tpr, color=COLORS[key], label=f"{names[key]} (AUC {_fmt(auc, 3)})")
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        ax.legend(loc="lower right")
        plots["roc"] = _save(fig, folder / "roc.png")

        fig, ax = _figure()
        for key, p in scores.items():
            precision, recall, _ = precision_recall_curve(y, p)
            ap = evaluation["metrics"][key]["pr_auc"]
            ax.step(
                recall,
                precision,
                where="post",
                color=COLORS[key],
                label=f"{names[key]} (AP {_fmt(ap, 3)})",
            )
        ax.axhline(float(y.mean()), ls=":", color="grey", label="prevalence")
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
        ax.legend(loc="upper right")
        plots["pr"] = _save(fig, folder / "precision_recall.png")

    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfectly calibrated")
    for key in scores:
        curve = evaluation["metrics"][key].get("calibration_curve") or []
        ax.plot(
            [b["mean_predicted"] for b in curve],
            [b["fraction_positive"] for b in curve],
            marker="o",
            color=COLORS[key],
            label=f"{names[key]} (ECE {_fmt(evaluation['metrics'][key]['ece'], 3)})",
        )
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed failure rate",
        title="Reliability diagram",
    )
    ax.legend(loc="upper left")
    plots["calibration"] = _save(fig, folder / "calibration.png")

    slices = evaluation.get("slices", {}).get("challenger") or {}
    if slices:
        import numpy as np

        labels = sorted(slices)
        fig, axes = _figure(8.0, 3.5)
        width = 0.8 / max(len(scores), 1)
        for i, key in enumerate(scores):
            values = [
                (evaluation["slices"].get(key) or {}).get(s, {}).get("roc_auc") for s in labels
            ]
            xs = np.arange(len(labels)) + i * width
            axes.bar(
                xs,
                [v if v is not None else 0 for v in values],
                width,
                color=COLORS[key],
                label=names[key],
            )
        axes.set_xticks(np.arange(len(labels)) + width * (len(scores) - 1) / 2, labels)
        axes.set(ylabel="ROC-AUC", title="ROC-AUC per slice (skipped slices at 0)", ylim=(0, 1.15))
        axes.legend(loc="upper center", ncol=2)
        plots["slices"] = _save(fig, folder / "slices.png")

    rob = evaluation.get("robustness") or {}
    cases = _robustness_rows(rob)
    if cases:
        fig, ax = _figure(8.0, 0.35 * len(cases) + 1.5)
        drops = [c["drop"] or 0.0 for c in cases]
        low = [
            max(0.0, d - (c["ci"][0] if c["ci"][0] is not None else d))
            for c, d in zip(cases, drops, strict=True)
        ]
        high = [
            max(0.0, (c["ci"][1] if c["ci"][1] is not None else d) - d)
            for c, d in zip(cases, drops, strict=True)
        ]
        ax.barh([c["name"] for c in cases], drops, xerr=[low, high], color=COLORS["challenger"])
        ax.axvline(0, color="black", lw=0.8)
        ax.set(
            xlabel=f"drop of {rob.get('metric')} "
            f"(with {int(100 * rob.get('confidence', 0.95))} % CI)",
            title="Robustness: metric drop per perturbation",
        )
        plots["robustness"] = _save(fig, folder / "robustness.png")
    return plots


def _robustness_rows(rob: dict[str, Any]) -> list[dict[str, Any]]:
    if not rob:
        return []
    rows = [
        {
            "name": f"gaussian noise (sigma {rob['gaussian_noise']['sigma']})",
            **rob["gaussian_noise"],
        }
    ]
    rows += [{"name": f"missing {k}", **v} for k, v in rob.get("missing_sensor", {}).items()]
    rows += [{"name": f"unit shift {k}", **v} for k, v in rob.get("unit_shift", {}).items()]
    return rows


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"/>'


def gate_verdicts(evaluation: dict[str, Any], policy: PromotionPolicy) -> list[Any]:
    """The ``metrics`` and ``robustness`` gates' checks on this evaluation, as promotion runs them.

    The rules come from :mod:`ml_tasks.release.gates` (one implementation of the thresholds). The
    champion is the one evaluated against: a verdict at evaluation time; ``promote_model``
    decides again at promotion (the champion may have moved, drift may be in alarm).
    """
    from ml_tasks.release.gates import metrics_gate, robustness_gate

    compared = (evaluation.get("champion") or {}).get("version")
    return metrics_gate(evaluation, policy, compared) + robustness_gate(evaluation, policy)


def _verdict_section(evaluation: dict[str, Any], policy: PromotionPolicy) -> list[str]:
    checks = gate_verdicts(evaluation, policy)
    failed = [c for c in checks if not c.passed]
    head = (
        f"BLOCKED: {len(failed)} of {len(checks)} checks fail"
        if failed
        else f"PASSED: all {len(checks)} checks pass"
    )
    return [
        "<h2>Gate verdicts (metrics and robustness, at evaluation time)</h2>",
        f"<p class='verdict'>{html.escape(head)}; thresholds from policy "
        f"{html.escape(str(policy.path))} (version {policy.version}).</p>",
        _table(
            ["metric", "rule", "challenger", "champion", "threshold", "verdict", "reason"],
            [
                [
                    c.metric,
                    c.rule,
                    c.challenger,
                    c.champion,
                    c.threshold,
                    "PASS" if c.passed else "FAIL",
                    c.message,
                ]
                for c in checks
            ],
        ),
    ]


def render_html(evaluation: dict[str, Any], plots: dict[str, Path], policy: PromotionPolicy) -> str:
    """The report page (plots embedded, so the file stands alone), with the gate verdicts."""
    from ml_tasks.release.policy import METRIC_DIRECTIONS

    ch = evaluation["challenger"]
    champ = evaluation.get("champion")
    hold = evaluation["holdout"]
    m = evaluation["metrics"]
    # The heading names what is compared: which versions, on which holdout window.
    title = (
        f"Evaluation of {evaluation['model_name']} v{ch['version']} against "
        + (f"champion v{champ['version']}" if champ else "no champion")
        + f", holdout {hold['start']} .. {hold['end']}"
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Evaluated {html.escape(evaluation['evaluated_at'])} with policy "
        f"{html.escape(str(evaluation['policy'].get('path')))} (version "
        f"{evaluation['policy'].get('version')}, sha256 "
        f"{str(evaluation['policy'].get('sha256'))[:12]}).</p>",
        "<p>Champion: "
        + (f"v{html.escape(champ['version'])}" if champ else "none (first release)")
        + "</p>",
        "<h2>Holdout</h2>",
        _table(
            ["rows", "failures", "from", "to", "training set", "note"],
            [
                [
                    hold["rows"],
                    hold["positives"],
                    hold["start"],
                    hold["end"],
                    hold["training_set_version"],
                    hold.get("restricted") or "",
                ]
            ],
        ),
        "<h2>Metrics on the same holdout</h2>",
        _table(
            ["metric", "better", "challenger", "champion", "difference"],
            [
                [
                    name,
                    "higher" if higher else "lower",
                    m["challenger"].get(name),
                    (m.get("champion") or {}).get(name),
                    evaluation["comparison"].get(name, {}).get("delta"),
                ]
                for name, higher in METRIC_DIRECTIONS.items()
            ],
        ),
        *_verdict_section(evaluation, policy),
    ]
    if evaluation.get("errors"):
        parts.append(
            "<h3>Problems</h3><ul>"
            + "".join(
                f"<li>{html.escape(k)}: {html.escape(v)}</li>"
                for k, v in evaluation["errors"].items()
            )
            + "</ul>"
        )
    for key in ("roc", "pr", "calibration"):
        if key in plots:
            parts.append(_img(plots[key]))
    slices = evaluation["slices"].get("challenger") or {}
    if slices:
        parts.append(f"<h2>Slices ({html.escape(str(hold.get('slice_column')))})</h2>")
        champion_slices = evaluation["slices"].get("champion") or {}
        parts.append(
            _table(
                [
                    "slice",
                    "rows",
                    "failures",
                    "ROC-AUC",
                    "champion ROC-AUC",
                    "PR-AUC",
                    "recall@budget",
                    "Brier",
                    "note",
                ],
                [
                    [
                        name,
                        s["rows"],
                        s["positives"],
                        s.get("roc_auc"),
                        champion_slices.get(name, {}).get("roc_auc"),
                        s.get("pr_auc"),
                        s.get("recall_at_budget"),
                        s.get("brier"),
                        s.get("skipped", ""),
                    ]
                    for name, s in sorted(slices.items())
                ],
            )
        )
        if "slices" in plots:
            parts.append(_img(plots["slices"]))
    rob = evaluation.get("robustness") or {}
    if rob:
        parts.append(
            f"<h2>Robustness (drop of {html.escape(rob['metric'])}, "
            f"{int(100 * rob['confidence'])} % paired bootstrap CI, "
            f"{rob['bootstrap_samples']} resamples)</h2>"
        )
        parts.append(
            _table(
                ["perturbation", "clean", "perturbed", "drop", "CI low", "CI high"],
                [
                    [
                        c["name"],
                        c.get("clean"),
                        c.get("perturbed"),
                        c.get("drop"),
                        c["ci"][0],
                        c["ci"][1],
                    ]
                    for c in _robustness_rows(rob)
                ],
            )
        )
        if "robustness" in plots:
            parts.append(_img(plots["robustness"]))
    lat = m["challenger"]
    parts.append(
        f"<h2>Scoring latency</h2><p>single row p50 {_fmt(lat.get('latency_p50_ms'), 2)} ms, "
        f"p95 {_fmt(lat.get('latency_p95_ms'), 2)} ms wall clock, median CPU "
        f"{_fmt(lat.get('scoring_cpu_ms'), 2)} ms per call; batch "
        f"{_fmt(lat.get('throughput_rows_s'), 0)} rows/s (MLflow pyfunc, this machine).</p>"
    )
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:right}th{background:#f3f3f3}img{max-width:100%;display:block;margin:1em 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
