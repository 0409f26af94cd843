"""A synthetic training set shaped like the feature service's output, with a learnable signal.

Used by the tests and the benchmark so training does not depend on a populated feature store:
hourly rows per machine, the windowed sensor statistics and maintenance features the feature
views define, static string attributes (left out of the model as non-numeric), and a label
(failure within 24 h) that rises with heat, vibration and time since maintenance.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_tasks.training.spec import ENTITY, LABEL, TIMESTAMP, TrainingSetRef

SENSORS = {
    "temperature_c": (60.0, 4.0),
    "vibration_mm_s": (2.5, 0.6),
    "pressure_bar": (6.0, 0.4),
    "rotation_rpm": (3000.0, 120.0),
    "power_kw": (15.0, 1.5),
}
WINDOWS = ("1h", "24h")
STATISTICS = ("mean", "std", "min", "max")


def feature_names() -> list[str]:
    """The numeric feature columns, in the order the feature views define them."""
    names = [f"reading_count_{w}" for w in WINDOWS]
    for sensor in SENSORS:
        for window in WINDOWS:
            names.extend(f"{sensor}_{stat}_{window}" for stat in STATISTICS)
            names.append(f"{sensor}_out_of_range_{window}")
    return [
        *names,
        "hours_since_last_maintenance",
        "failures_30d",
        "open_work_orders",
        "machine_age_days",
    ]


def make_frame(
    rows: int, *, machines: int = 50, start: datetime | None = None, seed: int = 0
) -> Any:
    """A pyarrow table of about ``rows`` rows (whole hours x machines), sorted by time."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    start = start or datetime(2026, 10, 1, tzinfo=UTC)
    hours = max(2, -(-rows // machines))
    n = hours * machines
    machine = np.tile(np.arange(machines), hours)
    hour = np.repeat(np.arange(hours), machines)
    # Per-machine wear that drifts over time; drives both the sensors and the failures.
    wear = rng.gamma(2.0, 0.5, machines)[machine] + 0.002 * hour * rng.uniform(0.5, 1.5)
    since_maint = (hour + rng.integers(0, 500, machines)[machine]) % 720 + rng.uniform(0, 1, n)
    risk = 0.9 * wear + 0.002 * since_maint + rng.normal(0, 0.6, n)
    columns: dict[str, Any] = {
        TIMESTAMP: pa.array(
            (np.datetime64(start.replace(tzinfo=None), "us") + hour * np.timedelta64(1, "h")),
            pa.timestamp("us", tz="UTC"),
        ),
        ENTITY: pa.array([f"M-{m:04d}" for m in range(machines)]).take(pa.array(machine)),
    }
    counts = rng.poisson(12, n).astype("int64")
    columns["reading_count_1h"] = counts
    columns["reading_count_24h"] = counts * 24 + rng.integers(0, 10, n)
    for i, (sensor, (mean, sd)) in enumerate(SENSORS.items()):
        # Heat and vibration carry the signal; the other sensors are noise.
        shift = risk * sd * (0.8 if i < 2 else 0.0)
        for window in WINDOWS:
            level = mean + shift + rng.normal(0, sd * (0.5 if window == "24h" else 1.0), n)
            spread = np.abs(rng.normal(sd * 0.3, sd * 0.1, n)) + 0.1 * np.abs(shift)
            columns[f"{sensor}_mean_{window}"] = level
            columns[f"{sensor}_std_{window}"] = spread
            columns[f"{sensor}_min_{window}"] = level - 2 * spread
            columns[f"{sensor}_max_{window}"] = level + 2 * spread
            columns[f"{sensor}_out_of_range_{window}"] = rng.poisson(
                0.02 + 0.05 * np.clip(risk, 0, None), n
            ).astype("int64")
    columns["hours_since_last_maintenance"] = since_maint
    columns["failures_30d"] = rng.poisson(np.clip(0.3 * wear, 0.01, None)).astype("int64")
    columns["open_work_orders"] = rng.poisson(0.2, n).astype("int64")
    columns["machine_age_days"] = rng.uniform(200, 3000, machines)[machine] + hour / 24.0
    # Missing readings, as the feature views produce for silent machines.
    silent = rng.random(n) < 0.01
    for name in ("temperature_c_std_1h", "vibration_mm_s_std_1h"):
        columns[name] = np.where(silent, np.nan, columns[name])
    columns["plant_id"] = pa.array([f"P{m % 3 + 1}" for m in range(machines)]).take(
        pa.array(machine)
    )
    columns["machine_model"] = pa.array(["CNC-A", "PUMP-C", "PRESS-B"]).take(pa.array(machine % 3))
    threshold = np.quantile(risk, 0.93)
    columns[LABEL] = (risk + rng.normal(0, 0.3, n) > threshold).astype("int64")
    return pa.table(columns).slice(0, rows) if rows < n else pa.table(columns)


def write_training_set(
    path: Path | str,
    rows: int,
    *,
    machines: int = 50,
    seed: int = 0,
    row_group_size: int = 65_536,
    version: str | None = None,
) -> TrainingSetRef:
    """Write a synthetic training set as one parquet file and return its reference."""
    import pyarrow.parquet as pq

    table = make_frame(rows, machines=machines, seed=seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    ts = table.column(TIMESTAMP)
    return TrainingSetRef(
        path=str(path),
        version=version or f"synthetic-s{seed}-r{table.num_rows}",
        lineage={"synthetic": f"seed={seed},rows={table.num_rows},machines={machines}"},
        feature_service="failure_model_v1",
        start=str(ts[0].as_py().date()),
        end=str(ts[-1].as_py().date()),
        row_count=table.num_rows,
    )
