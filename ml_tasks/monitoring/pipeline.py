"""One daily monitoring run: frames -> quality and drift -> reports, MLflow, drift table.

:func:`run_monitoring` is what the ``monitor_drift`` DAG's task and ``python -m ml_tasks drift``
call. For one interval (a UTC day) and one model it

1. finds the champion (``<model>@champion``) and builds the **reference**: a seeded sample of the
   champion's training set with its predictions; before any champion exists, the features of a
   fixed window of days (the first ``window_days`` days of data, minus the day monitored);
2. reads the interval's **current** machine-hours from the offline feature store, scored by the
   champion when there is one;
3. checks **data quality** on every row (:mod:`ml_tasks.monitoring.quality`);
4. checks **drift** (:mod:`ml_tasks.monitoring.drift`) for the fleet and each plant on at most
   ``current.sample_rows`` rows per slice: a screen for every plant, the full report for the
   fleet and for every plant the screen or the quality check flagged;
5. decides the **breach** (dataset drift in any slice, prediction drift, a quality finding) and
   whether it requests retraining (``alarm.retrain_on``);
6. writes the reports, logs them to MLflow, and replaces the interval's row in the drift table
   (the last step: the status the promotion gate reads changes only once everything is written).

Everything is keyed by the interval: a rerun or backfill reproduces the same samples (seeded by
the day) and replaces the same files, MLflow run and row.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from ml_tasks.monitoring import frames, reports, store
from ml_tasks.monitoring.champion import (
    CHAMPION_ALIAS,
    Champion,
    ChampionSource,
    MlflowChampionSource,
)
from ml_tasks.monitoring.drift import (
    FLEET,
    SliceDrift,
    can_screen,
    compare_slice,
    screen_slice,
    slice_name,
)
from ml_tasks.monitoring.policy import MonitoringPolicy, load_policy
from ml_tasks.monitoring.quality import QualityResult, check_quality, quality_columns
from ml_tasks.monitoring.results import DayVerdict, MonitoringDay
from ml_tasks.monitoring.store import NO_CHAMPION
from ml_tasks.observability import platform_metrics
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)


def monitored_columns(policy: MonitoringPolicy) -> list[str]:
    """Feature columns read for drift and quality (the champion's inputs come on top)."""
    columns = [
        *policy.drift.columns,
        *quality_columns(policy),
        *policy.quality.categorical_columns,
        *([policy.slice_column] if policy.slice_column else []),
    ]
    return list(dict.fromkeys(columns))


def window_reference(
    day: date, policy: MonitoringPolicy, columns: list[str], settings: Settings
) -> tuple[Any, str, list[date]]:
    """The fixed-window reference: a seeded sample spread evenly over the window's days."""
    import pandas as pd

    days = frames.reference_window(
        day, policy.reference.window_days, policy.reference.start, settings
    )
    if not days:
        return pd.DataFrame(columns=columns), "window:empty", []
    per_day = math.ceil(policy.reference.sample_rows / len(days))
    # One day at a time, sampled as it is read: memory stays bounded by a day, not the window.
    parts = [
        frames.read_day(d, columns, settings, sample_rows=per_day, seed=frames.day_seed(d))
        for d in days
    ]
    reference = pd.concat(parts, ignore_index=True)
    window_id = f"window:{days[0]}..{days[-1]}"
    if days[0] <= day <= days[-1]:
        window_id += f" without {day}"
    return reference, window_id, days


def _slices(current: Any, reference: Any, policy: MonitoringPolicy) -> list[tuple]:
    column = policy.slice_column
    parts = [(FLEET, current, reference)]
    if column and column in current.columns:
        for value, part in current.groupby(column, sort=True, dropna=True):
            ref = reference[reference[column] == value] if column in reference.columns else None
            parts.append((slice_name(column, value), part, ref if ref is not None else reference))
    return parts


def _reasons(
    slices: list[SliceDrift],
    quality: QualityResult,
    prediction_available: bool,
    prediction_alarm_on: str = "fleet",
) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = []
    for item in slices:
        if item.dataset_drift:
            detail = (
                ", ".join(
                    f"{c.column} ({c.method} {c.score:.2f} >= {c.threshold:g})"
                    for c in item.columns
                    if c.drifted
                )
                or f"{item.drifted_count} columns"
            )
            reasons.append(
                {
                    "kind": "feature_drift",
                    "slice": item.name,
                    "columns": item.drifted_columns,
                    "share": round(item.share, 4),
                    "message": f"feature drift in {item.name}: {item.share:.0%} of columns "
                    f"drifted: {detail}",
                }
            )
        # Per-plant failure scores are too heavy-tailed to alarm on (policy comment): their
        # prediction drift is reported in the slice's JSON, the fleet's decides.
        alarms_here = prediction_alarm_on == "every_slice" or item.name == FLEET
        if (
            prediction_available
            and alarms_here
            and item.prediction is not None
            and item.prediction.drifted
        ):
            p = item.prediction
            reasons.append(
                {
                    "kind": "prediction_drift",
                    "slice": item.name,
                    "columns": [p.column],
                    "message": f"prediction drift in {item.name}: {p.method} {p.score:.2f} >= "
                    f"{p.threshold:g}",
                }
            )
    for finding in quality.findings:
        if finding["alarm"]:
            reasons.append(
                {
                    "kind": "data_quality",
                    "slice": finding["slice"],
                    "check": finding["check"],
                    "columns": [finding.get("sensor") or finding.get("column") or ""],
                    "message": f"data quality: {finding['message']}",
                }
            )
    return reasons


def _summary_columns(policy: MonitoringPolicy) -> list[str]:
    # Evidently's data summary of what the quality checks look at (their exact figures, on
    # every row, are in summary.json): reading counts, sensor levels, categories.
    return [
        "reading_count_1h",
        *(f"{sensor}_mean_1h" for sensor in policy.quality.sensors),
        *policy.quality.categorical_columns,
    ]


def compare_slices(
    day: date,
    current: Any,
    reference: Any,
    policy: MonitoringPolicy,
    *,
    with_prediction: bool,
    flagged: set[str],
    sample_rows: int,
    evidently_screen: bool = False,
) -> tuple[dict[str, SliceDrift], dict[str, tuple[Any, bool]], int]:
    """Drift of the fleet and every slice; ``flagged`` slices (quality findings) get the full
    report. Returns the results, the snapshots to write (with or without HTML) and the number
    of fleet rows compared.

    Screens are computed by :func:`~ml_tasks.monitoring.drift.screen_slice` (same scores as
    Evidently's, a fraction of the time) unless ``evidently_screen`` or the policy's methods
    need Evidently; the full reports are always Evidently's."""
    html = policy.reports.html
    own_screen = not evidently_screen and can_screen(policy)
    args: dict[str, Any] = {
        "current_day_type": frames.day_type(day),
        "with_prediction": with_prediction,
        "timestamp": datetime.combine(day, dtime.min),
    }
    results: dict[str, SliceDrift] = {}
    snapshots: dict[str, tuple[Any, bool]] = {}
    compared = 0
    for name, cur_part, ref_part in _slices(current, reference, policy):
        cur = frames.sample(cur_part, sample_rows, frames.day_seed(day))
        compared = len(cur) if name == FLEET else compared
        # The fleet's full report (with the data summary) is what engineers open first; with
        # html "none" nothing is rendered that a finding does not need.
        full = html == "all" or (name == FLEET and html == "findings")
        summary = _summary_columns(policy) if full and name == FLEET else None
        if full or not own_screen:
            result, snapshot = compare_slice(
                name, cur, ref_part, policy, detail=full, summary_columns=summary, **args
            )
        else:
            result, snapshot = screen_slice(
                name,
                cur,
                ref_part,
                policy,
                current_day_type=args["current_day_type"],
                with_prediction=with_prediction,
            )
        prediction_drift = result.prediction is not None and result.prediction.drifted
        if (
            not full
            and result.evaluated
            and (result.drifted_count > 0 or prediction_drift or name in flagged)
        ):
            result, snapshot = compare_slice(name, cur, ref_part, policy, detail=True, **args)
        results[name] = result
        if snapshot is not None:
            snapshots[name] = (snapshot, html != "none" and result.detail)
    return results, snapshots, compared


def _sampled_window(frame: Any) -> list[str]:
    """First and last day of the sampled reference rows (named in the report headings)."""
    import pandas as pd

    from ml_tasks.monitoring.champion import TRAINING_SET_TIMESTAMP

    if not len(frame) or TRAINING_SET_TIMESTAMP not in frame:
        return []
    stamps = pd.to_datetime(frame[TRAINING_SET_TIMESTAMP], utc=True)
    return [stamps.min().date().isoformat(), stamps.max().date().isoformat()]


def _reference(
    day: date, champion: Champion | None, policy: MonitoringPolicy, settings: Settings
) -> tuple[Any, dict[str, Any]]:
    """The reference frame and what it is (kind, id, days, model version)."""
    columns = monitored_columns(policy)
    if champion is not None:
        from ml_tasks.monitoring.champion import reference_sample

        frame, reference_id = reference_sample(champion, columns, policy, settings)
        return frame, {
            "kind": "champion_training_set",
            "id": reference_id,
            "days": [],
            "window": _sampled_window(frame),
            "rows": len(frame),
            "model_version": champion.version,
        }
    frame, reference_id, days = window_reference(day, policy, columns, settings)
    return frame, {
        "kind": "fixed_window",
        "id": reference_id,
        "days": [d.isoformat() for d in days],
        "rows": len(frame),
        "model_version": NO_CHAMPION,
    }


def _table_row(summary: dict[str, Any], slices: list[SliceDrift]) -> dict[str, Any]:
    """The drift-table row of a summary."""
    evaluated = [r for r in slices if r.evaluated]
    fleet = next((r for r in evaluated if r.name == FLEET), None)
    kinds = summary["kinds"]
    return {
        "interval_start": summary["interval"],
        "interval_end": summary["interval_end"],
        "model_name": summary["model_name"],
        "model_version": summary["model_version"],
        "alias": summary["alias"],
        "reference_kind": summary["reference"]["kind"],
        "reference_id": summary["reference"]["id"],
        "breached": summary["breached"],
        "feature_drift": "feature_drift" in kinds,
        "prediction_drift": "prediction_drift" in kinds,
        "prediction_available": summary["prediction_available"],
        "data_quality": "data_quality" in kinds,
        "retrain": summary["retrain"],
        "share_drifted": fleet.share if fleet else None,
        "max_slice_share": max((r.share for r in evaluated), default=None),
        "drifted_slices": [r.name for r in slices if r.dataset_drift],
        "drifted_columns": {r.name: r.drifted_columns for r in slices if r.drifted_columns},
        "column_scores": {
            r.name: {c.column: [round(c.score, 6), c.method, c.threshold] for c in r.columns}
            for r in evaluated
            if r.columns
        },
        "prediction": summary["prediction"],
        "quality": summary["quality"],
        "reasons": summary["reasons"],
        "current_rows": summary["rows"]["current"],
        "compared_rows": summary["rows"]["compared"],
        "reference_rows": summary["rows"]["reference"],
        "report_dir": summary["report_dir"],
        "mlflow_run_id": summary.get("mlflow_run_id"),
        "policy_version": summary["policy"]["version"],
        "run_id": summary["run_id"],
        "written_at": datetime.now(UTC).isoformat(),
    }


class Monitor:
    """Daily monitoring runs that share their fixed costs: one champion look-up (the model
    loaded once), one reference per window (read and sampled once), one MLflow client and
    experiment. Each :meth:`run` still writes its own interval's records: reports, MLflow run,
    drift-table row, verdict log.

    The ``monitor_drift`` DAG makes one per task (one day); a range (``make run``'s demo step,
    ``python -m ml_tasks drift --date .. --end ..``) reuses one over its days.
    """

    def __init__(
        self,
        *,
        model_name: str | None = None,
        settings: Settings | None = None,
        policy: MonitoringPolicy | None = None,
        champion_source: ChampionSource | None = None,
        alias: str = CHAMPION_ALIAS,
        current_sample_rows: int | None = None,
        log_mlflow: bool = True,
        evidently_screen: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.policy = policy or load_policy(settings=self.settings)
        self.model_name = model_name or self.policy.model_name
        self.alias = alias
        self.current_sample_rows = current_sample_rows
        self.evidently_screen = evidently_screen
        self._source = champion_source or MlflowChampionSource(self.settings, alias)
        self._champion: tuple[Champion | None] | None = None
        self._references: dict[Any, tuple[Any, dict[str, Any]]] = {}
        self._mlflow = reports.MlflowLogger(self.settings) if log_mlflow else None

    def champion(self) -> Champion | None:
        """The watched model version, looked up (and loaded) once."""
        if self._champion is None:
            champion = self._source.champion(self.model_name)
            if champion is None and self.alias != CHAMPION_ALIAS:
                raise LookupError(
                    f"no {self.model_name}@{self.alias} in the model registry: nothing to "
                    "compare with"
                )
            self._champion = (champion,)
        return self._champion[0]

    def reference(self, day: date, champion: Champion | None) -> tuple[Any, dict[str, Any]]:
        """The day's reference frame and what it is; built once per distinct reference (the
        champion's sample, or a window's days without the judged one). Callers only read it."""
        p, s = self.policy, self.settings
        if champion is not None:
            key: Any = ("champion", champion.version)
        else:
            window = frames.reference_window(day, p.reference.window_days, p.reference.start, s)
            key = ("window", tuple(window))
        if key not in self._references:
            frame, info = _reference(day, champion, p, s)
            self._references[key] = (frame, info)
        frame, info = self._references[key]
        return frame, dict(info)

    def run(self, day: date, *, run_id: str | None = None) -> MonitoringDay:
        """Monitor one interval; returns its compact result (what XCom and the CLI carry)."""
        s, p, name, alias = self.settings, self.policy, self.model_name, self.alias
        timings: dict[str, float] = {}
        began = time.perf_counter()

        def lap(label: str, since: float) -> float:
            now = time.perf_counter()
            timings[label] = round(now - since, 3)
            return now

        champion = self.champion()
        t = lap("champion", began)
        reference, ref_info = self.reference(day, champion)
        version = ref_info.pop("model_version")
        t = lap("reference", t)
        current = frames.read_day(day, None if champion else monitored_columns(p), s)
        if champion is not None:
            current[p.prediction.column] = champion.score(current)
        t = lap("current", t)
        quality = check_quality(current, reference if len(reference) else None, p)
        t = lap("quality", t)
        results, snapshots, compared = compare_slices(
            day,
            current,
            reference,
            p,
            with_prediction=champion is not None,
            flagged={f["slice"] for f in quality.findings if f["alarm"]},
            sample_rows=self.current_sample_rows or p.current.sample_rows,
            evidently_screen=self.evidently_screen,
        )
        t = lap("drift", t)

        slices = list(results.values())
        reasons = _reasons(slices, quality, champion is not None, p.prediction.alarm_on)
        kinds = sorted({r["kind"] for r in reasons})
        folder = reports.report_dir(day, name, version, s)
        summary: dict[str, Any] = {
            "interval": day.isoformat(),
            "interval_end": (day + timedelta(days=1)).isoformat(),
            "model_name": name,
            "model_version": version,
            "breached": bool(reasons),
            "alias": alias if champion is not None else NO_CHAMPION,
            # Only the serving model's drift asks for retraining, not a candidate check.
            "retrain": alias == CHAMPION_ALIAS
            and any(kind in p.alarm.retrain_on for kind in kinds),
            "kinds": kinds,
            "reasons": reasons,
            "reference": ref_info,
            "rows": {"current": len(current), "compared": compared, "reference": len(reference)},
            "drift_evaluated": any(r.evaluated for r in slices),
            "prediction_available": champion is not None,
            "prediction": (
                {r.name: asdict(r.prediction) for r in slices if r.prediction is not None}
                if champion is not None
                else "not available: no champion model yet"
            ),
            "slices": [r.to_dict() for r in slices],
            "quality": quality.to_dict(),
            "policy": p.to_dict(),
            "run_id": run_id,
            "report_dir": str(folder),
        }
        files = reports.write_reports(folder, snapshots, summary)
        t = lap("reports", t)
        summary["mlflow_run_id"] = self._mlflow.log(summary, folder) if self._mlflow else None
        t = lap("mlflow", t)
        # Last: the status the promotion gate reads changes only once everything is written.
        store.write_row(_table_row(summary, slices), s)
        lap("store", t)
        timings["total"] = round(time.perf_counter() - began, 3)
        result = MonitoringDay(
            interval=summary["interval"],
            model_name=name,
            model_version=version,
            alias=summary["alias"],
            reference_kind=ref_info["kind"],
            reference_id=ref_info["id"],
            breached=summary["breached"],
            retrain=summary["retrain"],
            kinds=kinds,
            reasons=[r["message"] for r in reasons],
            drifted_columns={r.name: r.drifted_columns for r in slices if r.drifted_columns},
            share_drifted=results[FLEET].share if results[FLEET].evaluated else None,
            prediction_available=champion is not None,
            rows=summary["rows"],
            report_dir=str(folder),
            html_reports=files["html"],
            mlflow_run_id=summary["mlflow_run_id"],
            timings=timings,
        )
        platform_metrics.push_drift(result, slices, s)
        return replace(result, verdict=_log_verdict(result, p))


def run_monitoring(
    day: date,
    *,
    model_name: str | None = None,
    settings: Settings | None = None,
    policy: MonitoringPolicy | None = None,
    champion_source: ChampionSource | None = None,
    alias: str = CHAMPION_ALIAS,
    current_sample_rows: int | None = None,
    log_mlflow: bool = True,
    run_id: str | None = None,
    evidently_screen: bool = False,
) -> MonitoringDay:
    """Monitor one interval; returns its compact result (what XCom and the CLI carry).

    ``alias`` picks the registry version whose training set is the reference: the champion
    (daily monitoring; falls back to the fixed window while there is none) or e.g. the
    challenger (a candidate check: it must exist, and it never requests retraining).
    ``evidently_screen`` screens the slices with Evidently's ``DriftedColumnsCount`` instead of
    the built-in screen (the same verdicts; kept for the equality test and the benchmark).
    """
    monitor = Monitor(
        model_name=model_name,
        settings=settings,
        policy=policy,
        champion_source=champion_source,
        alias=alias,
        current_sample_rows=current_sample_rows,
        log_mlflow=log_mlflow,
        evidently_screen=evidently_screen,
    )
    return monitor.run(day, run_id=run_id)


def run_monitoring_range(
    days: Iterable[date],
    *,
    run_id: Callable[[date], str | None] | None = None,
    **options: Any,
) -> Iterator[MonitoringDay]:
    """Monitor several intervals in one process, sharing the fixed costs (:class:`Monitor`);
    yields each day's result as soon as its records are written. ``run_id`` names each day's
    run; ``options`` are :func:`run_monitoring`'s."""
    monitor = Monitor(**options)
    for day in days:
        yield monitor.run(day, run_id=run_id(day) if run_id else None)


def _log_verdict(result: MonitoringDay, policy: MonitoringPolicy) -> DayVerdict:
    """The day's decision in the task log (a breach and its reasons at WARNING, else INFO);
    returned too, for the task note."""
    from ml_tasks.monitoring.status import day_verdict

    headline, lines = day_verdict(result, policy.drift.drift_share)
    emit = log.warning if result.breached else log.info
    emit("%s", headline)
    for line in lines:
        emit("  %s", line)
    return DayVerdict(headline, lines)


def format_result(result: MonitoringDay) -> str:
    """One interval's result for the console."""
    state = "ALARM" if result.breached else "ok"
    lines = [
        f"{result.interval}  {result.model_name} ({result.reference_kind}, version "
        f"{result.model_version})  {state}  {result.timings['total']:.1f} s"
    ]
    lines += [f"    - {reason}" for reason in result.reasons]
    if not result.prediction_available:
        lines.append("    prediction drift: not available (no champion model yet)")
    lines.append(f"    reports: {result.report_dir}")
    return "\n".join(lines)
