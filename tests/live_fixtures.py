"""A platform home for live-performance tests: curated machines and work orders, a champion and
its prediction log, written by the real code (Delta writers, the manifest, PredictionLogWriter).

Two days of served answers about 40 machines (4 plants), every machine-hour asked twice (the
repeats the job deduplicates). Failures: machines 0-4 fail on ``DAY_2`` at 12:00 and machines
5-9 on ``DAY_3`` at 12:00 (each repaired by 14:00), so both days hold failure hours within the
24 h horizon. Work orders are curated until the end of ``DAY_3``: ``DAY_1`` and ``DAY_2`` are
labelled, ``DAY_3`` is pending. Scores are what the gateway served: ``"good"`` ranks the
failure hours high (with overlap), ``"inverted"`` ranks them low (a day made bad).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DAY_1 = date(2026, 10, 5)
DAY_2 = date(2026, 10, 6)
DAY_3 = date(2026, 10, 7)
MACHINES = [f"M-{i:04d}" for i in range(40)]
PLANTS = ("P1", "P2", "P3", "P4")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


def home(settings: Any, folder: Path) -> Any:
    """``settings`` with a lake, manifest and reports folder of the test's own."""
    return dataclasses.replace(
        settings,
        lake_uri=str(folder / "lake"),
        manifest_path=folder / "manifest.sqlite",
        reports_dir=folder / "reports",
        release_history_uri=str(folder / "history"),
    )


def write_curated(settings: Any) -> None:
    """The curated ``machines`` and ``work_orders`` tables, and the manifest's labels horizon."""
    import pyarrow as pa

    from ml_tasks.elt import lake, manifest

    machines = pa.table(
        {
            "machine_id": MACHINES,
            "plant_id": [PLANTS[i % 4] for i in range(len(MACHINES))],
            "install_date": ["2026-01-01"] * len(MACHINES),
        }
    )
    failing = [(MACHINES[i], DAY_2) for i in range(5)] + [
        (MACHINES[i], DAY_3) for i in range(5, 10)
    ]
    work_orders = pa.table(
        {
            "machine_id": [m for m, _ in failing],
            "order_type": ["failure"] * len(failing),
            "status": ["closed"] * len(failing),
            "opened_ts": pa.array([_at(d, 12) for _, d in failing], pa.timestamp("us", tz="UTC")),
            "closed_ts": pa.array([_at(d, 14) for _, d in failing], pa.timestamp("us", tz="UTC")),
        }
    )
    lake.append(settings.table_uri("machines"), machines, settings)
    lake.append(settings.table_uri("work_orders"), work_orders, settings)
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name="work_orders_history",
            version=1,
            interval_start=DAY_3.isoformat(),
            interval_end=(DAY_3 + timedelta(days=1)).isoformat(),
            row_count=len(failing),
        ),
    )


def failure_hour(machine: str, hour: datetime) -> bool:
    """Whether ``hour`` is labelled 1 (a failure opens within the next 24 h)."""
    index = MACHINES.index(machine)
    if index < 5:
        opened = _at(DAY_2, 12)
    elif index < 10:
        opened = _at(DAY_3, 12)
    else:
        return False
    return hour < opened <= hour + timedelta(hours=24)


def served_rows(day: date, version: str, scores: str, *, seed: int = 0) -> list[dict[str, Any]]:
    """Two answers per machine-hour of ``day`` by ``version`` @champion (``good``/``inverted``)."""
    import random

    from tests.prediction_fixtures import answer_row

    rng = random.Random(f"{seed}-{day}")
    rows = []
    for hour in range(24):
        stamp = _at(day, hour)
        for machine in MACHINES:
            label = failure_hour(machine, stamp)
            score = 0.45 * label + 0.55 * rng.random()
            if scores == "inverted":
                score = 1.0 - score
            for minute in (5, 35):
                rows.append(
                    answer_row(
                        ts=stamp + timedelta(hours=1, minutes=minute),
                        machine_id=machine,
                        model_version=version,
                        score=score,
                        alert=score >= 0.5,
                        threshold=0.5,
                        feature_ts=stamp,
                    )
                )
    return rows


def write_predictions(settings: Any, rows: list[dict[str, Any]]) -> None:
    """Through the gateway's own writer (flushed and closed)."""
    from ml_tasks.serving.prediction_log import PredictionLogWriter

    writer = PredictionLogWriter(
        settings, batch_rows=len(rows) + 1, max_buffered_rows=len(rows) + 1
    )
    writer.append(rows)
    writer.close()
    assert writer.written == len(rows), writer.stats()
