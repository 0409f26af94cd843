"""The fleet (asset register) and the failure schedule that drives telemetry and work orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from ml_platform_demo.generator.contract import (
    COMPONENTS,
    FAILURE_CODES,
    LINES_PER_PLANT,
    MODEL_BASELINES,
    PLANTS,
    SENSORS,
    TECHNICIANS,
)
from ml_platform_demo.generator.streams import (
    DAY_S,
    EPOCH_ORDINAL,
    STREAM_FAILURE,
    STREAM_MACHINE,
    iso_utc,
    stream_rng,
)

FAILURE_RATE_PER_DAY = 1 / 45
# A raw failure this soon after another one on the same machine is dropped (no overlapping ramps).
MIN_FAILURE_GAP_S = 72 * 3600
PROGRESS_HOURS = (0.5, 2.0)
REPAIR_HOURS = (2.1, 8.0)


@dataclass(frozen=True, eq=False)
class Fleet:
    """The machines: reference attributes plus the per-machine physics used by the simulation."""

    machine_ids: tuple[str, ...]
    plant_ids: tuple[str, ...]
    line_ids: tuple[str, ...]
    models: tuple[str, ...]
    install_dates: tuple[str, ...]
    baseline: np.ndarray  # (machines, 5) sensor baselines incl. per-machine offsets
    load_factor: np.ndarray  # (machines,) how hard each machine is run

    @property
    def size(self) -> int:
        """Number of machines."""
        return len(self.machine_ids)


def build_fleet(seed: int, machines: int) -> Fleet:
    """Machine attributes; each machine has its own stream so M-0001 never depends on the count."""
    models = tuple(MODEL_BASELINES)
    ids, plants, lines, chosen, installed = [], [], [], [], []
    baseline = np.empty((machines, len(SENSORS)))
    load_factor = np.empty(machines)
    for i in range(machines):
        rng = stream_rng(seed, STREAM_MACHINE, i)
        plant = PLANTS[i % len(PLANTS)]
        model = models[int(rng.integers(len(models)))]
        ids.append(f"M-{i + 1:04d}")
        plants.append(plant)
        lines.append(f"{plant}-L{(i // len(PLANTS)) % LINES_PER_PLANT + 1}")
        chosen.append(model)
        installed.append(
            (date(2012, 1, 1) + timedelta(days=int(rng.integers(0, 12 * 365)))).isoformat()
        )
        temp, vib, pres, rpm, power = MODEL_BASELINES[model]
        baseline[i] = (
            temp + rng.normal(0.0, 2.0),
            vib * rng.uniform(0.85, 1.15),
            pres * rng.uniform(0.95, 1.05),
            rpm * rng.uniform(0.97, 1.03),
            power * rng.uniform(0.9, 1.1),
        )
        load_factor[i] = rng.uniform(0.9, 1.1)
    return Fleet(
        tuple(ids),
        tuple(plants),
        tuple(lines),
        tuple(chosen),
        tuple(installed),
        baseline,
        load_factor,
    )


def machines_csv(fleet: Fleet) -> str:
    rows = ["machine_id,plant_id,line_id,machine_model,install_date"]
    rows += [
        ",".join(values)
        for values in zip(
            fleet.machine_ids,
            fleet.plant_ids,
            fleet.line_ids,
            fleet.models,
            fleet.install_dates,
            strict=True,
        )
    ]
    return "\n".join(rows) + "\n"


class Failure(NamedTuple):
    """One simulated breakdown; the machine is down from ``ts`` until the repair closes it."""

    machine: int
    ts: int  # unix seconds
    progress_s: int  # technician starts work this long after the failure
    repair_s: int  # the work order closes (machine back up) this long after the failure
    failure_code: str
    component: str
    technician: str


class FailureSchedule:
    """Failures per calendar day, drawn from that day's own stream (so independent of the range)."""

    def __init__(self, seed: int, machines: int) -> None:
        self._seed = seed
        self._machines = machines
        self._raw: dict[int, list[Failure]] = {}

    def _raw_for(self, ordinal: int) -> list[Failure]:
        if ordinal not in self._raw:
            rng = stream_rng(self._seed, STREAM_FAILURE, ordinal)
            n = self._machines
            hit = rng.poisson(FAILURE_RATE_PER_DAY, n) > 0
            offset = rng.integers(0, DAY_S, n)
            progress = rng.uniform(*PROGRESS_HOURS, n) * 3600
            repair = rng.uniform(*REPAIR_HOURS, n) * 3600
            code = rng.integers(0, len(FAILURE_CODES), n)
            component = rng.integers(0, len(COMPONENTS), n)
            technician = rng.integers(0, len(TECHNICIANS), n)
            day0 = (ordinal - EPOCH_ORDINAL) * DAY_S
            self._raw[ordinal] = [
                Failure(
                    int(m),
                    day0 + int(offset[m]),
                    int(progress[m]),
                    int(repair[m]),
                    FAILURE_CODES[code[m]],
                    COMPONENTS[component[m]],
                    TECHNICIANS[technician[m]],
                )
                for m in np.flatnonzero(hit)
            ]
        return self._raw[ordinal]

    def on(self, day: date) -> list[Failure]:
        """Failures on ``day``, minus those too soon after another raw failure of the machine."""
        ordinal = day.toordinal()
        recent = [f for o in range(ordinal - 3, ordinal + 1) for f in self._raw_for(o)]
        return [
            f
            for f in self._raw_for(ordinal)
            if not any(
                g.machine == f.machine and 0 < f.ts - g.ts < MIN_FAILURE_GAP_S for g in recent
            )
        ]

    def affecting(self, day: date) -> list[Failure]:
        """Failures whose ramp (up to 36 h before) or downtime (up to 8 h after) touches ``day``."""
        return [f for k in (-1, 0, 1, 2) for f in self.on(day + timedelta(days=k))]


def failures_csv(failures: list[Failure], fleet: Fleet) -> str:
    rows = ["machine_id,failure_ts"]
    rows += [
        f"{fleet.machine_ids[f.machine]},{iso_utc(f.ts)}"
        for f in sorted(failures, key=lambda f: (f.ts, f.machine))
    ]
    return "\n".join(rows) + "\n"
