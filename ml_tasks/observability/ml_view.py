"""What the Airflow UI's ML view shows, read from the platform's own stores.

Plain functions, one per section of the view, each returning JSON-able dicts (the view's
``/ml/api/...`` endpoints return them as they are, the page renders them):

- :func:`models_section`: every registered version with its aliases and recorded gate
  verdicts, the audit history of the aliases, and the latest evaluation with every gate's
  checks (metric, challenger, champion, threshold, why);
- :func:`release_section`: the canary's traffic share now and every recorded release step
  (the ``traffic`` events of the audit history carry each step's numbers) with the stage
  records the release wrote on the candidate's run (``release/shadow.json``, ``canary.json``);
- :func:`monitoring_section`: the serving model's drift score per column per day of one slice
  (the fleet, or a plant), the slices and their alarm days, the Evidently reports, and the
  live performance per version when that table exists;
- :func:`data_section`: the datasets' current versions with what their last write covered
  and, per landing day, rows read and the quarantined share per table against its contract's
  limit (from the manifest the ELT runs write);
- :func:`search_section`: the search index's live version, kept versions, gate verdicts.

Nothing here writes: a store that does not exist yet gives an empty section. The registry is
read with one search per request, not one call per version.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

MODEL_NAME = "failure_model"
SECTIONS = ("models", "release", "monitoring", "data", "search")
# The artifacts of a version's run the view serves (nothing else of a run is reachable).
SERVED_ARTIFACTS = ("evaluation/report.html", "model_card/model_card.md")
# Suffixes of the monitoring reports the view serves from ``settings.reports_dir``.
SERVED_REPORT_SUFFIXES = (".html", ".json")
HISTORY_EVENTS = 40


def _iso_ms(ms: Any) -> str | None:
    """An MLflow timestamp (epoch milliseconds) as ISO 8601 UTC."""
    if not ms:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat(timespec="seconds")


def mlflow_links(
    settings: Settings, model_name: str, version: str, run_id: str, experiment_id: str | None
) -> dict[str, str]:
    """Where the MLflow UI shows a version and its run, and where this view serves its files."""
    ui = settings.mlflow_ui_url.rstrip("/")
    links = {"mlflow_version": f"{ui}/#/models/{model_name}/versions/{version}"}
    if experiment_id is not None:
        links["mlflow_run"] = f"{ui}/#/experiments/{experiment_id}/runs/{run_id}"
    links["evaluation_report"] = f"artifacts/{run_id}/{SERVED_ARTIFACTS[0]}"
    links["model_card"] = f"artifacts/{run_id}/{SERVED_ARTIFACTS[1]}"
    return links


def _experiments_of(c: Any, run_ids: list[str]) -> dict[str, str]:
    """run id -> experiment id, in two registry calls whatever the number of runs."""
    if not run_ids:
        return {}
    experiments = [e.experiment_id for e in c.search_experiments()]
    if not experiments:
        return {}
    quoted = ", ".join(f"'{r}'" for r in sorted(set(run_ids)))
    runs = c.search_runs(
        experiments, filter_string=f"attributes.run_id IN ({quoted})", max_results=len(run_ids) + 10
    )
    return {r.info.run_id: r.info.experiment_id for r in runs}


def _registered(settings: Settings, model_name: str) -> tuple[Any, Any] | None:
    """(client, registered model), or None when nothing is registered yet."""
    from mlflow.exceptions import MlflowException

    from ml_tasks.registry.models import client, registry_exists

    if not registry_exists(settings):
        return None
    c = client(settings)
    try:
        return c, c.get_registered_model(model_name)
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise  # a registry that fails to answer is not an empty one


def _versions(c: Any, model_name: str) -> list[Any]:
    """Every version of the model, newest first (one search call)."""
    found = c.search_model_versions(f"name = '{model_name}'")
    return sorted(found, key=lambda mv: int(mv.version), reverse=True)


def latest_evaluated(versions: list[dict[str, Any]]) -> str | None:
    """The newest version whose evaluation is complete."""
    from ml_tasks.evaluation.records import COMPLETE

    done = [v["version"] for v in versions if v.get("evaluation_status") == COMPLETE]
    return max(done, key=int) if done else None


def gate_decisions(settings: Settings, model_name: str, version: str) -> list[dict[str, Any]]:
    """Every gate applied to ``version`` now: the checks the ``promote_model`` gate sensors run
    (:func:`ml_tasks.release.gates.decide`, nothing recorded); a gate still waiting for its
    evaluation is left out. The verdicts the sensors recorded are the ``gate.<gate>`` tags
    (:func:`models_section` shows both).
    """
    from ml_tasks.release import gates

    decisions = gates.decide_all(model_name, version, settings=settings)
    return [d.to_dict() for d in decisions if d is not None]


def _evaluation_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The parts of an evaluation record the view shows (the record itself is large)."""
    return {
        "version": evaluation.get("version"),
        "run_id": evaluation.get("run_id"),
        "evaluated_at": evaluation.get("evaluated_at"),
        "champion_version": (evaluation.get("champion") or {}).get("version"),
        "holdout": evaluation.get("holdout"),
        "metrics": evaluation.get("metrics"),
        "alert_threshold": (evaluation.get("serving") or {}).get("alert_threshold"),
    }


def models_section(
    settings: Settings | None = None, model_name: str = MODEL_NAME
) -> dict[str, Any]:
    """Versions with aliases and verdicts, the alias audit history, the latest evaluation."""
    from ml_tasks.evaluation.records import STATUS_TAG, load_evaluation
    from ml_tasks.registry import history
    from ml_tasks.registry.aliases import QUARANTINE_TAG
    from ml_tasks.registry.aliases import STATUS_TAG as RELEASE_STATUS_TAG
    from ml_tasks.release.gates import GATES, VERDICT_TAG

    s = settings or get_settings()
    empty: dict[str, Any] = {
        "model_name": model_name,
        "registered": False,
        "aliases": {},
        "versions": [],
        "history": [],
        "evaluation": None,
        "gates": [],
    }
    found = _registered(s, model_name)
    if found is None:
        return empty
    c, model = found
    aliases = {a: str(v) for a, v in sorted((model.aliases or {}).items())}
    found_versions = _versions(c, model_name)
    experiments = _experiments_of(c, [mv.run_id for mv in found_versions if mv.run_id])
    versions = []
    for mv in found_versions:
        tags = dict(mv.tags or {})
        version = str(mv.version)
        versions.append(
            {
                "version": version,
                "run_id": mv.run_id,
                "created_at": _iso_ms(mv.creation_timestamp),
                "aliases": [a for a, v in aliases.items() if v == version],
                "evaluation_status": tags.get(STATUS_TAG),
                "evaluated_at": tags.get("evaluation.at"),
                "gates": {g: tags.get(VERDICT_TAG.format(gate=g)) for g in GATES},
                "release_status": tags.get(RELEASE_STATUS_TAG),
                "quarantined": tags.get(QUARANTINE_TAG),
                "links": mlflow_links(
                    s, model_name, version, mv.run_id, experiments.get(mv.run_id)
                ),
            }
        )
    events = history.read_events(model_name, s)
    recent = sorted(events, key=lambda e: e.at, reverse=True)[:HISTORY_EVENTS]
    out = {
        **empty,
        "registered": True,
        "aliases": aliases,
        "versions": versions,
        "history": [e.to_dict() for e in recent],
        "history_total": len(events),
    }
    latest = latest_evaluated(versions)
    if latest is not None:
        evaluation = load_evaluation(model_name, latest, s)
        if evaluation is not None:
            out["evaluation"] = _evaluation_summary(evaluation)
            out["gates"] = gate_decisions(s, model_name, latest)
    return out


def release_steps(
    events: list[dict[str, Any]], records: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The recorded traffic steps (canary share changes), oldest first, with their numbers.

    An offline step carries its numbers in its own event's details. A live step is measured
    when it ends: its numbers arrive as ``previous_step`` in the next step's event, and the
    last step's in the canary record's ``steps`` (``records``: :func:`release_section`'s).
    """
    steps = []
    for event in sorted(events, key=lambda e: e["at"]):
        if event["action"] != "traffic":
            continue
        details = dict(event.get("details") or {})
        steps.append(
            {
                "at": event["at"],
                "version": event.get("to_version"),
                "percent": details.pop("traffic_percent", None),
                "mode": details.pop("mode", None),
                "reason": event.get("reason"),
                "actor": event.get("actor"),
                "run_id": event.get("run_id"),
                "previous_step": details.pop("previous_step", None),
                "numbers": details,
            }
        )
    measured = {
        (step["version"], step["previous_step"].get("percent")): step["previous_step"]
        for step in steps
        if step["previous_step"]
    }
    for rec in records or []:
        if rec["stage"] == "canary":
            for numbers in rec["record"].get("steps") or []:
                measured.setdefault((rec["version"], numbers.get("percent")), numbers)
    for step in steps:
        del step["previous_step"]
        if not step["numbers"]:
            step["numbers"] = measured.get((step["version"], step["percent"]), {})
    return steps


def release_section(
    settings: Settings | None = None,
    model_name: str = MODEL_NAME,
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The canary share now, the release steps, and the stage records of the latest release.

    ``models``: :func:`models_section`'s answer when the caller has it (saves reading again).
    """
    from ml_tasks.registry.aliases import TRAFFIC_TAG
    from ml_tasks.registry.models import read_run_json

    s = settings or get_settings()
    out: dict[str, Any] = {
        "model_name": model_name,
        "canary_share": None,
        "canary_version": None,
        "shadow_version": None,
        "steps": [],
        "records": [],
    }
    found = _registered(s, model_name)
    if found is None:
        return out
    c, model = found
    aliases = {a: str(v) for a, v in (model.aliases or {}).items()}
    share = (model.tags or {}).get(TRAFFIC_TAG)
    out["canary_share"] = int(float(share)) if share not in (None, "") else None
    out["canary_version"] = aliases.get("canary")
    out["shadow_version"] = aliases.get("shadow")
    if models is None or "versions" not in models:
        models = models_section(s, model_name)
    stepped = {e["to_version"] for e in models["history"] if e["action"] == "traffic"}
    # The stage records of the newest version that went through a release stage.
    released = [v for v in models["versions"] if v.get("release_status") or v["version"] in stepped]
    for v in released[:1]:
        for stage in ("shadow", "canary"):
            record = read_run_json(c, v["run_id"], f"release/{stage}.json")
            if record is not None:
                out["records"].append({"version": v["version"], "stage": stage, "record": record})
    out["steps"] = release_steps(models["history"], out["records"])
    return out


def _serving_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The serving model's rows (champion, or the fixed window), the last write per day."""
    from ml_tasks.monitoring.store import NO_CHAMPION

    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # ordered by interval, then write time
        if row.get("alias") in (None, "", NO_CHAMPION, "champion"):
            latest[row["interval_start"]] = row
    return [latest[k] for k in sorted(latest)]


FLEET = "all"  # the drift table's slice of every plant together


def drift_series(rows: list[dict[str, Any]], slice_name: str = FLEET) -> dict[str, Any]:
    """Per column, the drift score per day of ``slice_name``; the thresholds; the alarm days.

    The fleet's alarm days are the days the model was in alarm (whatever slice drifted); a
    plant's are the days that slice drifted (``drifted_slices``). ``drifted_groups``: the
    sensors with a column that drifted in the slice on one of those days.
    """
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    thresholds: dict[str, float] = {}
    methods: dict[str, str] = {}
    days, alarm_days = [], []
    drifted: set[str] = set()
    for row in _serving_rows(rows):
        day = str(row["interval_start"])[:10]
        days.append(day)
        in_slice = slice_name in (row.get("drifted_slices") or [])
        if row.get("breached") if slice_name == FLEET else in_slice:
            alarm_days.append(day)
        if in_slice:
            columns = (row.get("drifted_columns") or {}).get(slice_name) or []
            drifted.update(column_group(c) for c in columns)
        scores = (row.get("column_scores") or {}).get(slice_name) or {}
        for column, (score, method, threshold) in sorted(scores.items()):
            series[column].append((day, float(score)))
            thresholds[column] = float(threshold)
            methods[column] = str(method)
    return {
        "groups": drift_groups(list(series)),
        "slice": slice_name,
        "days": days,
        "alarm_days": alarm_days,
        "drifted_groups": sorted(drifted),
        "series": {k: [[d, v] for d, v in pts] for k, pts in sorted(series.items())},
        "thresholds": thresholds,
        "methods": methods,
    }


def drift_slices(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every slice the drift table has scores for (the fleet first), with its alarm days
    (counted as :func:`drift_series` marks them)."""
    scored: dict[str, int] = defaultdict(int)
    alarms: dict[str, int] = defaultdict(int)
    for row in _serving_rows(rows):
        for name in row.get("column_scores") or {}:
            scored[name] += 1
        for name in set(row.get("drifted_slices") or []) - {FLEET}:
            alarms[name] += 1
        alarms[FLEET] += bool(row.get("breached"))
    ordered = sorted(scored, key=lambda name: (name != FLEET, name))
    return [{"name": n, "days": scored[n], "alarm_days": alarms[n]} for n in ordered]


def known_slice(monitoring: dict[str, Any], slice_name: str) -> bool:
    """Whether ``slice_name`` is the fleet or a slice :func:`monitoring_section` listed."""
    names = {s["name"] for s in monitoring.get("drift_slices") or []}
    return slice_name == FLEET or slice_name in names


def column_group(column: str) -> str:
    """The sensor a monitored column summarises (``temperature_c_mean_1h`` -> ``temperature_c``);
    a column that is no ``<sensor>_<statistic>_<window>`` is its own group."""
    parts = column.rsplit("_", 2)
    return parts[0] if len(parts) == 3 and parts[2][:1].isdigit() else column


def drift_groups(columns: list[str]) -> dict[str, list[str]]:
    """Columns by sensor, in order: one chart each keeps a dozen lines apart."""
    groups: dict[str, list[str]] = defaultdict(list)
    for column in sorted(columns):
        groups[column_group(column)].append(column)
    return dict(groups)


def report_links(rows: list[dict[str, Any]], reports_dir: Path) -> list[dict[str, Any]]:
    """Per monitored day, the Evidently HTML reports under ``reports_dir`` (relative paths)."""
    out = []
    root = reports_dir.resolve()
    for row in _serving_rows(rows):
        folder = Path(str(row.get("report_dir") or ""))
        if not row.get("report_dir") or not folder.is_dir():
            continue
        try:
            relative = folder.resolve().relative_to(root)
        except ValueError:
            continue  # written elsewhere (another home): not served
        files = sorted(p.name for p in folder.glob("*.html"))
        out.append(
            {
                "day": str(row["interval_start"])[:10],
                "model_version": row["model_version"],
                "breached": bool(row["breached"]),
                "reasons": [r.get("message") for r in row.get("reasons") or []],
                "reports": [f"reports/{relative.as_posix()}/{f}" for f in files],
            }
        )
    return out


def _served_path(path: Any, reports_dir: Path) -> str | None:
    """``reports/<relative>`` for a file under ``reports_dir``, else None (not served)."""
    if not path:
        return None
    try:
        relative = Path(str(path)).resolve().relative_to(reports_dir.resolve())
    except ValueError:
        return None
    return f"reports/{relative.as_posix()}"


def live_series(rows: list[dict[str, Any]], metric: str = "roc_auc") -> dict[str, Any]:
    """Per model version and alias, the fleet's ``metric`` per day; the alarm days.

    A day without enough positives has no ranking metric (``status`` insufficient): it is a
    gap in its line, not a zero.
    """
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    alarm_days: set[str] = set()
    days: set[str] = set()
    for row in sorted(rows, key=lambda r: str(r.get("day"))):
        if row.get("plant_id", "all") != "all":
            continue
        day = str(row.get("day"))[:10]
        days.add(day)
        if row.get("in_alarm"):
            alarm_days.add(day)
        value = row.get(metric)
        if isinstance(value, int | float) and value == value:  # not NaN
            series[f"v{row.get('model_version')} {row.get('alias')}"].append((day, float(value)))
    return {
        "metric": metric,
        "days": sorted(days),
        "alarm_days": sorted(alarm_days),
        "series": {k: [[d, v] for d, v in pts] for k, pts in sorted(series.items())},
    }


LIVE_COLUMNS = (
    "day", "model_version", "alias", "status", "rows", "positives", "roc_auc", "pr_auc",
    "recall_at_alert", "precision_at_alert", "brier", "offline_roc_auc", "in_alarm", "note",
)  # fmt: skip


def live_days(rows: list[dict[str, Any]], reports_dir: Path) -> list[dict[str, Any]]:
    """The fleet's live numbers per day, version and alias, with the alarm reasons and report."""
    return [
        {
            **{k: row.get(k) for k in LIVE_COLUMNS},
            "reasons": list(row.get("reasons") or []),
            "report": _served_path(row.get("report_path"), reports_dir),
        }
        for row in rows
        if row.get("plant_id", "all") == "all"
    ]


def monitoring_section(
    settings: Settings | None = None, model_name: str = MODEL_NAME, drift_slice: str = FLEET
) -> dict[str, Any]:
    """Drift per column over time, drift status, reports, live performance per version.

    ``drift``: the series of ``drift_slice`` (the fleet by default); ``slice_alarms``: the
    series of every other slice with an alarm day, so the page can show where an alarm comes
    from without a click (the fleet's mean can hide one plant's drift).
    """
    from ml_tasks.monitoring import live_performance, store
    from ml_tasks.monitoring.status import drift_status

    s = settings or get_settings()
    rows = store.read_rows(model_name, s)
    live_rows = live_performance.read_rows(model_name, s)
    slices = drift_slices(rows)
    return {
        "model_name": model_name,
        "status": drift_status(model_name, s),
        "drift": drift_series(rows, drift_slice),
        "drift_slices": slices,
        "slice_alarms": [
            drift_series(rows, sl["name"])
            for sl in slices
            if sl["alarm_days"] and sl["name"] not in (drift_slice, FLEET)
        ],
        "reports": report_links(rows, s.reports_dir),
        "live_performance": live_series(live_rows) if live_rows else None,
        "live_days": live_days(live_rows, s.reports_dir),
    }


def quarantine_limits(contracts_dir: Path) -> dict[str, dict[str, float]]:
    """Per curated table, its contract's quarantine limits (max_bad_share, min_bad_records)."""
    from ml_tasks.elt.contracts import load_contract

    limits = {}
    for path in sorted(contracts_dir.glob("*.yaml")):
        contract = load_contract(path.stem, contracts_dir)
        limits[contract.curated_table] = {
            "max_bad_share": contract.max_bad_share,
            "min_bad_records": contract.min_bad_records,
        }
    return limits


def quarantine_per_day(
    entries: list[Any], limits: dict[str, dict[str, float]] | None = None
) -> list[dict[str, Any]]:
    """Per curated table and landing day, the last recorded run's rows and quarantined share.

    ``over_limit``: the day quarantined more than its contract allows (as the ELT decides it:
    a share above ``max_bad_share`` and at least ``min_bad_records`` rows); None without a
    contract.
    """
    latest: dict[tuple[str, str], Any] = {}
    for entry in entries:  # oldest first: a rerun of a day replaces its figures
        stats = entry.stats or {}
        if "rows_read" not in stats:
            continue  # not an ELT run (features, training sets)
        latest[entry.table_name, entry.interval_start[:10]] = entry
    out = []
    for (table, day), entry in sorted(latest.items()):
        st = entry.stats
        read = int(st.get("rows_read") or 0)
        rejected = int(st.get("rows_quarantined") or 0) + int(st.get("rows_conflict") or 0)
        share = rejected / read if read else 0.0
        limit = (limits or {}).get(table)
        out.append(
            {
                "table": table,
                "day": day,
                "rows_read": read,
                "rows_curated": int(st.get("rows_curated") or 0),
                "rows_quarantined": rejected,
                "quarantine_share": share,
                "max_bad_share": None if limit is None else limit["max_bad_share"],
                "over_limit": None
                if limit is None
                else share > limit["max_bad_share"] and rejected >= limit["min_bad_records"],
                "version": entry.version,
            }
        )
    return out


def quarantine_by_day(days: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`quarantine_per_day`'s rows pivoted: one row per day (newest first), a cell per
    table (None where the table had no run that day); the tables in order."""
    tables = sorted({d["table"] for d in days})
    cells: dict[str, dict[str, Any]] = defaultdict(dict)
    for d in days:
        cells[d["day"]][d["table"]] = d
    return {
        "tables": tables,
        "rows": [
            {"day": day, "tables": {t: cells[day].get(t) for t in tables}}
            for day in sorted(cells, reverse=True)
        ],
    }


def _covered_days(start: Any, end: Any) -> tuple[str | None, str | None]:
    """The first and last day a write's data interval covers: ``end`` is exclusive when it is a
    later midnight (``2026-10-03`` .. ``2026-10-31`` covers 10-03 to 10-30), inclusive when it
    is the start day or carries a time of day."""
    if not start:
        return None, None
    first, last = str(start)[:10], str(end or start)[:10]
    midnight = len(str(end)) == 10 or str(end)[11:19] in ("00:00:00", "")
    if last > first and midnight:
        last = (date.fromisoformat(last) - timedelta(days=1)).isoformat()
    return first, last


def dataset_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Per dataset of :func:`ml_tasks.status.current_status`, what its last write covered.

    ``rows``: what the store holds now where it reports it (a Delta table, a training set);
    ``rows_written``, ``first_day``..``last_day``: the last recorded write's rows and the
    days of its data interval (a feature view's last materialization, a training set's window);
    ``partitions``: the day partitions that write replaced (feature views).
    """
    out = []
    for name, t in status["tables"].items():
        first, last = _covered_days(t.get("interval_start"), t.get("interval_end"))
        partitions = (t.get("stats") or {}).get("partitions")
        out.append(
            {
                "name": name,
                "kind": t.get("kind"),
                "version": t.get("current_version"),
                "rows": t.get("total_rows"),
                "rows_written": t.get("row_count"),
                "first_day": first,
                "last_day": last,
                "partitions": len(partitions) if isinstance(partitions, list) else None,
                "written_at": t.get("written_at"),
            }
        )
    return out


def data_section(settings: Settings | None = None) -> dict[str, Any]:
    """Current dataset versions and the ELT's rows and quarantine share per day."""
    from ml_tasks.elt import manifest
    from ml_tasks.status import current_status

    s = settings or get_settings()
    limits = quarantine_limits(s.contracts_dir)
    days = quarantine_per_day(manifest.history(s.manifest_path), limits)
    return {
        "datasets": dataset_rows(current_status(s)),
        "days": days,
        "by_day": quarantine_by_day(days),
        "limits": limits,
    }


def search_section(settings: Settings | None = None) -> dict[str, Any]:
    """Live index version, kept versions, each version's gate verdict and reasons."""
    s = settings or get_settings()
    uri = s.search_index_uri
    if "://" not in uri and not Path(uri).exists():
        return {"live": None, "previous": None, "reason": "", "versions": []}
    from ml_tasks.search.index import LIVE, ManualIndex

    index = ManualIndex(s)
    alias = index.alias(LIVE)
    kept = set(index.kept_versions())
    versions = []
    for b in reversed(index.builds()):
        gate = b.gate or {}
        versions.append(
            {
                "version": b.version,
                "interval": b.interval,
                "rows": b.rows,
                "documents": b.documents,
                "kept": b.version in kept,
                "live": b.version == alias.version,
                "gate": None if b.gate is None else ("passed" if gate.get("passed") else "blocked"),
                "reasons": list(gate.get("reasons") or []),
                "quality": gate.get("quality") or {},
            }
        )
    return {
        "live": alias.version,
        "previous": alias.previous,
        "updated_at": alias.updated_at.isoformat() if alias.updated_at else None,
        "reason": alias.reason,
        "versions": versions,
    }


RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def run_artifact(
    run_id: str, artifact: str, settings: Settings | None = None, model_name: str = MODEL_NAME
) -> bytes | None:
    """One served artifact (:data:`SERVED_ARTIFACTS`) of a run behind a version of the model.

    None for anything else: another path (no traversal can name one), a malformed run id, a run
    no version of ``model_name`` was registered from, an artifact the run does not have.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    s = settings or get_settings()
    if artifact not in SERVED_ARTIFACTS or not RUN_ID.match(run_id):
        return None
    found = _registered(s, model_name)
    if found is None:
        return None
    c, _model = found
    if not c.search_model_versions(f"name = '{model_name}' and run_id = '{run_id}'"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=tmp
            )
        except (MlflowException, OSError):
            return None
        return Path(path).read_bytes()


def report_file(relative: str, settings: Settings | None = None) -> Path | None:
    """A monitoring report under ``settings.reports_dir``, or None (outside it, not a report)."""
    s = settings or get_settings()
    root = s.reports_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path.suffix not in SERVED_REPORT_SUFFIXES:
        return None
    return path if path.is_file() else None


def collect(
    settings: Settings | None = None, model_name: str = MODEL_NAME, drift_slice: str = FLEET
) -> dict[str, Any]:
    """Every section; a section that fails to read shows its error instead of hiding the rest.

    ``drift_slice``: the slice whose drift the monitoring section charts.
    """
    s = settings or get_settings()
    out: dict[str, Any] = {
        "model_name": model_name,
        "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    readers: dict[str, Callable[[], dict[str, Any]]] = {
        "models": lambda: models_section(s, model_name),
        "release": lambda: release_section(s, model_name, out.get("models")),
        "monitoring": lambda: monitoring_section(s, model_name, drift_slice),
        "data": lambda: data_section(s),
        "search": lambda: search_section(s),
    }
    for name in SECTIONS:
        try:
            out[name] = readers[name]()
        except Exception as err:  # one broken store must not blank the whole page
            log.exception("ML view: section %s failed", name)
            out[name] = {"error": f"{type(err).__name__}: {err}"}
    return out
