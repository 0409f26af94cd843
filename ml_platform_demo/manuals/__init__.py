"""Deterministic maintenance manuals (Markdown) of the plant's machines, changing day by day.

One troubleshooting manual per (machine model, failure code) with the sections of
:data:`CORE_SECTIONS`, general documents per model (preventive maintenance, lockout/tagout,
lubrication) and service bulletins that come and go. ``extra_models`` adds synthetic models so
a benchmark can grow the library to hundreds of documents. The golden query set in
``include/search/golden_queries.yaml`` is written from these facts.
"""

from __future__ import annotations

from ml_platform_demo.manuals.changes import CORRUPT_KINDS, DayChanges, Snapshot, snapshots
from ml_platform_demo.manuals.corpus import (
    ManualsSummary,
    day_changes,
    library,
    manuals_dir,
    truth_path,
    write_manuals,
)
from ml_platform_demo.manuals.documents import CORE_SECTIONS, core_doc_ids

__all__ = [
    "CORE_SECTIONS",
    "CORRUPT_KINDS",
    "DayChanges",
    "ManualsSummary",
    "Snapshot",
    "core_doc_ids",
    "day_changes",
    "library",
    "manuals_dir",
    "snapshots",
    "truth_path",
    "write_manuals",
]
