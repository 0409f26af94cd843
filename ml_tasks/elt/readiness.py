"""Is a landing day's raw data there? The check behind the daily DAGs' wait-for-data sensors.

A landing partition ``<landing>/<source>/date=YYYY-MM-DD/`` is **complete** when it holds at
least one data file of its source's kind (``*.jsonl`` or ``*.jsonl.gz`` for telemetry and work
orders, as the ELT reads them; ``*.md`` for the manuals export). Writers publish each file with
an atomic rename (write to a temporary name, then ``os.replace``), so a file that is visible is
whole, and the folder appears with its first file. An empty file counts: a quiet day is still a
delivered day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from ml_tasks.elt.landing import LANDING_SUFFIXES
from ml_tasks.settings import Settings, get_settings

# Landing sources and the suffixes of their data files (the ELT's own list for the event streams).
SOURCE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "telemetry": LANDING_SUFFIXES,
    "work_orders": LANDING_SUFFIXES,
    "manuals": (".md",),
}
ELT_SOURCES = ("telemetry", "work_orders")


def landing_partition(landing_dir: Path, source: str, day: date) -> Path:
    """The folder that holds ``source``'s landing data for ``day``."""
    return landing_dir / source / f"date={day.isoformat()}"


def partition_complete(folder: Path, suffixes: tuple[str, ...]) -> bool:
    """True when ``folder`` holds at least one published data file ending in one of ``suffixes``."""
    if not folder.is_dir():
        return False
    return any(
        p.name.endswith(suffixes) and not p.name.startswith(".") and p.is_file()
        for p in folder.iterdir()
    )


def missing_landing(
    day: date, sources: Sequence[str] = ELT_SOURCES, settings: Settings | None = None
) -> list[str]:
    """The landing partitions of ``day`` that are not complete yet (empty: all there)."""
    s = settings or get_settings()
    missing = []
    for source in sources:
        if source not in SOURCE_SUFFIXES:
            raise ValueError(f"unknown landing source {source!r}; known: {sorted(SOURCE_SUFFIXES)}")
        folder = landing_partition(s.landing_dir, source, day)
        if not partition_complete(folder, SOURCE_SUFFIXES[source]):
            missing.append(str(folder))
    return missing
