"""The model card of a model version: Markdown for people, JSON for machines.

Two sources: the facts a person declares and reviews (``include/model_cards/<model>.yaml``:
intended use, out-of-scope uses, the EU AI Act risk tier with its justification, limitations),
and the facts the platform knows about the version (training-data provenance from its registry
tags and lineage, features, overall and per-slice metrics, robustness results). A card whose
declared facts are missing fails to build, and the artifact gate then blocks the release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings, get_settings

REQUIRED = ("intended_use", "out_of_scope", "risk", "limitations")
AI_ACT_TIERS = ("prohibited", "high", "limited", "minimal")


class ModelCardError(ValueError):
    """The declared model-card facts are missing or invalid."""


def load_spec(model_name: str, settings: Settings | None = None) -> dict[str, Any]:
    """The declared facts of ``model_name`` (validated)."""
    import yaml

    s = settings or get_settings()
    path = Path(s.model_cards_dir) / f"{model_name}.yaml"
    if not path.exists():
        raise ModelCardError(f"no model card facts for {model_name}: {path} is missing")
    spec = yaml.safe_load(path.read_text()) or {}
    missing = [k for k in REQUIRED if not spec.get(k)]
    if missing:
        raise ModelCardError(f"{path}: missing {missing}")
    tier = spec["risk"].get("eu_ai_act_tier")
    if tier not in AI_ACT_TIERS or not spec["risk"].get("justification"):
        raise ModelCardError(
            f"{path}: risk.eu_ai_act_tier must be one of {AI_ACT_TIERS} with a justification"
        )
    spec["path"] = str(path)
    return spec


def build_card(spec: dict[str, Any], evaluation: dict[str, Any], version: Any) -> dict[str, Any]:
    """The card as a dict: declared facts plus what the platform knows about ``version``."""
    tags = version.tags
    lineage = {
        k.removeprefix("dataset.").removesuffix(".version"): v
        for k, v in sorted(tags.items())
        if k.startswith("dataset.") and k.endswith(".version")
    }
    ts = version.training_set
    metrics = evaluation["metrics"]["challenger"]
    return {
        "model_name": version.model_name,
        "version": version.version,
        "title": spec.get("title"),
        "owner": spec.get("owner"),
        "contact": spec.get("contact"),
        "intended_use": spec["intended_use"],
        "intended_users": spec.get("intended_users", []),
        "out_of_scope": spec["out_of_scope"],
        "provenance": {
            "training_set_version": tags.get("training_set.version") or ts.get("version"),
            "training_set_path": tags.get("training_set.path") or ts.get("path"),
            "training_window": [ts.get("start"), ts.get("end")],
            "split": version.split,
            "datasets": lineage or ts.get("lineage", {}),
            "feature_service": tags.get("feature_service") or ts.get("feature_service"),
            "code_version": tags.get("code_version"),
            "mlflow_run_id": version.run_id,
            "airflow_run_id": tags.get("airflow_run_id"),
            "model_sha256": tags.get("model_sha256"),
            # Why the training run started (schedule, new features, a drift alarm and what
            # drifted); None for versions trained before runs recorded it.
            "trigger": version.lineage.get("trigger"),
        },
        "features": version.features,
        "label": ts.get("label"),
        "metrics": {k: v for k, v in metrics.items() if k != "calibration_curve"},
        "champion_compared": evaluation.get("champion"),
        "comparison": evaluation.get("comparison", {}),
        "holdout": evaluation["holdout"],
        "slices": evaluation["slices"].get("challenger") or {},
        "robustness": (evaluation.get("robustness") or {}).get("summary", {}),
        # Per sensor: ROC-AUC on the holdout as served and with that sensor silenced.
        "missing_sensor": (evaluation.get("robustness") or {}).get("missing_sensor") or {},
        # Share of training rows copied with one sensor masked (None: trained before it was
        # recorded on the version).
        "sensor_dropout": tags.get("training.sensor_dropout"),
        "risk": spec["risk"],
        "limitations": spec["limitations"],
        "ethical_considerations": spec.get("ethical_considerations", []),
        "evaluation_policy": evaluation["policy"],
        "evaluated_at": evaluation["evaluated_at"],
        "spec_path": spec.get("path"),
    }


def _n(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _bullets(items: Any) -> list[str]:
    return [f"- {item}" for item in (items or [])]


def _trigger_line(trigger: dict[str, Any] | None) -> str:
    """Why the run started, from the lineage's ``trigger`` (the drift alarm in full)."""
    if not trigger:
        return "not recorded"
    line = str(trigger.get("description") or trigger.get("reason"))
    alarm = (trigger.get("alarms") or [None])[-1]
    if alarm and alarm.get("model_version") not in (None, "none"):
        line += f" (monitored model v{alarm['model_version']})"
    return line


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    p, risk = card["provenance"], card["risk"]
    lines = [
        f"# Model card: {card['model_name']} v{card['version']}",
        "",
        f"**{card.get('title') or card['model_name']}**. Owner: {card.get('owner')}"
        + (f" ({card['contact']})" if card.get("contact") else ""),
        "",
        "## Intended use",
        str(card["intended_use"]),
        "",
        "Intended users:",
        *_bullets(card.get("intended_users")),
        "",
        "Out of scope:",
        *_bullets(card["out_of_scope"]),
        "",
        "## Risk tier under the EU AI Act",
        f"**{risk['eu_ai_act_tier']}**. {risk['justification']}",
        "",
        "Reassess the tier when:",
        *_bullets(risk.get("reassess_when")),
        "",
        "## Training data provenance",
        f"- training set: version {p['training_set_version']} ({p['training_set_path']})",
        f"- window: {card['provenance']['training_window'][0]} .. "
        f"{card['provenance']['training_window'][1]}; split: "
        f"{(p.get('split') or {}).get('train_window')} train, "
        f"{(p.get('split') or {}).get('valid_window')} validation",
        "- source datasets: "
        + (
            ", ".join(
                f"{k} v{v}" if str(v).isdigit() else f"{k} {v}"
                for k, v in sorted(p["datasets"].items())
            )
            or "n/a"
        ),
        f"- feature service: {p.get('feature_service')}; code version: {p.get('code_version')}",
        f"- MLflow run {p['mlflow_run_id']}; Airflow run {p.get('airflow_run_id')}",
        f"- model sha256: {p.get('model_sha256')}",
        f"- trained because: {_trigger_line(p.get('trigger'))}",
        "",
        f"## Features ({len(card['features'])})",
        ", ".join(f"`{f}`" for f in card["features"]) or "n/a",
        f"\nLabel: `{card.get('label')}`.",
        "",
        "## Metrics (time-based holdout)",
        f"Holdout: {card['holdout']['rows']} rows, {card['holdout']['positives']} failures, "
        f"{card['holdout']['start']} .. {card['holdout']['end']}"
        + (f" ({card['holdout']['restricted']})" if card["holdout"].get("restricted") else ""),
        "",
        "| metric | this version | champion | difference |",
        "|---|---:|---:|---:|",
    ]
    for name, row in card["comparison"].items():
        lines.append(
            f"| {name} | {_n(row.get('challenger'))} | {_n(row.get('champion'))} | "
            f"{_n(row.get('delta'))} |"
        )
    if card["slices"]:
        lines += [
            "",
            "### Per slice",
            "| slice | rows | failures | ROC-AUC | PR-AUC | recall@budget | Brier |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, s in sorted(card["slices"].items()):
            if "skipped" in s:
                lines.append(
                    f"| {name} | {s['rows']} | {s['positives']} | skipped: {s['skipped']} | | | |"
                )
            else:
                lines.append(
                    f"| {name} | {s['rows']} | {s['positives']} | {_n(s['roc_auc'])} | "
                    f"{_n(s['pr_auc'])} | {_n(s['recall_at_budget'])} | {_n(s['brier'])} |"
                )
    rob = card["robustness"]
    if rob:
        lines += ["", "## Robustness (metric drop under perturbation, CI)", ""]
        for kind in ("gaussian_noise", "missing_sensor", "unit_shift"):
            r = rob.get(kind) or {}
            ci = r.get("ci") or [None, None]
            lines.append(
                f"- {kind} (worst case {r.get('case')}): drop {_n(r.get('drop'))} "
                f"[{_n(ci[0])}, {_n(ci[1])}]"
            )
        if rob.get("sensor_importance"):
            lines.append(
                "- sensors by the drop their loss causes: "
                + ", ".join(f"{s['sensor']} {_n(s['drop'])}" for s in rob["sensor_importance"])
            )
    per_sensor = card.get("missing_sensor") or {}
    if per_sensor:
        dropout = card.get("sensor_dropout")
        lines += [
            "",
            "### A silent sensor (missing_sensor, per sensor)",
            "",
            "Trained with sensor dropout: "
            + (
                f"{dropout} (that share of the training rows copied with one sensor's features "
                "masked, so the model learns to fall back on the others)"
                if dropout not in (None, "", "0", "0.0")
                else "none"
            )
            + ".",
            "",
            "| sensor | holdout ROC-AUC | with the sensor silenced | drop | CI |",
            "|---|---|---|---|---|",
        ]
        for sensor, r in sorted(per_sensor.items(), key=lambda kv: -(kv[1].get("drop") or 0)):
            ci = r.get("ci") or [None, None]
            lines.append(
                f"| {sensor} | {_n(r.get('clean'))} | {_n(r.get('perturbed'))} | "
                f"{_n(r.get('drop'))} | [{_n(ci[0])}, {_n(ci[1])}] |"
            )
    lines += [
        "",
        "## Limitations",
        *_bullets(card["limitations"]),
        "",
        "## Ethical considerations",
        *_bullets(card.get("ethical_considerations")),
        "",
        f"_Evaluated {card['evaluated_at']} under policy {card['evaluation_policy'].get('path')}"
        f" (sha256 {str(card['evaluation_policy'].get('sha256'))[:12]}); declared facts from "
        f"{card.get('spec_path')}._",
        "",
    ]
    return "\n".join(lines)
