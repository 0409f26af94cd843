"""Report files (Evidently HTML and JSON, our summary) and their MLflow run.

Layout, one folder per interval and model version::

    <PLATFORM_HOME>/reports/drift/<YYYY-MM-DD>/<model>-<version|no-champion>/
        summary.json            the monitoring summary (what the drift table row holds, in full)
        all.json, all.html      Evidently snapshot of the fleet (HTML always, unless html: none)
        plant_id=P2.json/.html  one per slice (HTML where the policy asks for it)

Each HTML page starts with a heading naming the day, the slice and the reference window.

The folder is written under a temporary name and renamed into place, so a rerun replaces the
whole set and a killed run leaves the previous one. The same folder is logged as the artifacts of
one MLflow run per interval and model version (experiment ``<model>_monitoring``); a rerun
deletes the interval's earlier run first, so MLflow holds one run per interval too.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings, get_settings


def report_dir(day: date, model_name: str, model_version: str, settings: Settings | None = None):
    """Where one interval's reports for one model version go."""
    s = settings or get_settings()
    label = "no-champion" if model_version == "none" else f"v{model_version}"
    return s.reports_dir / "drift" / day.isoformat() / f"{model_name}-{label}"


def clean_json(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python numbers, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _slice_label(name: str) -> str:
    return "the whole fleet" if name == "all" else f"slice {name}"


def reference_label(reference: dict[str, Any]) -> str:
    """What the reference is and the days it spans, e.g. ``fixed window 2026-10-01 .. 10-07``."""
    window = reference.get("window") or reference.get("days") or []
    span = f"{window[0]} .. {window[-1]}" if window else "no days"
    if reference.get("kind") == "champion_training_set":
        return f"the champion's training set ({reference.get('id')}), rows from {span}"
    return f"fixed window {span} ({reference.get('id')})"


def report_heading(summary: dict[str, Any], slice_name: str) -> tuple[str, str]:
    """Title and subtitle of one report page: the day, the slice and the reference window."""
    version = summary["model_version"]
    model = f"{summary['model_name']} " + (
        "(no champion yet)" if version == "none" else f"v{version}"
    )
    title = f"Drift and data quality on {summary['interval']}: {_slice_label(slice_name)}"
    rows = summary.get("rows") or {}
    subtitle = (
        f"Day {summary['interval']} (UTC, [{summary['interval']}, {summary.get('interval_end')}))"
        f", {_slice_label(slice_name)}, model {model}; compared with "
        f"{reference_label(summary['reference'])}, {rows.get('reference', '?')} reference rows. "
        + ("Breached: " + ", ".join(summary["kinds"]) if summary["breached"] else "No breach.")
    )
    return title, subtitle


def add_heading(path: Path, title: str, subtitle: str) -> None:
    """Put a heading at the top of an Evidently HTML page (Evidently names no day or window)."""
    block = (
        '<header style="font-family:sans-serif;margin:1em 2em">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
    )
    text = path.read_text(encoding="utf-8")
    start = text.find("<body")
    end = text.find(">", start) + 1 if start >= 0 else 0
    text = text[:end] + block + text[end:]
    # The browser tab and history then name the day and slice too.
    text = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", text, count=1)
    path.write_text(text, encoding="utf-8")


def write_reports(
    target: Path,
    snapshots: dict[str, tuple[Any, bool]],
    summary: dict[str, Any],
) -> dict[str, list[str]]:
    """Write ``{slice: (snapshot, with_html)}`` and the summary into ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    written: dict[str, list[str]] = {"html": [], "json": []}
    try:
        for name, (snapshot, with_html) in snapshots.items():
            (tmp / f"{name}.json").write_text(snapshot.json())
            written["json"].append(str(target / f"{name}.json"))
            if with_html:
                snapshot.save_html(str(tmp / f"{name}.html"))
                add_heading(tmp / f"{name}.html", *report_heading(summary, name))
                written["html"].append(str(target / f"{name}.html"))
        summary = {**summary, "files": written}
        text = json.dumps(clean_json(summary), indent=2, allow_nan=False, default=str)
        (tmp / "summary.json").write_text(text)
        old = target.parent / f".{target.name}.{os.getpid()}.old"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


def _metric_key(text: str) -> str:
    # MLflow metric names: letters, digits, _ - . / and spaces.
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in text)


def _experiment(client: Any, name: str, settings: Settings) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    from ml_tasks.registry.models import experiment_location

    location = experiment_location(settings.mlflow_artifact_root, name)
    return client.create_experiment(name, artifact_location=location)


class MlflowLogger:
    """Logs each interval's run; the client and the experiment are looked up once (a range of
    days shares them), the runs stay one per interval and model version."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._client: Any = None
        self._experiments: dict[str, str] = {}

    def log(self, summary: dict[str, Any], folder: Path) -> str:
        """Log the interval's reports and figures as one MLflow run; returns its run id."""
        from ml_tasks.registry.models import client as mlflow_client

        if self._client is None:
            self._client = mlflow_client(self.settings)
        name = f"{summary['model_name']}_monitoring"
        if name not in self._experiments:
            self._experiments[name] = _experiment(self._client, name, self.settings)
        return _log_run(self._client, self._experiments[name], summary, folder)


def log_run(summary: dict[str, Any], folder: Path, settings: Settings | None = None) -> str:
    """Log the interval's reports and figures as one MLflow run; returns its run id."""
    return MlflowLogger(settings).log(summary, folder)


def _log_run(client: Any, experiment_id: str, summary: dict[str, Any], folder: Path) -> str:
    import mlflow

    model, version, interval = summary["model_name"], summary["model_version"], summary["interval"]
    earlier = client.search_runs(
        [experiment_id],
        filter_string=f"tags.interval = '{interval}' and tags.model_version = '{version}'",
    )
    for run in earlier:
        client.delete_run(run.info.run_id)
    tags = {
        "interval": interval,
        "model_name": model,
        "model_version": version,
        "reference_kind": summary["reference"]["kind"],
        "breached": str(summary["breached"]).lower(),
        "kinds": ",".join(summary["kinds"]),
    }
    if summary.get("run_id"):
        tags["airflow_run_id"] = summary["run_id"]
    metrics: dict[str, float] = {
        "breached": float(summary["breached"]),
        "rows.current": float(summary["rows"]["current"]),
        "rows.reference": float(summary["rows"]["reference"]),
    }
    for item in summary["slices"]:
        if item["evaluated"]:
            metrics[_metric_key(f"share_drifted/{item['name']}")] = float(item["share"])
            for column in item["columns"]:
                key = _metric_key(f"score/{item['name']}/{column['column']}")
                metrics[key] = float(column["score"])
            if item.get("prediction"):
                key = _metric_key(f"prediction_score/{item['name']}")
                metrics[key] = float(item["prediction"]["score"])
    for fig in summary["quality"]["slices"]:
        metrics[_metric_key(f"quality/{fig['name']}/silent_share")] = float(fig["silent_share"])
        for sensor in fig["sensors"]:
            base = f"quality/{fig['name']}/{sensor['sensor']}"
            metrics[_metric_key(f"{base}/null_share")] = float(sensor["null_share"])
            metrics[_metric_key(f"{base}/out_of_range_share")] = float(sensor["out_of_range_share"])
    clean = {k: v for k, v in metrics.items() if math.isfinite(v)}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"drift_{interval}_{version}", tags=tags
    ) as run:
        mlflow.log_params(
            {
                "policy_version": summary["policy"]["version"],
                "policy_path": summary["policy"].get("path"),
                "reference_id": summary["reference"]["id"],
                "method": summary["policy"]["drift"]["method"],
                "current_sample_rows": summary["policy"]["current"]["sample_rows"],
            }
        )
        mlflow.log_metrics(clean)
        mlflow.log_artifacts(str(folder), artifact_path="drift_report")
        return run.info.run_id
