"""The manuals library as files: one snapshot per day in the landing zone, plus the truth.

Layout written under ``landing_dir``::

    manuals/date=YYYY-MM-DD/<doc_id>.md          the full library as of that day
    _truth/manuals/date=YYYY-MM-DD.json          added / edited / removed / corrupt / restored

Same (seed, start, day, extra_models), same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ml_platform_demo.manuals.changes import CORRUPT_KINDS, DayChanges, snapshots
from ml_platform_demo.manuals.synthetic import MAX_EXTRA_MODELS


def manuals_dir(landing_dir: Path, day: date) -> Path:
    """The folder holding the library snapshot of ``day``."""
    return Path(landing_dir) / "manuals" / f"date={day.isoformat()}"


def truth_path(landing_dir: Path, day: date) -> Path:
    """The truth file of ``day``: what changed since the previous day."""
    return Path(landing_dir) / "_truth" / "manuals" / f"date={day.isoformat()}.json"


def _validate(start: date, day: date, seed: int, extra_models: int) -> None:
    if day < start:
        raise ValueError(f"day {day} is before the start day {start}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative 63-bit integer, got {seed}")
    if not 0 <= extra_models <= MAX_EXTRA_MODELS:
        raise ValueError(
            f"extra_models must be between 0 and {MAX_EXTRA_MODELS}, got {extra_models}"
        )


def library(day: date, *, seed: int = 7, start: date, extra_models: int = 0) -> dict[str, bytes]:
    """doc_id -> file bytes of the library as of ``day`` (corrupt files included)."""
    _validate(start, day, seed, extra_models)
    last = deque(snapshots(start, day, seed=seed, extra_models=extra_models), maxlen=1)[0]
    return last.files()


def day_changes(day: date, *, seed: int = 7, start: date, extra_models: int = 0) -> DayChanges:
    """What changed on ``day`` relative to the day before (the truth file's content)."""
    _validate(start, day, seed, extra_models)
    last = deque(snapshots(start, day, seed=seed, extra_models=extra_models), maxlen=1)[0]
    return last.changes


@dataclass
class ManualsSummary:
    """What one :func:`write_manuals` call wrote."""

    start: date
    days: int
    seed: int
    extra_models: int
    landing_dir: Path
    documents: dict[date, int] = field(default_factory=dict)  # documents per day
    added: int = 0
    edited: int = 0
    removed: int = 0
    corrupt: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CORRUPT_KINDS, 0))
    paths: list[Path] = field(default_factory=list)

    @property
    def end(self) -> date:
        """The last written day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def describe(self) -> str:
        """One line for the generator's report."""
        corrupt = ", ".join(f"{kind} {n}" for kind, n in self.corrupt.items())
        last = self.documents.get(self.end, 0)
        return (
            f"{last} documents on {self.end} ({self.extra_models} extra models), "
            f"{self.added} added, {self.edited} edited, {self.removed} removed, "
            f"{sum(self.corrupt.values())} corrupt ({corrupt})"
        )


def _write_day(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write a full snapshot next to ``folder``, then swap it in: never a half-written day."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of a killed run for this day (temp or old folders) go first.
    for stale in folder.parent.glob(f".{folder.name}.*"):
        shutil.rmtree(stale)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    old = folder.parent / f".{folder.name}.{os.getpid()}.old"
    try:
        tmp.mkdir()
        for doc_id, data in files.items():
            (tmp / f"{doc_id}.md").write_bytes(data)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return [folder / f"{doc_id}.md" for doc_id in files]


def _write_json(path: Path, record: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_manuals(
    landing_dir: Path, *, start: date, days: int, seed: int = 7, extra_models: int = 0
) -> ManualsSummary:
    """Write the full library snapshot and the truth file of each day from ``start``."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    end = start + timedelta(days=days - 1)
    _validate(start, end, seed, extra_models)
    summary = ManualsSummary(start, days, seed, extra_models, Path(landing_dir))
    kinds: Counter[str] = Counter()
    for snapshot in snapshots(start, end, seed=seed, extra_models=extra_models):
        changes = snapshot.changes
        summary.paths += _write_day(manuals_dir(landing_dir, snapshot.day), snapshot.files())
        summary.paths.append(_write_json(truth_path(landing_dir, snapshot.day), changes.truth()))
        summary.documents[snapshot.day] = len(snapshot.documents)
        summary.added += len(changes.added)
        summary.edited += len(changes.edited)
        summary.removed += len(changes.removed)
        kinds.update(changes.corrupt.values())
    summary.corrupt.update(kinds)
    return summary
