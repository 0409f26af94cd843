"""Calibrating the live-performance thresholds on the demo's out-of-sample days.

The policy's drop rule (``include/policies/monitoring.yaml``, ``live_performance``) alarms when
the champion's live ROC-AUC of a day falls more than ``max_roc_auc_drop`` below its offline
evaluation or under ``min_roc_auc``. This script measures what the demo's real served scores
give, so the numbers can be set with margins rather than guessed:

1. **replay** (``--skip-replay`` leaves it out): the days ``--first``..``--last`` are served
   again hour by hour through a second gateway on an online store of its own, one request per
   machine per hour, with the demo step's code (:mod:`ml_platform_demo.replay`);
2. **measure**: :func:`ml_tasks.monitoring.live_performance.evaluate_day` for each day (no
   MLflow metrics, no HTML), then every champion row of the table: fleet and per plant, rows,
   positives, ROC-AUC, PR-AUC, recall and precision at the served alert, Brier, ECE, the drop
   against the offline evaluation and the verdict under the policy in use;
3. **spread**: min / median / max per metric for the clean days (before ``--drift-start``) and
   the drift days, for the fleet, plant P2 (the drifting one) and every plant-day;
4. **made bad**: real served days (``--degrade-day``, repeatable; default the first and last day
   of the range) degraded in realistic ways and judged by :func:`compute_rows` with the policy's
   numbers, every slice watched, to show which rule fires where.

Work on a copy of a ``make run`` home: the replay appends to its prediction log and the
measurement rewrites the days' rows of its ``live_performance`` table.

    cp -a <repo>/.platform /tmp/calib-home
    .venv/bin/python bench/live_performance_calibration.py --home /tmp/calib-home \
        --first 2026-10-17 --last 2026-10-29 [--drift-start 2026-10-24] [--skip-replay]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "failure_model"
DRIFTING_PLANT = "P2"


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def replay_days(settings: Any, days: Sequence[date]) -> None:
    """Serve ``days`` again through a second gateway (the demo step's replay)."""
    from ml_platform_demo import replay

    done = replay.serve_days(settings, days, log_name="gateway_calibration.log")
    print(
        f"replayed {days[0]}..{days[-1]}: {done['hours']} hours x {done['machines']} machines, "
        f"answers {done['answers']}, {done['feature_rows_written']} feature rows written "
        f"({done['seconds']:.0f} s)"
    )


def fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEAD = (
    f"{'day':<12}{'slice':<12}{'rows':>6}{'pos':>5}{'ROC-AUC':>9}{'drop':>7}{'PR-AUC':>8}"
    f"{'recall':>8}{'prec':>7}{'Brier':>8}{'ECE':>8}  verdict"
)


def row_line(row: dict[str, Any]) -> str:
    drop = None
    if row["roc_auc"] is not None and row["offline_roc_auc"] is not None:
        drop = row["offline_roc_auc"] - row["roc_auc"]
    verdict = "ALARM" if row["in_alarm"] else ("holds" if row["roc_auc"] is not None else "n/a")
    if row["reasons"]:
        verdict += ": " + "; ".join(r.split(": ", 1)[-1] for r in row["reasons"])
    return (
        f"{row['day']:<12}{row['slice'].replace('plant_id=', ''):<12}{row['rows']:>6}"
        f"{row['positives']:>5}{fmt(row['roc_auc']):>9}{fmt(drop):>7}{fmt(row['pr_auc']):>8}"
        f"{fmt(row['recall_at_alert'], 2):>8}{fmt(row['precision_at_alert'], 2):>7}"
        f"{fmt(row['brier'], 4):>8}{fmt(row['ece'], 4):>8}  {verdict}"
    )


def measure(settings: Any, days: Sequence[date]) -> list[dict[str, Any]]:
    """Evaluate each day; return the champion's rows of those days (every slice)."""
    from ml_tasks.monitoring import live_performance as lp

    for day in days:
        summary = lp.evaluate_day(
            day,
            model_name=MODEL,
            settings=settings,
            run_id="calibration",
            log_mlflow=False,
            write_reports=False,
        )
        if summary["status"] != "computed":
            print(f"{day}: {summary['status']}: {summary.get('note', '')}")
    wanted = {d.isoformat() for d in days}
    return [
        r for r in lp.read_rows(MODEL, settings) if r["day"] in wanted and r["alias"] == "champion"
    ]


SPREAD = ("positives", "roc_auc", "pr_auc", "recall_at_alert", "precision_at_alert", "brier", "ece")


def spread(rows: Sequence[dict[str, Any]], title: str) -> list[str]:
    """min / median / max per metric over ``rows`` (metrics not computed are left out)."""
    lines = [f"{title} ({len(rows)} slice-days)"]
    for key in SPREAD:
        values = [r[key] for r in rows if r[key] is not None]
        if not values:
            lines.append(f"  {key:<20} -")
            continue
        digits = 0 if key == "positives" else 4 if key in ("brier", "ece") else 3
        lines.append(
            f"  {key:<20} min {fmt(min(values), digits):>7}  median "
            f"{fmt(statistics.median(values), digits):>7}  max {fmt(max(values), digits):>7}"
            + (f"  ({len(rows) - len(values)} not computed)" if len(values) < len(rows) else "")
        )
    return lines


def labelled_day(settings: Any, day: date) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The champion's labelled answers of ``day`` and the offline metrics of its versions."""
    from ml_tasks.monitoring import live_labels
    from ml_tasks.monitoring.live_performance import offline_metrics
    from ml_tasks.monitoring.policy import load_policy
    from ml_tasks.registry.models import client

    live = load_policy(settings=settings).live_performance
    horizon = timedelta(hours=live.horizon_hours)
    known_until = live_labels.labels_known_until(settings)
    answers, _ = live_labels.served_answers(live_labels.read_day_answers(settings, day), day)
    answers = answers[answers["alias"] == "champion"]
    machines, work_orders = live_labels.read_curated(settings)
    labelled, _ = live_labels.attach_labels(
        answers, machines, work_orders, day, horizon=horizon, known_until=known_until
    )
    c = client(settings)
    offline = {str(v): offline_metrics(c, MODEL, str(v)) for v in set(labelled["model_version"])}
    return labelled.reset_index(drop=True), offline


def frozen_features(frame: Any, rng: np.random.Generator) -> Any:
    """Materialization stopped at the day's first hour: every hour served that hour's score."""
    first = frame.sort_values("feature_hour").drop_duplicates("machine_id")
    stuck = first.set_index("machine_id")[["score", "alert"]]
    return frame.assign(
        score=frame["machine_id"].map(stuck["score"]).to_numpy(),
        alert=frame["machine_id"].map(stuck["alert"]).to_numpy(),
    )


def _permuted(frame: Any, where: np.ndarray, rng: np.random.Generator) -> None:
    """Scores and alerts of the rows at positions ``where`` permuted among them, in place."""
    order = rng.permutation(where)
    for column in ("score", "alert"):
        values = frame[column].to_numpy().copy()
        values[where] = values[order]
        frame[column] = values


def plant_shuffled(frame: Any, rng: np.random.Generator) -> Any:
    """P2's machine ids mixed up for the day: its scores (and alerts) land on other P2 rows."""
    out = frame.copy()
    _permuted(out, np.flatnonzero(out["plant_id"].to_numpy() == DRIFTING_PLANT), rng)
    return out


def hour_shuffled(frame: Any, rng: np.random.Generator) -> Any:
    """Every plant's machine ids mixed up: within each hour, scores go to the wrong machines."""
    out = frame.copy()
    for _, index in out.groupby("feature_hour").groups.items():
        _permuted(out, np.asarray(out.index.get_indexer(index)), rng)
    return out


def constant(frame: Any, rng: np.random.Generator) -> Any:
    """A fallback that serves the fleet's prior (the day's mean score) and never alerts."""
    return frame.assign(score=float(frame["score"].mean()), alert=False)


DEGRADATIONS: dict[str, Callable[[Any, np.random.Generator], Any]] = {
    "as served": lambda frame, rng: frame,
    "features frozen at 00:00": frozen_features,
    f"{DRIFTING_PLANT} ids shuffled": plant_shuffled,
    "all ids shuffled per hour": hour_shuffled,
    "constant score": constant,
}


def made_bad(settings: Any, day: date, seed: int) -> list[str]:
    """Each degradation of ``day``: fleet and plant rows, every slice watched."""
    from ml_tasks.monitoring.live_performance import compute_rows
    from ml_tasks.monitoring.policy import load_policy

    live = load_policy(settings=settings).live_performance
    watch_all = dataclasses.replace(live, alarm_on="every_slice")
    labelled, offline = labelled_day(settings, day)
    lines = [f"made bad: {day} (policy alarm_on {live.alarm_on}; every slice judged here)", HEAD]
    for name, degrade in DEGRADATIONS.items():
        frame = degrade(labelled, np.random.default_rng(seed))
        rows = compute_rows(frame, day=day, model_name=MODEL, live=watch_all, offline=offline)
        fleet_fires = any(r["in_alarm"] for r in rows if r["slice"] == "all")
        lines.append(f"-- {name}: fleet alarm {'FIRES' if fleet_fires else 'no'}")
        lines.extend(row_line(r) for r in rows)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a copy of a make run home")
    parser.add_argument("--first", type=date.fromisoformat, default=date(2026, 10, 17))
    parser.add_argument("--last", type=date.fromisoformat, default=date(2026, 10, 29))
    parser.add_argument("--drift-start", type=date.fromisoformat, default=date(2026, 10, 24))
    parser.add_argument("--degrade-day", type=date.fromisoformat, action="append")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-replay", action="store_true", help="the log already holds them")
    args = parser.parse_args(argv)
    os.environ["PLATFORM_HOME"] = str(args.home.resolve())

    from ml_tasks.monitoring.policy import load_policy
    from ml_tasks.settings import get_settings

    settings = get_settings()
    live = load_policy(settings=settings).live_performance
    days = days_between(args.first, args.last)
    print(
        f"home {settings.platform_home}; policy: max_roc_auc_drop {live.max_roc_auc_drop}, "
        f"min_roc_auc {live.min_roc_auc}, min_rows {live.min_rows}, min_positives "
        f"{live.min_positives}, alarm_on {live.alarm_on}"
    )
    if not args.skip_replay:
        replay_days(settings, days)
    t0 = time.perf_counter()
    rows = measure(settings, days)
    print(f"measured {len(days)} days ({time.perf_counter() - t0:.0f} s)\n")
    print(HEAD)
    print("-" * len(HEAD))
    for row in rows:
        print(row_line(row))
    clean = [r for r in rows if date.fromisoformat(r["day"]) < args.drift_start]
    drift = [r for r in rows if date.fromisoformat(r["day"]) >= args.drift_start]
    p2 = f"plant_id={DRIFTING_PLANT}"
    print()
    for label, part in (("clean days", clean), ("drift days", drift)):
        print("\n".join(spread([r for r in part if r["slice"] == "all"], f"{label}, fleet")))
        print("\n".join(spread([r for r in part if r["slice"] == p2], f"{label}, {p2}")))
        plants = [r for r in part if r["slice"] != "all"]
        print("\n".join(spread(plants, f"{label}, every plant")))
    for day in args.degrade_day or [args.first, args.last]:
        print()
        print("\n".join(made_bad(settings, day, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
