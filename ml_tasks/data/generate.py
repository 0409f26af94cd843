"""Deterministic demo data: machine telemetry and maintenance work orders in the landing zone.

Layout written under ``landing_dir`` (one folder per landing day, rewritten on each run)::

    reference/machines.csv                       the fleet (asset register)
    telemetry/date=YYYY-MM-DD/events.jsonl       sensor readings that *arrived* that day
    work_orders/date=YYYY-MM-DD/cdc.jsonl        work-order change events with op_ts that day
    _truth/telemetry/date=YYYY-MM-DD.jsonl       every injected telemetry fault (line_no, kind)
    _truth/work_orders/date=YYYY-MM-DD.jsonl     every injected work-order fault
    _truth/failures.csv                          every simulated failure in the range
    manuals/date=YYYY-MM-DD/<doc_id>.md          the maintenance manuals library that day
    _truth/manuals/date=YYYY-MM-DD.json          manuals added / edited / removed / corrupt

Determinism: every draw comes from a numpy ``Generator`` seeded by ``SeedSequence([seed, stream,
key])`` where ``key`` is a calendar day or a machine number, so a day's data does not depend on
which range was generated. Only the range edges differ: late events and next-day duplicates
land only on days inside the range (otherwise they stay on time), work orders opened before
``start`` are not emitted and change events after the last day are dropped.

Everything is vectorised per day (numpy for the physics, pyarrow string kernels for the JSON
lines); Python loops run only over the injected faults and the few work orders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml_tasks.manuals import ManualsSummary, write_manuals
from ml_tasks.manuals.synthetic import MAX_EXTRA_MODELS
from ml_tasks.settings import get_settings

# --- Contract-level constants (shared with the ELT and the tests) --------------------------

SENSORS: tuple[str, ...] = (
    "temperature_c",
    "vibration_mm_s",
    "pressure_bar",
    "rotation_rpm",
    "power_kw",
)
SENSOR_RANGES: dict[str, tuple[float, float]] = {
    "temperature_c": (-20.0, 150.0),
    "vibration_mm_s": (0.0, 50.0),
    "pressure_bar": (0.0, 25.0),
    "rotation_rpm": (0.0, 6000.0),
    "power_kw": (0.0, 500.0),
}
TELEMETRY_FAULT_KINDS: tuple[str, ...] = (
    "malformed",
    "wrong_type",
    "null_key",
    "out_of_range",
    "unknown_machine",
    "bad_timestamp",
    "duplicate",
    "late",
)
WORK_ORDER_FAULT_KINDS: tuple[str, ...] = ("malformed", "unknown_op", "out_of_order")
# Fault kinds whose lines are valid records (the ELT dedups, routes or reorders them).
VALID_FAULT_KINDS: frozenset[str] = frozenset({"duplicate", "late", "out_of_order"})

PLANTS: tuple[str, ...] = ("P1", "P2", "P3", "P4")
LINES_PER_PLANT = 3
# Per-model baselines, in SENSORS order: temperature, vibration, pressure, rpm, power.
MODEL_BASELINES: dict[str, tuple[float, float, float, float, float]] = {
    "CNC-A": (60.0, 2.5, 6.0, 3000.0, 15.0),
    "CNC-B": (55.0, 2.0, 7.0, 4500.0, 22.0),
    "PRESS-X": (70.0, 4.0, 12.0, 600.0, 45.0),
    "PUMP-C": (45.0, 1.8, 9.0, 1800.0, 11.0),
}
FAILURE_CODES: tuple[str, ...] = ("F01", "F02", "F03", "F04", "F05", "F06")
COMPONENTS: tuple[str, ...] = ("bearing", "motor", "seal", "spindle", "hydraulics", "sensor")
# Fictional names: the technician field is personal data the ELT pseudonymises.
TECHNICIANS: tuple[str, ...] = (
    "Anna Schmidt",
    "Lukas Weber",
    "Maria Rossi",
    "James Carter",
    "Sofia Novak",
    "Daniel Kim",
    "Elena Petrova",
    "Tomasz Nowak",
    "Aisha Rahman",
    "Pierre Dubois",
    "Laura Fernandez",
    "Mehmet Yilmaz",
)

# --- Simulation parameters -----------------------------------------------------------------

DRIFT_PLANT = "P2"
DRIFT_PRESSURE_BAR = 2.5
DRIFT_TEMPERATURE_C = 4.0
FAILURE_RATE_PER_DAY = 1 / 45
RAMP_HOURS = 36.0
RAMP_VIBRATION = 1.5  # vibration x(1 + 1.5) = 2.5x at the failure
RAMP_TEMPERATURE_C = 15.0
RAMP_POWER = 0.12
# A raw failure this soon after another one on the same machine is dropped (no overlapping ramps).
MIN_FAILURE_GAP_S = 72 * 3600
PROGRESS_HOURS = (0.5, 2.0)
REPAIR_HOURS = (2.1, 8.0)
NIGHT_LOAD = 0.55
WEEKEND_LOAD = 0.7
DROPOUT_RATE = 0.002
JITTER_MAX_S = 5
PREVENTIVE_PER_DAY = 2 / 30
INSPECTION_PER_DAY = 1.5 / 30
CANCEL_SHARE = 0.05
NEXT_DAY_DUPLICATE_SHARE = 0.2
# Clean values are clipped to these inner bounds so noise never reaches a contract limit.
_SAFE_BOUNDS: dict[str, tuple[float, float]] = {
    "temperature_c": (-10.0, 130.0),
    "vibration_mm_s": (0.05, 45.0),
    "pressure_bar": (0.2, 23.0),
    "rotation_rpm": (1.0, 5800.0),
    "power_kw": (0.1, 480.0),
}
_WRONG_TYPE_VALUES = ("N/A", "err", "--", "#VALUE!", "unknown")
_BAD_TIMESTAMPS = (
    "yesterday",
    "2026-13-45T25:61:00Z",
    "not-a-date",
    "31/02/2026 10:00",
    "0000-00-00T00:00:00Z",
)
_OUT_OF_RANGE_VALUES: dict[str, tuple[float, float]] = {
    "temperature_c": (999.0, -273.15),
    "vibration_mm_s": (250.0, -1.0),
    "pressure_bar": (99.9, -5.0),
    "rotation_rpm": (25000.0, -100.0),
    "power_kw": (5000.0, -10.0),
}
_KEY_FIELDS = ("event_id", "machine_id", "event_ts")
MAX_MACHINES = 8999  # M-9xxx is reserved for unknown machines

# Independent random streams, so adding draws to one never shifts another.
_STREAM_MACHINE, _STREAM_FAILURE, _STREAM_TELEMETRY, _STREAM_FAULTS = 1, 2, 3, 4
_STREAM_WORK_ORDERS, _STREAM_WO_FAULTS = 5, 6

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_S = 86400
_LARGE = pa.large_string()
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# --- Small helpers ------------------------------------------------------------------------


def _rng(seed: int, stream: int, key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, key]))


def _epoch(day: date) -> int:
    """Unix seconds of ``day`` 00:00 UTC."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_S


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(record: dict[str, Any]) -> str:
    """One JSON line in the landing style (compact, keys in the given order)."""
    return json.dumps(record, separators=(",", ":")) + "\n"


def _truncate(line: str, u: float) -> str:
    """Cut a JSON object line mid-way: without its closing brace it can never parse."""
    body = line.rstrip("\n")
    cut = 5 + int(u * max(len(body) - 7, 1))
    return body[:cut] + "\n"


def _write_atomic(path: Path, data: bytes | memoryview | str) -> Path:
    """Write via a temp file in the same folder and ``os.replace``: no half file on a kill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _day_folder(landing_dir: Path, source: str, day: date) -> Path:
    return landing_dir / source / f"date={day.isoformat()}"


def _truth_path(landing_dir: Path, source: str, day: date) -> Path:
    return landing_dir / "_truth" / source / f"date={day.isoformat()}.jsonl"


# --- The fleet ----------------------------------------------------------------------------


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
        rng = _rng(seed, _STREAM_MACHINE, i)
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


def _machines_csv(fleet: Fleet) -> str:
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


# --- Failures -----------------------------------------------------------------------------


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
            rng = _rng(self._seed, _STREAM_FAILURE, ordinal)
            n = self._machines
            hit = rng.poisson(FAILURE_RATE_PER_DAY, n) > 0
            offset = rng.integers(0, _DAY_S, n)
            progress = rng.uniform(*PROGRESS_HOURS, n) * 3600
            repair = rng.uniform(*REPAIR_HOURS, n) * 3600
            code = rng.integers(0, len(FAILURE_CODES), n)
            component = rng.integers(0, len(COMPONENTS), n)
            technician = rng.integers(0, len(TECHNICIANS), n)
            day0 = (ordinal - _EPOCH_ORDINAL) * _DAY_S
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


# --- Telemetry simulation -----------------------------------------------------------------


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
    rng = _rng(seed, _STREAM_TELEMETRY, day.toordinal())
    step = interval_minutes * 60
    n_slots, n_machines = _DAY_S // step, fleet.size
    slot_ts = _epoch(day) + np.arange(n_slots, dtype=np.int64) * step
    load = _load_profile(day, slot_ts - _epoch(day))[:, None] * fleet.load_factor[None, :]
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
    sod = epoch_s - _epoch(day)
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


def _text_bytes(lines: pa.Array) -> memoryview:
    """The concatenated text of a large_string array: its data buffer, no copy."""
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


# --- Splicing faults into a day file -------------------------------------------------------


class _Extra(NamedTuple):
    """A line inserted after clean row ``anchor`` of a day file (duplicate or late arrival)."""

    anchor: int
    line: str
    kind: str
    event_id: str | None


class _Carried(NamedTuple):
    """A line bound for a later day's file, placed at fraction ``where`` of that file."""

    where: float
    line: str
    kind: str
    event_id: str | None


@dataclass
class _DayEdits:
    """What to change in a day's clean lines: replacements, removals, insertions."""

    replaced: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)
    extras: list[_Extra] = field(default_factory=list)


def _fault_kinds(rng: np.random.Generator, k: int, n_kinds: int) -> np.ndarray:
    """``k`` kind indexes split evenly, shuffled; a random start so small k favours no kind."""
    return rng.permutation((np.arange(k) + rng.integers(n_kinds)) % n_kinds)


def _corrupt(
    record: dict[str, Any], line: str, kind: str, u: float, pick: int
) -> tuple[str, str | None]:
    """The faulty line replacing a clean one, and the event_id the truth file records."""
    event_id = record["event_id"]
    if kind == "malformed":
        return _truncate(line, u), event_id
    bad = dict(record)
    if kind == "wrong_type":
        bad[SENSORS[pick % len(SENSORS)]] = _WRONG_TYPE_VALUES[
            pick // len(SENSORS) % len(_WRONG_TYPE_VALUES)
        ]
    elif kind == "null_key":
        key = _KEY_FIELDS[pick % len(_KEY_FIELDS)]
        bad[key] = None
        event_id = bad["event_id"]
    elif kind == "out_of_range":
        sensor = SENSORS[pick % len(SENSORS)]
        bad[sensor] = _OUT_OF_RANGE_VALUES[sensor][pick // len(SENSORS) % 2]
    elif kind == "unknown_machine":
        bad["machine_id"] = f"M-9{pick % 1000:03d}"
    elif kind == "bad_timestamp":
        bad["event_ts"] = _BAD_TIMESTAMPS[pick % len(_BAD_TIMESTAMPS)]
    else:
        raise ValueError(f"not a replacing fault kind: {kind}")
    return _dumps(bad), event_id


def _plan_telemetry_faults(
    clean: pa.Array,
    rng: np.random.Generator,
    bad_rate: float,
    day: date,
    last_day: date,
    carry: dict[date, list[_Carried]],
) -> _DayEdits:
    """Pick faulty rows of the day; late lines and next-day duplicates go into ``carry``."""
    edits = _DayEdits()
    n = len(clean)
    k = int(rng.binomial(n, bad_rate)) if n and bad_rate > 0 else 0
    # Draw everything up front so the range end never changes what is drawn.
    rows = rng.choice(n, size=k, replace=False) if k else np.empty(0, dtype=np.int64)
    kinds = _fault_kinds(rng, k, len(TELEMETRY_FAULT_KINDS))
    u1, u2 = rng.random(k), rng.random(k)
    picks = rng.integers(0, 1 << 30, k)
    for row, kind_i, a, b, pick in zip(
        rows.tolist(), kinds.tolist(), u1.tolist(), u2.tolist(), picks.tolist(), strict=True
    ):
        kind = TELEMETRY_FAULT_KINDS[kind_i]
        line = clean[row].as_py()
        record = json.loads(line)
        if kind == "duplicate":
            if a < NEXT_DAY_DUPLICATE_SHARE and day < last_day:
                carry[day + timedelta(days=1)].append(_Carried(b, line, kind, record["event_id"]))
            else:
                edits.extras.append(
                    _Extra(row + int(b * (n - row)), line, kind, record["event_id"])
                )
        elif kind == "late":
            delay = 1 + pick % 2
            if day + timedelta(days=delay) > last_day:
                delay = 1 if day < last_day else 0
            if delay:  # otherwise the range ends here: the event stays on time, as a clean line
                edits.removed.append(row)
                carry[day + timedelta(days=delay)].append(
                    _Carried(b, line, kind, record["event_id"])
                )
        else:
            bad_line, event_id = _corrupt(record, line, kind, a, pick)
            edits.replaced[row] = (bad_line, kind, event_id)
    return edits


def _assemble(clean: pa.Array, edits: _DayEdits) -> tuple[pa.Array, list[dict[str, Any]]]:
    """Apply the edits in one ``take``; returns the final lines and the truth records."""
    n = len(clean)
    replaced = list(edits.replaced.items())
    new_lines = [line for _, (line, _, _) in replaced] + [e.line for e in edits.extras]
    meta = [(kind, eid) for _, (_, kind, eid) in replaced] + [
        (e.kind, e.event_id) for e in edits.extras
    ]

    index = np.arange(n, dtype=np.int64)
    if replaced:
        index[np.array([row for row, _ in replaced])] = n + np.arange(len(replaced))
    keep = np.ones(n, dtype=bool)
    keep[np.array(edits.removed, dtype=np.int64)] = False
    # Clean row i sorts at 2i, an extra anchored at row j right after it at 2j + 1.
    keys = np.concatenate(
        [2 * np.arange(n)[keep], 2 * np.array([e.anchor for e in edits.extras], dtype=np.int64) + 1]
    )
    sources = np.concatenate([index[keep], n + len(replaced) + np.arange(len(edits.extras))])
    final = sources[np.argsort(keys, kind="stable")]

    combined = pa.concat_arrays([clean, pa.array(new_lines, _LARGE)])
    lines = combined.take(pa.array(final))
    truth = [
        {
            "line_no": int(pos) + 1,
            "kind": meta[final[pos] - n][0],
            "event_id": meta[final[pos] - n][1],
        }
        for pos in np.flatnonzero(final >= n)
    ]
    return lines, truth


# --- Work orders (change data capture) ----------------------------------------------------


class _CdcEvent(NamedTuple):
    op_ts: int
    work_order_id: str
    rank: int  # insert < update < delete for the same order and second
    row: dict[str, Any]  # all fields but lsn, in landing key order


@dataclass(frozen=True)
class _Order:
    opened: int
    machine: int
    order_type: str
    failure_code: str | None
    component: str | None
    technician: str
    progress: int | None = None
    closed: int | None = None
    cancelled: int | None = None
    deleted: int | None = None


def _cdc_row(
    op: str,
    op_ts: int,
    work_order_id: str,
    order: _Order | None,
    machine_ids: tuple[str, ...],
    status: str | None = None,
    technician: str | None = None,
    closed_ts: int | None = None,
) -> dict[str, Any]:
    """A change event without lsn; deletes (``order`` None) carry only their keys."""
    row: dict[str, Any] = {"op": op, "op_ts": _iso(op_ts), "work_order_id": work_order_id}
    row.update(
        machine_id=machine_ids[order.machine] if order else None,
        order_type=order.order_type if order else None,
        status=status,
        opened_ts=_iso(order.opened) if order else None,
        closed_ts=_iso(closed_ts) if closed_ts is not None else None,
        failure_code=order.failure_code if order else None,
        component=order.component if order else None,
        technician=technician,
    )
    return row


def _orders_opened(seed: int, day: date, fleet: Fleet, failures: list[Failure]) -> list[_Order]:
    """Failure orders from the schedule plus preventive maintenance and inspections of ``day``."""
    rng = _rng(seed, _STREAM_WORK_ORDERS, day.toordinal())
    n = fleet.size
    preventive = rng.random(n) < PREVENTIVE_PER_DAY
    inspection = rng.random(n) < INSPECTION_PER_DAY
    opened = _epoch(day) + rng.integers(6 * 3600, 14 * 3600, (2, n))
    progress = rng.integers(600, 3600, (2, n))
    work = rng.integers(1800, 3 * 3600, (2, n))
    technician = rng.integers(0, len(TECHNICIANS), (2, n))
    component = rng.integers(0, len(COMPONENTS), n)
    cancel = rng.random(n) < CANCEL_SHARE
    cancel_after = rng.integers(3600, 4 * 3600, n)
    delete_after = rng.integers(_DAY_S, 3 * _DAY_S, n)

    orders = [
        _Order(
            f.ts,
            f.machine,
            "failure",
            f.failure_code,
            f.component,
            f.technician,
            progress=f.ts + f.progress_s,
            closed=f.ts + f.repair_s,
        )
        for f in failures
    ]
    for m in np.flatnonzero(preventive).tolist():
        start = int(opened[0, m])
        common = (
            start,
            m,
            "preventive",
            None,
            COMPONENTS[component[m]],
            TECHNICIANS[technician[0, m]],
        )
        if cancel[m]:
            cancelled = start + int(cancel_after[m])
            orders.append(
                _Order(*common, cancelled=cancelled, deleted=cancelled + int(delete_after[m]))
            )
        else:
            begun = start + int(progress[0, m])
            orders.append(_Order(*common, progress=begun, closed=begun + int(work[0, m])))
    for m in np.flatnonzero(inspection).tolist():
        start = int(opened[1, m])
        begun = start + int(progress[1, m])
        orders.append(
            _Order(
                start,
                m,
                "inspection",
                None,
                None,
                TECHNICIANS[technician[1, m]],
                progress=begun,
                closed=begun + int(work[1, m]),
            )
        )
    orders.sort(key=lambda o: (o.opened, o.machine, o.order_type))
    return orders


def _order_events(
    order: _Order, work_order_id: str, machine_ids: tuple[str, ...]
) -> list[_CdcEvent]:
    """Insert, then either in_progress + closed, or cancelled + a later hard delete."""
    wo = work_order_id
    events = [
        _CdcEvent(
            order.opened, wo, 0, _cdc_row("insert", order.opened, wo, order, machine_ids, "open")
        )
    ]
    if order.cancelled is not None and order.deleted is not None:
        events.append(
            _CdcEvent(
                order.cancelled,
                wo,
                1,
                _cdc_row("update", order.cancelled, wo, order, machine_ids, "cancelled"),
            )
        )
        events.append(
            _CdcEvent(
                order.deleted, wo, 3, _cdc_row("delete", order.deleted, wo, None, machine_ids)
            )
        )
    elif order.progress is not None and order.closed is not None:
        tech = order.technician
        events.append(
            _CdcEvent(
                order.progress,
                wo,
                1,
                _cdc_row("update", order.progress, wo, order, machine_ids, "in_progress", tech),
            )
        )
        events.append(
            _CdcEvent(
                order.closed,
                wo,
                2,
                _cdc_row(
                    "update", order.closed, wo, order, machine_ids, "closed", tech, order.closed
                ),
            )
        )
    return events


def work_order_events(
    seed: int, day: date, fleet: Fleet, failures: list[Failure]
) -> list[_CdcEvent]:
    """Every change event of the orders opened on ``day`` (some land on later days)."""
    events: list[_CdcEvent] = []
    for seq, order in enumerate(_orders_opened(seed, day, fleet, failures), start=1):
        # Day-based ids never collide between separately generated ranges.
        events += _order_events(order, f"WO-{day:%y%m%d}{seq:04d}", fleet.machine_ids)
    return events


def _with_lsn(events: list[_CdcEvent]) -> list[dict[str, Any]]:
    """Order by op_ts and number: lsn = op_ts seconds x 1000 + tie-break, increasing across runs."""
    records, previous, tie = [], None, 0
    for event in sorted(events, key=lambda e: (e.op_ts, e.work_order_id, e.rank)):
        tie = tie + 1 if event.op_ts == previous else 0
        previous = event.op_ts
        records.append({"lsn": event.op_ts * 1000 + tie, **event.row})
    return records


def _cdc_day_lines(
    records: list[dict[str, Any]], rng: np.random.Generator, bad_rate: float
) -> tuple[list[str], list[dict[str, Any]]]:
    """The day's CDC lines (lsn order) with faults spliced in, and the truth records."""
    n = len(records)
    k = int(rng.binomial(n, bad_rate / 4)) if n and bad_rate > 0 else 0
    kinds = [
        WORK_ORDER_FAULT_KINDS[x]
        for x in _fault_kinds(rng, k, len(WORK_ORDER_FAULT_KINDS)).tolist()
    ]
    candidates = rng.permutation(n).tolist()
    uniforms = rng.random(k).tolist()

    lines = [_dumps(r) for r in records]
    keys = [2 * i for i in range(n)]  # the file is sorted by key at the end
    fault: dict[int, str] = {}
    touched: set[int] = set()
    # out_of_order: an update moved before its own insert; the line stays a valid event.
    inserts = {r["work_order_id"]: i for i, r in enumerate(records) if r["op"] == "insert"}
    n_moves = kinds.count("out_of_order")
    moved = 0
    for i in candidates:
        if moved == n_moves:
            break
        q = inserts.get(records[i]["work_order_id"])
        if records[i]["op"] != "update" or q is None or touched & {i, q}:
            continue
        keys[i] = 2 * int(uniforms[moved] * (q + 1)) - 1  # anywhere before the insert
        fault[i] = "out_of_order"
        touched |= {i, q}
        moved += 1
    # malformed / unknown_op replace other lines (never one of a moved pair).
    replacing = [kind for kind in kinds if kind != "out_of_order"]
    free = [i for i in candidates if i not in touched]
    # strict=False: with few free lines some replacing faults are simply not injected.
    for i, kind, u in zip(free, replacing, uniforms[n_moves:], strict=False):
        lines[i] = (
            _truncate(lines[i], u)
            if kind == "malformed"
            else _dumps({**records[i], "op": "upsert"})
        )
        fault[i] = kind
    positions = sorted(range(n), key=lambda i: keys[i])
    truth = [
        {
            "line_no": pos + 1,
            "kind": fault[i],
            "event_id": records[i]["lsn"],
            "work_order_id": records[i]["work_order_id"],
        }
        for pos, i in enumerate(positions)
        if i in fault
    ]
    return [lines[i] for i in positions], truth


# --- Orchestration ------------------------------------------------------------------------


@dataclass
class GenerationSummary:
    """What one :func:`generate` call wrote: lines per landing day, faults per kind, paths."""

    start: date
    days: int
    machines: int
    seed: int
    landing_dir: Path
    telemetry_lines: dict[date, int] = field(default_factory=dict)
    work_order_lines: dict[date, int] = field(default_factory=dict)
    telemetry_faults: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(TELEMETRY_FAULT_KINDS, 0)
    )
    work_order_faults: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(WORK_ORDER_FAULT_KINDS, 0)
    )
    failures: int = 0
    manuals: ManualsSummary | None = None
    paths: list[Path] = field(default_factory=list)

    @property
    def end(self) -> date:
        """The last generated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def describe(self) -> str:
        """A short human-readable report."""

        def faults(counts: dict[str, int]) -> str:
            detail = ", ".join(f"{kind} {count:,}" for kind, count in counts.items())
            return f"{sum(counts.values()):,} faulty ({detail})"

        telemetry = sum(self.telemetry_lines.values())
        work_orders = sum(self.work_order_lines.values())
        return "\n".join(
            [
                f"Generated {self.days} day(s) {self.start}..{self.end} for {self.machines} "
                f"machines (seed {self.seed}) into {self.landing_dir}",
                f"  telemetry:   {telemetry:,} lines, {faults(self.telemetry_faults)}",
                f"  work orders: {work_orders:,} CDC events, {faults(self.work_order_faults)}",
                f"  failures:    {self.failures} simulated (see _truth/failures.csv)",
                *([f"  manuals:     {self.manuals.describe()}"] if self.manuals else []),
                f"  files:       {len(self.paths)} written",
            ]
        )


def _validate(
    days: int, machines: int, seed: int, bad_rate: float, interval_minutes: int, manual_models: int
) -> None:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 1 <= machines <= MAX_MACHINES:
        raise ValueError(f"machines must be between 1 and {MAX_MACHINES}, got {machines}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative 63-bit integer, got {seed}")
    if not 0.0 <= bad_rate <= 0.5:
        raise ValueError(f"bad_rate must be between 0 and 0.5, got {bad_rate}")
    if not 1 <= interval_minutes <= 1440 or 1440 % interval_minutes:
        raise ValueError(f"interval_minutes must divide a day (1..1440), got {interval_minutes}")
    if not 0 <= manual_models <= MAX_EXTRA_MODELS:
        raise ValueError(
            f"manual_models must be between 0 and {MAX_EXTRA_MODELS}, got {manual_models}"
        )


def _truth_jsonl(truth: list[dict[str, Any]]) -> str:
    return "".join(_dumps(t) for t in truth)


def _failures_csv(failures: list[Failure], fleet: Fleet) -> str:
    rows = ["machine_id,failure_ts"]
    rows += [
        f"{fleet.machine_ids[f.machine]},{_iso(f.ts)}"
        for f in sorted(failures, key=lambda f: (f.ts, f.machine))
    ]
    return "\n".join(rows) + "\n"


@dataclass
class _Run:
    """State shared by the day loop of one generation."""

    fleet: Fleet
    schedule: FailureSchedule
    seed: int
    bad_rate: float
    interval_minutes: int
    drift_start: date | None
    last_day: date
    summary: GenerationSummary
    carry: dict[date, list[_Carried]] = field(default_factory=lambda: defaultdict(list))
    opened: dict[date, list[_CdcEvent]] = field(default_factory=dict)

    def write(self, path: Path, data: bytes | memoryview | str) -> None:
        self.summary.paths.append(_write_atomic(path, data))

    def telemetry_day(self, day: date) -> None:
        """Simulate, render, splice faults and write one telemetry landing file + its truth."""
        readings = simulate_day(
            self.fleet,
            self.schedule.affecting(day),
            day,
            self.seed,
            self.interval_minutes,
            self.drift_start,
        )
        clean = render_telemetry(readings, self.fleet, day)
        rng = _rng(self.seed, _STREAM_FAULTS, day.toordinal())
        edits = _plan_telemetry_faults(clean, rng, self.bad_rate, day, self.last_day, self.carry)
        n = len(clean)
        arrived = [
            _Extra(int(c.where * n), c.line, c.kind, c.event_id) for c in self.carry.pop(day, [])
        ]
        edits.extras = arrived + edits.extras
        lines, truth = _assemble(clean, edits)
        landing = self.summary.landing_dir
        self.write(_day_folder(landing, "telemetry", day) / "events.jsonl", _text_bytes(lines))
        self.write(_truth_path(landing, "telemetry", day), _truth_jsonl(truth))
        self.summary.telemetry_lines[day] = len(lines)
        for t in truth:
            self.summary.telemetry_faults[t["kind"]] += 1

    def work_orders_day(self, day: date) -> None:
        """Write the CDC events whose op_ts falls on ``day`` (orders opened up to 3 days before)."""
        self.opened[day] = work_order_events(self.seed, day, self.fleet, self.schedule.on(day))
        for old in [d for d in self.opened if d < day - timedelta(days=3)]:
            del self.opened[old]
        day0 = _epoch(day)
        events = [e for evs in self.opened.values() for e in evs if day0 <= e.op_ts < day0 + _DAY_S]
        rng = _rng(self.seed, _STREAM_WO_FAULTS, day.toordinal())
        lines, truth = _cdc_day_lines(_with_lsn(events), rng, self.bad_rate)
        landing = self.summary.landing_dir
        self.write(_day_folder(landing, "work_orders", day) / "cdc.jsonl", "".join(lines))
        self.write(_truth_path(landing, "work_orders", day), _truth_jsonl(truth))
        self.summary.work_order_lines[day] = len(lines)
        for t in truth:
            self.summary.work_order_faults[t["kind"]] += 1


def generate(
    start: date,
    days: int,
    machines: int,
    seed: int = 7,
    bad_rate: float = 0.02,
    drift_start: date | None = None,
    interval_minutes: int = 5,
    landing_dir: Path | None = None,
    manual_models: int = 0,
) -> GenerationSummary:
    """Generate ``days`` landing days from ``start`` for ``machines`` machines.

    ``bad_rate`` is the share of telemetry lines that are faulty (spread evenly over
    :data:`TELEMETRY_FAULT_KINDS`; work-order files get ``bad_rate / 4``). ``drift_start`` shifts
    plant P2's pressure and temperature from that day on. The maintenance manuals of the same
    days are written too (:mod:`ml_tasks.manuals`), with ``manual_models`` synthetic machine
    models on top of the fleet's four. Same arguments, same bytes.
    """
    _validate(days, machines, seed, bad_rate, interval_minutes, manual_models)
    landing = Path(landing_dir) if landing_dir is not None else get_settings().landing_dir
    fleet = build_fleet(seed, machines)
    run = _Run(
        fleet=fleet,
        schedule=FailureSchedule(seed, machines),
        seed=seed,
        bad_rate=bad_rate,
        interval_minutes=interval_minutes,
        drift_start=drift_start,
        last_day=start + timedelta(days=days - 1),
        summary=GenerationSummary(start, days, machines, seed, landing),
    )
    run.write(landing / "reference" / "machines.csv", _machines_csv(fleet))
    failures: list[Failure] = []
    # In day order: late lines and next-day duplicates are carried forward to later days.
    for offset in range(days):
        day = start + timedelta(days=offset)
        run.telemetry_day(day)
        run.work_orders_day(day)
        failures += run.schedule.on(day)
    run.summary.failures = len(failures)
    run.write(landing / "_truth" / "failures.csv", _failures_csv(failures, fleet))
    manuals = write_manuals(landing, start=start, days=days, seed=seed, extra_models=manual_models)
    run.summary.manuals = manuals
    run.summary.paths += manuals.paths
    return run.summary


# --- Command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the generator's options (used by ``python -m ml_tasks generate``)."""
    parser.add_argument(
        "--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, required=True, help="number of days to generate")
    parser.add_argument("--machines", type=int, required=True, help="fleet size (at most 8999)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--bad-rate",
        type=float,
        default=0.02,
        help="share of faulty telemetry lines (default 0.02)",
    )
    parser.add_argument(
        "--drift-start",
        type=date.fromisoformat,
        default=None,
        help="from this day on, plant P2 sensors drift (pressure +2.5 bar, temperature +4 C)",
    )
    parser.add_argument(
        "--interval-minutes", type=int, default=5, help="minutes between readings (default 5)"
    )
    parser.add_argument(
        "--manual-models",
        type=int,
        default=0,
        help="synthetic machine models added to the maintenance manuals (default 0: the four "
        "fleet models only; 40 gives about 400 documents)",
    )
    parser.add_argument(
        "--landing-dir",
        type=Path,
        default=None,
        help="landing folder (default: settings landing_dir)",
    )


def main(args: argparse.Namespace) -> int:
    """Run :func:`generate` from parsed arguments and print a summary; 2 on bad arguments."""
    began = time.perf_counter()
    try:
        summary = generate(
            start=args.start,
            days=args.days,
            machines=args.machines,
            seed=args.seed,
            bad_rate=args.bad_rate,
            drift_start=args.drift_start,
            interval_minutes=args.interval_minutes,
            landing_dir=args.landing_dir,
            manual_models=args.manual_models,
        )
    except ValueError as error:
        print(f"generate: {error}", file=sys.stderr)
        return 2
    print(summary.describe())
    print(f"  took:        {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(
        prog="python -m ml_tasks.data.generate", description=__doc__.splitlines()[0]
    )
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
