"""Synthetic machine-hour frames shaped like the offline features monitoring reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

SENSORS = {
    # sensor: (fleet mean, spread between machines, noise within a machine)
    "temperature_c": (60.0, 8.0, 0.8),
    "vibration_mm_s": (2.5, 0.6, 0.1),
    "pressure_bar": (9.0, 2.0, 0.12),
    "rotation_rpm": (3000.0, 900.0, 30.0),
    "power_kw": (20.0, 8.0, 0.6),
}
PLANTS = ("P1", "P2", "P3", "P4")


def machine_hours(
    day: date,
    machines: int = 40,
    seed: int = 0,
    shift: dict[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """One day of machine-hours; ``shift[(plant, sensor)]`` adds to that plant's sensor."""
    base_rng = np.random.default_rng(1234)  # the fleet: the same machines every day
    offsets = {s: base_rng.normal(0, spread, machines) for s, (_, spread, _) in SENSORS.items()}
    rng = np.random.default_rng(seed)
    hours = [datetime(day.year, day.month, day.day) + timedelta(hours=h) for h in range(24)]
    rows = len(hours) * machines
    machine = np.tile(np.arange(machines), len(hours))
    plant = np.array([PLANTS[m % len(PLANTS)] for m in machine])
    frame = pd.DataFrame(
        {
            "machine_id": [f"M-{m + 1:04d}" for m in machine],
            "feature_ts": pd.to_datetime(np.repeat(hours, machines), utc=True),
            "plant_id": plant,
            "line_id": [f"{p}-L1" for p in plant],
            "machine_model": np.where(machine % 2 == 0, "CNC-A", "PUMP-C"),
            "reading_count_1h": np.full(rows, 12),
            "day_type": "weekend" if day.weekday() >= 5 else "weekday",
        }
    )
    for sensor, (mean, _, noise) in SENSORS.items():
        level = mean + offsets[sensor][machine] + rng.normal(0, noise, rows)
        for (p, s), delta in (shift or {}).items():
            if s == sensor:
                level = level + np.where(plant == p, delta, 0.0)
        frame[f"{sensor}_mean_1h"] = level
        frame[f"{sensor}_std_1h"] = np.abs(rng.normal(noise, noise / 10, rows))
        frame[f"{sensor}_min_1h"] = level - 2 * noise
        frame[f"{sensor}_max_1h"] = level + 2 * noise
        frame[f"{sensor}_out_of_range_1h"] = 0
    return frame


def days(start: date, n: int, **kwargs) -> pd.DataFrame:
    return pd.concat(
        [machine_hours(start + timedelta(days=i), seed=i, **kwargs) for i in range(n)],
        ignore_index=True,
    )
