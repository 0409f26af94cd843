"""Live model performance from delayed labels: how the served models did, day by day.

Failures are known only after the label horizon (24 h by default): the run for landing day D
evaluates the machine-hours of day D-1, whose labels the ELT of day D completed. For that day
(the UTC day of ``feature_ts``, the machine-hour scored: event time, not answer time):

1. the gateway's prediction log (``predictions``) gives every answer; only scored ones
   (status 200, a score) count, and **repeated requests are deduplicated**: one row per
   ``(model_version, alias, machine_id, feature_ts)``, the first answer
   (:func:`ml_tasks.monitoring.live_labels.served_answers`);
2. each machine-hour gets its training label from the curated work orders
   (:mod:`ml_tasks.monitoring.live_labels`); a day whose labels are not all known yet is
   **pending** and nothing is written;
3. per model version and alias, for the fleet and per plant: rows, positives, ROC-AUC and PR-AUC
   (only from ``min_positives`` positives: the policy), recall and precision of the alert the
   gateway served, Brier score, expected calibration error, mean score against the positive rate
   (:mod:`ml_tasks.monitoring.live_metrics`);
4. the drop rule of ``include/policies/monitoring.yaml`` (``live_performance``) against the
   version's offline evaluation (its run's ``eval.challenger.*`` metrics) and absolute floors.

Written: the Delta table ``live_performance`` (:data:`COLUMNS`; a rerun of a day replaces that
day's rows of the model, as the drift table does), an Evidently classification report per
version and alias under ``<reports>/live_performance/<day>/``, MLflow metrics ``live_roc_auc``
... on the run that registered the version (step = the day's ordinal, timestamp = the day's
midnight; MLflow appends metric history, so a rerun adds a second point at the same step: the
table is the record, the MLflow series is for plotting), and Prometheus samples through the
Pushgateway when one is configured.

A drop of the champion raises the alarm: the DAG task alerts, emits the ``drift_alarm`` asset
with ``kind: live_performance``, and :func:`live_status` (read by the promotion gate,
:func:`ml_tasks.monitoring.status.promotion_gate`) reports the alarm until a later computed day
holds.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

TABLE = "live_performance"
FLEET = "all"
KIND = "live_performance"
PENDING = "pending"
NO_ANSWERS = "no_answers"

# name -> pyarrow type name; the order is the table's column order. Stable: the Airflow UI's ML
# view plots it.
COLUMNS: dict[str, str] = {
    "day": "string",  # the machine-hours' UTC day (feature_ts), ISO
    "model_name": "string",
    "model_version": "string",
    "alias": "string",  # the alias that served the answers (champion, challenger...)
    "slice": "string",  # "all" or "plant_id=<plant>"
    "plant_id": "string",  # "all" for the fleet
    "status": "string",  # computed | insufficient (ranking metrics left out: see note)
    "answers": "int64",  # logged answers before deduplication
    "rows": "int64",  # labelled machine-hours (deduplicated)
    "positives": "int64",
    "positive_rate": "float64",
    "mean_score": "float64",
    "roc_auc": "float64",
    "pr_auc": "float64",
    "recall_at_alert": "float64",
    "precision_at_alert": "float64",
    "alert_share": "float64",
    "brier": "float64",
    "ece": "float64",
    "threshold": "float64",  # the alert threshold the gateway served (median over the day)
    "offline_roc_auc": "float64",  # the version's offline evaluation (holdout)
    "offline_recall_at_budget": "float64",
    "in_alarm": "bool_",
    "reasons": "string",  # JSON list of strings
    "note": "string",
    "report_path": "string",
    "labels_known_until": "string",
    "policy_version": "int64",
    "run_id": "string",
    "written_at": "string",
}
# What goes to MLflow and the Pushgateway, per version and alias (the fleet's numbers).
METRICS = (
    "roc_auc",
    "pr_auc",
    "recall_at_alert",
    "precision_at_alert",
    "brier",
    "ece",
    "mean_score",
    "positive_rate",
    "rows",
    "positives",
)


def table_uri(settings: Settings | None = None) -> str:
    """Where the live-performance table lives."""
    return (settings or get_settings()).table_uri(TABLE)


def schema() -> Any:
    """The table's Arrow schema (from :data:`COLUMNS`)."""
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS.items()])


def read_live_performance(settings: Settings | None = None, model_name: str | None = None) -> Any:
    """The table (of one model) as a ``pyarrow.Table``; None before the first computed day."""
    from ml_tasks.elt import lake

    s = settings or get_settings()
    filters = [("model_name", "=", model_name)] if model_name else None
    return lake.read_table(table_uri(s), s, filters=filters)


def read_rows(
    model_name: str | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Every row (of one model), ``reasons`` decoded, ordered by day, version, alias, slice."""
    table = read_live_performance(settings, model_name)
    if table is None:
        return []
    rows = table.to_pylist()
    for row in rows:
        row["reasons"] = json.loads(row["reasons"] or "[]")
    return sorted(rows, key=lambda r: (r["day"], r["model_version"], r["alias"], r["slice"]))


def write_day(
    day: date, model_name: str, rows: list[dict[str, Any]], settings: Settings | None = None
) -> int:
    """Replace the day's rows of ``model_name`` with ``rows`` (one Delta commit)."""
    import pyarrow as pa

    from ml_tasks.elt import lake

    s = settings or get_settings()
    if "'" in model_name:
        raise ValueError(f"quote in a model name: {model_name!r}")
    values = [
        {**{k: row.get(k) for k in COLUMNS}, "reasons": json.dumps(list(row.get("reasons") or []))}
        for row in rows
    ]
    table = pa.Table.from_pylist(values, schema=schema())
    predicate = f"day = '{day.isoformat()}' AND model_name = '{model_name}'"
    return lake.replace_where(table_uri(s), table, predicate, s)


def offline_metrics(mlflow_client: Any, model_name: str, version: str) -> dict[str, Any]:
    """The version's offline evaluation (holdout) values and the run that registered it.

    ``evaluate_model`` logs ``eval.challenger.<metric>`` on the version's run; a version never
    evaluated has none (its drop bounds are then off; the floors still apply).
    """
    try:
        run_id = mlflow_client.get_model_version(model_name, version).run_id
        metrics = mlflow_client.get_run(run_id).data.metrics if run_id else {}
    except Exception as err:  # a deleted version or run: report without offline values
        log.warning("no offline metrics for %s v%s: %s", model_name, version, err)
        return {"run_id": None, "roc_auc": None, "recall_at_budget": None}
    return {
        "run_id": run_id,
        "roc_auc": metrics.get("eval.challenger.roc_auc"),
        "recall_at_budget": metrics.get("eval.challenger.recall_at_budget"),
    }


def _slices(frame: Any) -> list[tuple[str, str, Any]]:
    out = [(FLEET, FLEET, frame)]
    for plant, part in frame.groupby("plant_id", sort=True):
        out.append((f"plant_id={plant}", str(plant), part))
    return out


def _served_alerts(part: Any) -> Any:
    """The served alert decisions, None when no answer carried one (no alert threshold)."""
    alerts = part["alert"]
    if alerts.isna().all():
        return None
    return alerts.astype("boolean").fillna(False).to_numpy(dtype=bool)


def compute_rows(
    labelled: Any,
    *,
    day: date,
    model_name: str,
    live: Any,
    offline: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The table rows of one day: per (version, alias) x (fleet, each plant).

    ``labelled``: answers with ``label`` and ``plant_id`` (and ``answers``, the repeats each
    row stands for); ``live``: the policy's :class:`LivePerformancePolicy`; ``offline``:
    version -> :func:`offline_metrics`. Pure (no I/O).
    """
    from ml_tasks.monitoring.live_labels import LABEL
    from ml_tasks.monitoring.live_metrics import DropRule, drop_reasons, slice_metrics

    rule = DropRule(
        max_roc_auc_drop=live.max_roc_auc_drop,
        min_roc_auc=live.min_roc_auc,
        max_recall_drop=live.max_recall_drop,
        min_recall=live.min_recall,
        min_pr_auc=live.min_pr_auc,
    )
    rows: list[dict[str, Any]] = []
    for (version, alias), group in labelled.groupby(["model_version", "alias"], sort=True):
        ref = offline.get(str(version)) or {}
        for name, plant, part in _slices(group):
            metrics = slice_metrics(
                part[LABEL].to_numpy(),
                part["score"].to_numpy(),
                _served_alerts(part),
                min_rows=live.min_rows,
                min_positives=live.min_positives,
                bins=live.calibration_bins,
            )
            watched = alias in live.alarm_aliases and (
                name == FLEET or live.alarm_on == "every_slice"
            )
            where = f"{model_name} v{version} @{alias} {day} {name}"
            reasons = drop_reasons(metrics, ref, rule, where=where) if watched else []
            threshold = part["threshold"].dropna()
            rows.append(
                {
                    "day": day.isoformat(),
                    "model_name": model_name,
                    "model_version": str(version),
                    "alias": str(alias),
                    "slice": name,
                    "plant_id": plant,
                    "status": metrics["status"],
                    "answers": int(part["answers"].sum()) if "answers" in part else len(part),
                    "rows": metrics["rows"],
                    "positives": metrics["positives"],
                    "positive_rate": metrics["prevalence"],
                    "mean_score": metrics["mean_score"],
                    **{
                        k: metrics[k]
                        for k in (
                            "roc_auc",
                            "pr_auc",
                            "recall_at_alert",
                            "precision_at_alert",
                            "alert_share",
                            "brier",
                            "ece",
                        )
                    },
                    "threshold": float(threshold.median()) if len(threshold) else None,
                    "offline_roc_auc": ref.get("roc_auc"),
                    "offline_recall_at_budget": ref.get("recall_at_budget"),
                    "in_alarm": bool(reasons),
                    "reasons": reasons,
                    "note": metrics["note"],
                }
            )
    return rows


def _report(
    part: Any, threshold: float | None, path: Path, title: str
) -> str | None:  # pragma: no cover - exercised by the component test
    """An Evidently classification report of one version's day (None with a single class)."""
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset

    from ml_tasks.monitoring.live_labels import LABEL

    frame = part[[LABEL, "score"]].rename(columns={LABEL: "target", "score": "prediction"})
    if frame["target"].nunique() < 2:
        return None
    definition = DataDefinition(
        classification=[BinaryClassification(target="target", prediction_probas="prediction")]
    )
    preset = (
        ClassificationPreset(probas_threshold=threshold) if threshold else ClassificationPreset()
    )
    snapshot = Report([preset], metadata={"title": title}).run(
        Dataset.from_pandas(frame, data_definition=definition), None
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
    return str(path)


def report_dir(day: date, settings: Settings | None = None) -> Path:
    """Where a day's classification reports go."""
    return (settings or get_settings()).reports_dir / "live_performance" / day.isoformat()


def _log_mlflow(
    mlflow_client: Any, day: date, rows: list[dict[str, Any]], offline: dict[str, dict[str, Any]]
) -> list[str]:
    """The fleet's numbers on each version's run; returns the runs written to."""
    from mlflow.entities import Metric

    step = day.toordinal()
    stamp = int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() * 1000)
    runs = []
    for row in rows:
        run_id = (offline.get(row["model_version"]) or {}).get("run_id")
        if row["slice"] != FLEET or not run_id:
            continue
        prefix = "live_" if row["alias"] == "champion" else f"live_{row['alias']}_"
        metrics = [
            Metric(f"{prefix}{name}", float(row[name]), stamp, step)
            for name in METRICS
            if row.get(name) is not None
        ]
        metrics.append(Metric(f"{prefix}alarm", float(row["in_alarm"]), stamp, step))
        try:
            mlflow_client.log_batch(run_id, metrics=metrics)
            runs.append(run_id)
        except Exception as err:  # a deleted run: the table still holds the numbers
            log.warning("live metrics not logged to run %s: %s", run_id, err)
    return runs


def _push(day: date, model_name: str, rows: list[dict[str, Any]], settings: Settings) -> bool:
    """Prometheus samples of the day (a no-op without a Pushgateway): one group per model, so
    the latest labelled day replaces the one before; the data day is a gauge of its own."""
    from ml_tasks.observability.platform_metrics import (
        LIVE_PERFORMANCE_ALARM,
        LIVE_ROC_AUC,
        push_stage,
    )
    from ml_tasks.observability.pushgateway import Sample

    names = {name: f"ml_platform_live_{name}" for name in METRICS} | {"roc_auc": LIVE_ROC_AUC}
    samples = []
    for row in rows:
        labels = {
            "model": model_name,
            "version": row["model_version"],
            "alias": row["alias"],
            "slice": row["slice"],
        }
        for name in METRICS:
            if row.get(name) is not None:
                samples.append(
                    Sample(names[name], float(row[name]), labels, f"Live {name}, latest day")
                )
        samples.append(
            Sample(
                LIVE_PERFORMANCE_ALARM,
                float(row["in_alarm"]),
                labels,
                "1 when the latest labelled day breaches the live-performance policy",
            )
        )
    return push_stage(
        "live_performance", samples, grouping={"model": model_name}, day=day, settings=settings
    )


def evaluate_day(
    day: date,
    *,
    model_name: str = "failure_model",
    settings: Settings | None = None,
    run_id: str | None = None,
    log_mlflow: bool = True,
    write_reports: bool | None = None,
) -> dict[str, Any]:
    """Compute, record and judge the live performance of ``day``'s machine-hours.

    Returns a JSON-able summary: ``status`` (``computed``, ``pending`` when the labels are not
    all known yet, ``no_answers`` when nothing was served about the day), ``in_alarm`` and
    ``reasons`` (the champion's drop), the fleet row per version and alias, where the reports
    and runs are. Pending and answerless days write nothing.
    """
    from ml_tasks.monitoring import live_labels
    from ml_tasks.monitoring.policy import load_policy
    from ml_tasks.registry.models import client

    s = settings or get_settings()
    policy = load_policy(settings=s)
    live = policy.live_performance
    horizon = timedelta(hours=live.horizon_hours)
    known_until = live_labels.labels_known_until(s)
    summary: dict[str, Any] = {
        "day": day.isoformat(),
        "model_name": model_name,
        "labels_known_until": known_until.isoformat() if known_until else None,
        "in_alarm": False,
        "reasons": [],
        "versions": [],
        "report_paths": [],
        "mlflow_runs": [],
    }
    if not live_labels.day_is_labelled(day, known_until, horizon):
        return {
            **summary,
            "status": PENDING,
            "note": f"labels of {day} not known yet: its last hour needs {live.horizon_hours} h "
            f"of curated work orders after it (curated until {known_until})",
        }
    answers, repeats = live_labels.served_answers(live_labels.read_day_answers(s, day), day)
    if answers.empty:
        return {**summary, "status": NO_ANSWERS, "note": f"no scored answer about {day}"}
    machines, work_orders = live_labels.read_curated(s)
    labelled, unlabelled = live_labels.attach_labels(
        answers, machines, work_orders, day, horizon=horizon, known_until=known_until
    )
    c = client(s)
    offline = {
        str(v): offline_metrics(c, model_name, str(v))
        for v in sorted(set(answers["model_version"]))
    }
    rows = compute_rows(labelled, day=day, model_name=model_name, live=live, offline=offline)
    html = live.html if write_reports is None else write_reports
    written_at = datetime.now(UTC).isoformat()
    for row in rows:
        row.update(
            labels_known_until=summary["labels_known_until"],
            policy_version=policy.version,
            run_id=run_id,
            written_at=written_at,
            report_path=None,
        )
        if html and row["slice"] == FLEET:
            part = labelled[
                (labelled["model_version"] == row["model_version"])
                & (labelled["alias"] == row["alias"])
            ]
            name = f"{model_name}-v{row['model_version']}-{row['alias']}.html"
            row["report_path"] = _report(
                part,
                row["threshold"],
                report_dir(day, s) / name,
                f"Live performance of {model_name} v{row['model_version']} @{row['alias']}, {day}",
            )
    write_day(day, model_name, rows, s)
    runs = _log_mlflow(c, day, rows, offline) if log_mlflow else []
    pushed = _push(day, model_name, rows, s)
    reasons = [r for row in rows for r in row["reasons"]]
    fleet = [
        {k: row[k] for k in COLUMNS if k not in ("reasons", "written_at", "run_id")}
        for row in rows
        if row["slice"] == FLEET
    ]
    summary.update(
        status="computed",
        in_alarm=bool(reasons),
        reasons=reasons,
        versions=fleet,
        answers=int(len(answers) + repeats),
        repeats=int(repeats),
        unlabelled=int(unlabelled),
        report_paths=[r["report_path"] for r in rows if r.get("report_path")],
        mlflow_runs=runs,
        pushed=pushed,
        champion_version=next(
            (r["model_version"] for r in rows if r["alias"] == "champion" and r["slice"] == FLEET),
            None,
        ),
    )
    log.info("live performance %s: %s", day, json.dumps(verdict_lines(summary)))
    return summary


def verdict_lines(summary: dict[str, Any]) -> list[str]:
    """One line per served version (and the reasons), for logs, task notes and the CLI."""
    if summary["status"] != "computed":
        return [f"{summary['day']}: {summary['status']}: {summary.get('note', '')}"]
    lines = []
    for row in summary["versions"]:
        auc = "-" if row["roc_auc"] is None else f"{row['roc_auc']:.3f}"
        offline = "-" if row["offline_roc_auc"] is None else f"{row['offline_roc_auc']:.3f}"
        lines.append(
            f"{summary['day']} v{row['model_version']} @{row['alias']}: {row['rows']} "
            f"machine-hours, {row['positives']} failures, ROC-AUC {auc} (offline {offline})"
            + (" ALARM" if row["in_alarm"] else "")
            + (f" ({row['note']})" if row["note"] else "")
        )
    return lines + list(summary["reasons"])


def evaluate_days(start: date, end: date | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`evaluate_day` for each day of ``[start, end]``."""
    last = end or start
    return [
        evaluate_day(start + timedelta(days=i), **kwargs) for i in range((last - start).days + 1)
    ]


def live_status(model_name: str = "failure_model", settings: Settings | None = None) -> dict:
    """The champion's live-performance status: the latest computed day decides.

    ``{"evaluated", "in_alarm", "latest_day", "model_version", "reasons", "since",
    "alarm_days"}``: in alarm when the latest day with a champion row breached the policy,
    since the first day of the unbroken run of breached days ending there.
    """
    rows = [r for r in read_rows(model_name, settings) if r["alias"] == "champion"]
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(row["day"], []).append(row)
    if not days:
        return {
            "model_name": model_name,
            "evaluated": False,
            "in_alarm": False,
            "latest_day": None,
            "model_version": None,
            "reasons": [],
            "since": None,
            "alarm_days": [],
        }
    ordered = sorted(days)
    alarmed = [d for d in ordered if any(r["in_alarm"] for r in days[d])]
    streak: list[str] = []
    for d in reversed(ordered):
        if d not in alarmed:
            break
        streak.append(d)
    latest = days[ordered[-1]]
    return {
        "model_name": model_name,
        "evaluated": True,
        "in_alarm": bool(streak),
        "latest_day": ordered[-1],
        "model_version": next((r["model_version"] for r in latest if r["slice"] == FLEET), None),
        "reasons": [reason for r in latest for reason in r["reasons"]],
        "since": streak[-1] if streak else None,
        "alarm_days": alarmed,
    }


def alarm_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``drift_alarm`` asset event's extra for a live-performance alarm.

    The keys ``train_failure_model`` reads (``interval``, ``model_name``, ``model_version``,
    ``kinds``, ``reasons``, ``report_dir``; see ``ml_tasks.training.trigger.DriftAlarm``) plus
    ``kind`` and the fleet numbers.
    """
    return {
        "kind": KIND,
        "interval": summary["day"],
        "model_name": summary["model_name"],
        "model_version": summary.get("champion_version"),
        "kinds": [KIND],
        "reasons": list(summary["reasons"]),
        "drifted_columns": {},
        "report_dir": str(Path(summary["report_paths"][0]).parent)
        if summary.get("report_paths")
        else None,
        "live": [
            {
                k: v
                for k, v in row.items()
                if k
                in (
                    "model_version",
                    "alias",
                    "rows",
                    "positives",
                    "roc_auc",
                    "offline_roc_auc",
                    "recall_at_alert",
                )
            }
            for row in summary["versions"]
        ],
    }
