"""One day's clean telemetry: the physics (load, wear ramps, drift, dropouts) and its JSON lines.

Everything is vectorised per day: numpy for the physics, pyarrow string kernels for the lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml_platform_demo.generator.contract import SENSORS
from ml_platform_demo.generator.fleet import Failure, Fleet
from ml_platform_demo.generator.streams import DAY_S, STREAM_TELEMETRY, day_epoch, stream_rng

DRIFT_PLANT = "P2"
DRIFT_PRESSURE_BAR = 2.5
DRIFT_TEMPERATURE_C = 4.0
RAMP_HOURS = 36.0
RAMP_VIBRATION = 1.5  # vibration x(1 + 1.5) = 2.5x at the failure
RAMP_TEMPERATURE_C = 15.0
RAMP_POWER = 0.12
NIGHT_LOAD = 0.55
WEEKEND_LOAD = 0.7
DROPOUT_RATE = 0.002
JITTER_MAX_S = 5
# Clean values are clipped to these inner bounds so noise never reaches a contract limit.
_SAFE_BOUNDS: dict[str, tuple[float, float]] = {
    "temperature_c": (-10.0, 130.0),
    "vibration_mm_s": (0.05, 45.0),
    "pressure_bar": (0.2, 23.0),
    "rotation_rpm": (1.0, 5800.0),
    "power_kw": (0.1, 480.0),
}

_LARGE = pa.large_string()
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class DayReadings:
    """One day's clean readings, ordered by slot then machine."""

    machine: np.ndarray  # (n,) machine index
    slot_ts: np.ndarray  # (n,) nominal reading time, unix seconds
    event_ts: np.ndarray  # (n,) slot time plus jitter
    values: np.ndarray  # (5, n) sensor values in SENSORS order, NaN for a dropout
    event_id: np.ndarray  # (n,) uint64


def _load_profile(day: date, seconds_of_day: np.ndarray) -> np.ndarray:
    """Load factor (at most 1): full in the 06-22 h shifts, lighter at night and on weekends."""
    hours = seconds_of_day / 3600.0
    shift = 1 / (1 + np.exp(-(hours - 6) / 0.4)) * (1 / (1 + np.exp(-(22 - hours) / 0.4)))
    load = NIGHT_LOAD + (1 - NIGHT_LOAD) * shift
    return load * WEEKEND_LOAD if day.weekday() >= 5 else load


def _failure_effects(
    failures: list[Failure], slot_ts: np.ndarray, machines: int
) -> tuple[np.ndarray, np.ndarray]:
    """Degradation ramp (slots x machines, 0..1) and the mask of slots when machines run."""
    ramp = np.zeros((len(slot_ts), machines))
    running = np.ones((len(slot_ts), machines), dtype=bool)
    for f in failures:
        hours_left = (f.ts - slot_ts) / 3600.0
        # Quadratic: barely visible 36 h out, steep in the last hours before the failure.
        r = np.where(
            (hours_left > 0) & (hours_left <= RAMP_HOURS), (1 - hours_left / RAMP_HOURS) ** 2, 0.0
        )
        ramp[:, f.machine] = np.maximum(ramp[:, f.machine], r)
        running[:, f.machine] &= ~((slot_ts >= f.ts) & (slot_ts < f.ts + f.repair_s))
    return ramp, running


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so distinct keys give distinct ids."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _event_ids(seed: int, machine: np.ndarray, slot_ts: np.ndarray) -> np.ndarray:
    """Unique per (machine, minute) for a seed: the packed key is unique and the mix bijective."""
    minute = (slot_ts // 60).astype(np.uint64)
    key = ((machine.astype(np.uint64) + np.uint64(1)) << np.uint64(32)) | minute
    salt = _mix64(np.array([seed], dtype=np.uint64))[0]
    return _mix64(key ^ salt)


def simulate_day(
    fleet: Fleet,
    failures: list[Failure],
    day: date,
    seed: int,
    interval_minutes: int,
    drift_start: date | None,
) -> DayReadings:
    """All clean readings of ``day`` (vectorised over slots x machines)."""
    rng = stream_rng(seed, STREAM_TELEMETRY, day.toordinal())
    step = interval_minutes * 60
    n_slots, n_machines = DAY_S // step, fleet.size
    slot_ts = day_epoch(day) + np.arange(n_slots, dtype=np.int64) * step
    load = _load_profile(day, slot_ts - day_epoch(day))[:, None] * fleet.load_factor[None, :]
    ramp, running = _failure_effects(failures, slot_ts, n_machines)
    noise = rng.standard_normal((len(SENSORS), n_slots, n_machines))
    dropout_u = rng.random((n_slots, n_machines))
    jitter = rng.integers(0, JITTER_MAX_S + 1, (n_slots, n_machines))

    temp, vib, pres, rpm, power = fleet.baseline.T
    values = np.stack(
        [
            temp + 12.0 * (load - 0.75) + RAMP_TEMPERATURE_C * ramp + 0.8 * noise[0],
            vib * (0.75 + 0.3 * load) * (1 + RAMP_VIBRATION * ramp) + 0.06 * vib * noise[1],
            pres * (0.9 + 0.15 * load) + 0.12 * noise[2],
            rpm * (0.55 + 0.45 * load) + 0.01 * rpm * noise[3],
            power * (0.3 + 0.7 * load) * (1 + RAMP_POWER * ramp) + 0.03 * power * noise[4],
        ]
    )
    if drift_start is not None and day >= drift_start:
        # A sensor recalibration on one plant: the data-drift scenario.
        on_plant = np.array([p == DRIFT_PLANT for p in fleet.plant_ids])
        values[0][:, on_plant] += DRIFT_TEMPERATURE_C
        values[2][:, on_plant] += DRIFT_PRESSURE_BAR
    for j, name in enumerate(SENSORS):
        np.clip(values[j], *_SAFE_BOUNDS[name], out=values[j])
    values = np.round(values, 3) + 0.0  # + 0.0 turns -0.0 into 0.0

    # A dropout nulls one sensor; reuse the uniform to pick which one.
    dropped = dropout_u < DROPOUT_RATE
    sensor = np.minimum(
        (dropout_u[dropped] / DROPOUT_RATE * len(SENSORS)).astype(np.int64), len(SENSORS) - 1
    )
    slot_i, machine_i = np.nonzero(dropped)
    values[sensor, slot_i, machine_i] = np.nan

    keep = running.ravel()
    machine = np.tile(np.arange(n_machines), n_slots)[keep]
    slots = np.repeat(slot_ts, n_machines)[keep]
    return DayReadings(
        machine=machine,
        slot_ts=slots,
        event_ts=slots + jitter.ravel()[keep],
        values=values.reshape(len(SENSORS), -1)[:, keep],
        event_id=_event_ids(seed, machine, slots),
    )


# --- JSON rendering with pyarrow string kernels --------------------------------------------


def _lit(text: str) -> pa.Scalar:
    """A large_string scalar: the join kernels need every argument of one string type."""
    return pa.scalar(text, _LARGE)


def _fixed_width(chars: np.ndarray) -> pa.Array:
    """A (n, width) uint8 matrix as a large_string array, zero copy."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(
        _LARGE, n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))]
    )


def _hex16(values: np.ndarray) -> pa.Array:
    """uint64 ids as 16 lowercase hex characters, via a nibble lookup table."""
    as_bytes = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    chars = np.empty((len(values), 16), dtype=np.uint8)
    chars[:, 0::2] = _HEX[as_bytes >> 4]
    chars[:, 1::2] = _HEX[as_bytes & 15]
    return _fixed_width(chars)


def _iso_in_day(epoch_s: np.ndarray, day: date) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` for times inside ``day``, built digit by digit."""
    sod = epoch_s - day_epoch(day)
    chars = np.empty((len(sod), 20), dtype=np.uint8)
    chars[:] = np.frombuffer(f"{day.isoformat()}T00:00:00Z".encode(), dtype=np.uint8)
    for col, part in ((11, sod // 3600), (14, sod // 60 % 60), (17, sod % 60)):
        chars[:, col] = 48 + part // 10
        chars[:, col + 1] = 48 + part % 10
    return _fixed_width(chars)


def _json_floats(values: np.ndarray) -> pa.Array:
    """Shortest round-trip text; integral values keep a ``.0`` so every reading reads as a float."""
    missing = np.isnan(values)
    text = pc.cast(pa.array(values, mask=missing), _LARGE)
    integral = (values == np.floor(values)) & ~missing
    if integral.any():
        text = pc.if_else(
            pa.array(integral), pc.binary_join_element_wise(text, _lit(".0"), _lit("")), text
        )
    return pc.fill_null(text, pa.scalar("null", _LARGE))


def render_telemetry(readings: DayReadings, fleet: Fleet, day: date) -> pa.Array:
    """One JSON line (newline included) per reading, keys in contract order."""
    ids = pa.array(fleet.machine_ids, _LARGE).take(pa.array(readings.machine))
    pieces: list[Any] = [
        '{"event_id":"',
        _hex16(readings.event_id),
        '","machine_id":"',
        ids,
        '","event_ts":"',
        _iso_in_day(readings.event_ts, day),
        '"',
    ]
    for j, name in enumerate(SENSORS):
        pieces += [f',"{name}":', _json_floats(readings.values[j])]
    pieces.append("}\n")
    args = [p if isinstance(p, pa.Array) else _lit(p) for p in pieces]
    return pc.binary_join_element_wise(*args, _lit(""))


def text_bytes(lines: pa.Array) -> memoryview:
    """The concatenated text of a large_string array: its data buffer, no copy."""
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
