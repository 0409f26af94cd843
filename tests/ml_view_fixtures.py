"""A platform home whose stores hold what the Airflow ML view shows, written by the real code.

:func:`fill_view_stores` builds it under a folder without Airflow and without Ray: two tiny
registered versions (``tests.model_fixtures``), both evaluated by the real evaluation, v1
champion then v2 released through recorded live canary steps with the gates' verdicts recorded;
24 monitored days in the drift table (the fleet and plant P2, whose pressure alone drifts)
with an alarm on two of them and a report folder per day; the live performance of v1, then
v2, with an alarm on one day; ELT runs of two tables in the manifest with a quarantined
share, over the contract's limit on the alarm days; two search-index versions, one live and
one blocked by its gate. The integration test of the view and a person's screenshots
(``python -m tests.ml_view_fixtures <folder>``, then ``PLATFORM_HOME=<folder>/platform make
screenshots``) read the same home.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MODEL = "failure_model"
FIRST_DAY = date(2026, 10, 1)
DAYS = 24
ALARM_DAYS = (8, 9)  # offsets from FIRST_DAY with drift beyond the policy
LIVE_BAD_DAY = 10  # v2's live ROC-AUC falls beyond the policy
# Some of the policy's monitored columns with its thresholds (monitoring.yaml); the first two
# drift on the alarm days.
COLUMNS = {
    "temperature_c_mean_1h": 0.2,
    "vibration_mm_s_mean_1h": 0.35,
    "temperature_c_std_1h": 0.3,
    "vibration_mm_s_std_1h": 0.35,
    "pressure_bar_mean_1h": 0.2,
    "rotation_rpm_mean_1h": 0.2,
}
SLICE = "plant_id=P2"  # the plant slice the drift table has besides the fleet


def home_settings(root: Path) -> Any:
    """Settings of a platform home under ``root`` (the environment is left as it was)."""
    from unittest import mock

    from tests.release_fixtures import cheap_policy

    home = {
        "PLATFORM_HOME": str(root / "platform"),
        "PLATFORM_PROMOTION_POLICY": str(cheap_policy(root / "policy")),
    }
    with mock.patch.dict(os.environ, home):
        from ml_tasks.settings import get_settings

        return get_settings()


def _registry(settings: Any, root: Path) -> dict[str, str]:
    """v1 (no vibration features) champion, v2 released over it through canary steps."""
    from ml_platform_demo.synthetic_training import feature_names
    from ml_tasks.evaluation.pipeline import evaluate_version
    from ml_tasks.registry.aliases import ReleaseContext, move_alias, record_traffic
    from ml_tasks.registry.models import client, get_version, write_run_json
    from ml_tasks.release import gates
    from tests.model_fixtures import make_training_set, train_and_register

    ref = make_training_set(root / "training_set")
    no_vibration = [f for f in feature_names() if not f.startswith("vibration_mm_s")]
    v1 = train_and_register(ref, run_id="view-v1", settings=settings, features=no_vibration)
    c = client(settings)
    context = ReleaseContext.airflow("promote_model", "manual__2026-10-05")
    evaluate_version(v1["version"], settings=settings)
    move_alias(
        c,
        MODEL,
        "champion",
        v1["version"],
        reason="first champion: every gate passed",
        context=context,
        settings=settings,
    )
    v2 = train_and_register(ref, run_id="view-v2", settings=settings)
    evaluate_version(v2["version"], settings=settings)
    for gate in gates.GATES:
        gates.decide(gate, MODEL, v2["version"], settings=settings, record=True)
    context = ReleaseContext.airflow("promote_model", "manual__2026-10-10")
    move_alias(
        c,
        MODEL,
        "canary",
        v2["version"],
        reason="canary starts",
        context=context,
        settings=settings,
    )
    steps = []
    for percent, disagreement in ((10, 0.05), (50, 0.04), (100, 0.03)):
        # As the live walk records them: a step's numbers, measured when it ends, travel in
        # the next step's event (previous_step) and, for the last, in release/canary.json.
        details = {"mode": "live", **({"previous_step": steps[-1]} if steps else {})}
        step = {
            "percent": percent,
            "canary_answers": 120 * percent,
            "error_rate": 0.0,
            "canary_p99_ms": 4.2,
            "alert_disagreement": disagreement,
            "passed": True,
        }
        record_traffic(
            c,
            MODEL,
            v2["version"],
            percent,
            reason=f"canary step {percent} %",
            context=context,
            settings=settings,
            details=details,
        )
        steps.append(step)
    run_id = get_version(MODEL, v2["version"], mlflow_client=c).run_id
    write_run_json(
        c,
        run_id,
        {
            "stage": "canary",
            "mode": "live",
            "model_name": MODEL,
            "version": v2["version"],
            "champion_version": v1["version"],
            "steps": steps,
            "passed": True,
        },
        "release/canary.json",
    )
    move_alias(
        c,
        MODEL,
        "champion",
        v2["version"],
        reason="flip after canary 100 %",
        context=context,
        settings=settings,
    )
    move_alias(c, MODEL, "canary", None, reason="release done", context=context, settings=settings)
    return {"v1": v1["version"], "v2": v2["version"], "v2_run": run_id}


def _drift(settings: Any, champion: str) -> None:
    """The champion's monitored days; the alarm days drift on vibration and heat."""
    from ml_tasks.monitoring import store

    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        alarm = offset in ALARM_DAYS
        scores = {
            col: [round(0.03 + 0.01 * i + (bound + 0.15 if alarm and i < 2 else 0), 4),
                  "wasserstein", bound]
            for i, (col, bound) in enumerate(COLUMNS.items())
        }  # fmt: skip
        # Plant P2 alone drifts on pressure on the alarm days: the fleet's score stays low.
        plant = {
            col: [0.9 if alarm and col.startswith("pressure_bar") else 0.05, "wasserstein", bound]
            for col, bound in COLUMNS.items()
        }
        folder = settings.reports_dir / MODEL / f"v{champion}" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "all.html").write_text(f"<html><body>Evidently report {day}</body></html>")
        reasons = (
            [
                {
                    "kind": "feature_drift",
                    "message": f"fleet: 2 of {len(COLUMNS)} columns drifted "
                    "(temperature_c_mean_1h, vibration_mm_s_mean_1h), share 0.33 > 0.10",
                }
            ]
            if alarm
            else []
        )
        store.write_row(
            {
                "interval_start": day.isoformat(),
                "interval_end": (day + timedelta(days=1)).isoformat(),
                "model_name": MODEL,
                "model_version": champion,
                "alias": "champion",
                "reference_kind": "training_set",
                "reference_id": "ts-1",
                "breached": alarm,
                "feature_drift": alarm,
                "prediction_drift": False,
                "prediction_available": True,
                "data_quality": False,
                "retrain": alarm,
                "share_drifted": 0.5 if alarm else 0.0,
                "max_slice_share": 0.5 if alarm else 0.0,
                "drifted_slices": ["all", SLICE] if alarm else [],
                "drifted_columns": {SLICE: ["pressure_bar_mean_1h"]} if alarm else {},
                "column_scores": {"all": scores, SLICE: plant},
                "prediction": {},
                "quality": {},
                "reasons": reasons,
                "current_rows": 960,
                "compared_rows": 960,
                "reference_rows": 5000,
                "report_dir": str(folder),
                "mlflow_run_id": "",
                "policy_version": 1,
                "run_id": f"scheduled__{day}",
                "written_at": f"{day}T06:00:00",
            },
            settings,
        )


def _live_performance(settings: Any, versions: dict[str, str]) -> None:
    """v1 as champion for five days, then v2 (canary, then champion); v2 falls on LIVE_BAD_DAY,
    and one day has too few positives for a ranking metric."""
    from ml_tasks.monitoring import live_performance

    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        served = [("v1", "champion")] if offset < 5 else [("v2", "champion")]
        if offset in (3, 4):
            served.append(("v2", "canary"))
        rows = []
        for version, alias in served:
            bad = version == "v2" and offset == LIVE_BAD_DAY
            few = offset == 6
            folder = live_performance.report_dir(day, settings)
            folder.mkdir(parents=True, exist_ok=True)
            report = folder / f"{version}_{alias}.html"
            report.write_text(f"<html><body>classification report {day}</body></html>")
            rows.append({
                "day": day.isoformat(), "model_name": MODEL, "model_version": versions[version],
                "alias": alias, "slice": "all", "plant_id": "all",
                "status": "insufficient" if few else "computed", "answers": 900, "rows": 480,
                "positives": 3 if few else 24, "roc_auc": None if few else (0.61 if bad else 0.9),
                "pr_auc": None if few else (0.2 if bad else 0.55), "recall_at_alert": 0.5,
                "precision_at_alert": 0.4, "brier": 0.05, "offline_roc_auc": 0.93,
                "in_alarm": bad, "reasons": ["roc_auc 0.61 fell 0.32 below the offline 0.93"
                                             " (max_drop 0.1)"] if bad else [],
                "report_path": str(report), "policy_version": 1, "run_id": f"scheduled__{day}",
                "written_at": f"{day}T07:00:00",
            })  # fmt: skip
        live_performance.write_day(day, MODEL, rows, settings)


def _manifest(settings: Any) -> None:
    """ELT runs of telemetry per day, 2 % quarantined, 11 % (over its contract's 10 %) on the
    alarm days; work orders every other day, nothing quarantined."""
    from ml_tasks.elt import manifest

    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        runs = [("telemetry", 960, 106 if offset in ALARM_DAYS else 19)]
        if offset % 2 == 0:
            runs.append(("work_orders_history", 40, 0))
        for table, read, bad in runs:
            stats = {
                "rows_read": read,
                "rows_curated": read - bad,
                "rows_quarantined": bad,
                "rows_duplicate": 0,
                "rows_conflict": 0,
            }
            manifest.record(
                settings.manifest_path,
                manifest.DatasetVersion(
                    table,
                    offset + 1,
                    day.isoformat(),
                    (day + timedelta(days=1)).isoformat(),
                    read - bad,
                    stats,
                    f"scheduled__{day}",
                ),
            )


def _search_index(settings: Any) -> None:
    """v1 live (gate passed), v2 blocked by its golden recall."""
    import pyarrow as pa

    from ml_tasks.search.index import CHUNK_SCHEMA, ManualIndex

    index = ManualIndex(settings)
    empty = pa.Table.from_pylist([], schema=CHUNK_SCHEMA)
    for version, passed in ((1, True), (2, False)):
        build = {
            "interval": f"2026-10-0{version}",
            "run_id": f"r{version}",
            "fingerprint": "f",
            "model_id": "all-MiniLM-L6-v2",
            "documents": 12,
            "embedded": 40,
            "reused": 0,
        }
        index.write_version(version, empty, build)
        reasons = [] if passed else ["golden recall@5 0.62 < 0.80 (policy min_recall_at_k)"]
        index.record_gate(
            version,
            {"green": version, "blue": version - 1 or None, "passed": passed, "reasons": reasons},
        )
        if passed:
            index.set_alias(version, reason="gate passed")


def fill_view_stores(root: Path) -> Any:
    """Fill every store the view reads under ``root``; returns the home's settings."""
    settings = home_settings(root)
    versions = _registry(settings, root)
    _drift(settings, versions["v2"])
    _live_performance(settings, {"v1": versions["v1"], "v2": versions["v2"]})
    _manifest(settings)
    _search_index(settings)
    return dataclasses.replace(settings)


if __name__ == "__main__":
    fill_view_stores(Path(sys.argv[1]).resolve())
    print(f"PLATFORM_HOME={Path(sys.argv[1]).resolve() / 'platform'}")
