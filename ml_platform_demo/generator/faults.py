"""Faults spliced into a day's telemetry file: corrupt lines, duplicates and late arrivals.

Python loops run only over the injected faults; every fault is recorded in the truth file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from ml_platform_demo.generator.contract import SENSORS, TELEMETRY_FAULT_KINDS
from ml_platform_demo.generator.jsonlines import json_line, truncate_line

NEXT_DAY_DUPLICATE_SHARE = 0.2
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

_LARGE = pa.large_string()


class Extra(NamedTuple):
    """A line inserted after clean row ``anchor`` of a day file (duplicate or late arrival)."""

    anchor: int
    line: str
    kind: str
    event_id: str | None


class Carried(NamedTuple):
    """A line bound for a later day's file, placed at fraction ``where`` of that file."""

    where: float
    line: str
    kind: str
    event_id: str | None


@dataclass
class DayEdits:
    """What to change in a day's clean lines: replacements, removals, insertions."""

    replaced: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)
    extras: list[Extra] = field(default_factory=list)


def fault_kinds(rng: np.random.Generator, k: int, n_kinds: int) -> np.ndarray:
    """``k`` kind indexes split evenly, shuffled; a random start so small k favours no kind."""
    return rng.permutation((np.arange(k) + rng.integers(n_kinds)) % n_kinds)


def _corrupt(
    record: dict[str, Any], line: str, kind: str, u: float, pick: int
) -> tuple[str, str | None]:
    """The faulty line replacing a clean one, and the event_id the truth file records."""
    event_id = record["event_id"]
    if kind == "malformed":
        return truncate_line(line, u), event_id
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
    return json_line(bad), event_id


def plan_telemetry_faults(
    clean: pa.Array,
    rng: np.random.Generator,
    bad_rate: float,
    day: date,
    last_day: date,
    carry: dict[date, list[Carried]],
) -> DayEdits:
    """Pick faulty rows of the day; late lines and next-day duplicates go into ``carry``."""
    edits = DayEdits()
    n = len(clean)
    k = int(rng.binomial(n, bad_rate)) if n and bad_rate > 0 else 0
    # Draw everything up front so the range end never changes what is drawn.
    rows = rng.choice(n, size=k, replace=False) if k else np.empty(0, dtype=np.int64)
    kinds = fault_kinds(rng, k, len(TELEMETRY_FAULT_KINDS))
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
                carry[day + timedelta(days=1)].append(Carried(b, line, kind, record["event_id"]))
            else:
                edits.extras.append(Extra(row + int(b * (n - row)), line, kind, record["event_id"]))
        elif kind == "late":
            delay = 1 + pick % 2
            if day + timedelta(days=delay) > last_day:
                delay = 1 if day < last_day else 0
            if delay:  # otherwise the range ends here: the event stays on time, as a clean line
                edits.removed.append(row)
                carry[day + timedelta(days=delay)].append(
                    Carried(b, line, kind, record["event_id"])
                )
        else:
            bad_line, event_id = _corrupt(record, line, kind, a, pick)
            edits.replaced[row] = (bad_line, kind, event_id)
    return edits


def assemble_day(clean: pa.Array, edits: DayEdits) -> tuple[pa.Array, list[dict[str, Any]]]:
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
