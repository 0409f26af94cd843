"""The offline store's layout: which views exist, where each day of each view lives, and how a
day is written, found and read back.

Every stage that touches the offline store goes through here: :mod:`ml_tasks.features.compute`
writes the partitions, :mod:`ml_tasks.features.store` materializes them, training
(:mod:`ml_tasks.features.training`) and monitoring (:mod:`ml_tasks.monitoring.frames`) read
them, and the Feast sources in ``include/feature_repo/data_sources.py`` point at the same
folders. One day of one view is one parquet file ``<root>/<view>/feature_date=YYYY-MM-DD/
data.parquet`` (hive partitioning), replaced atomically.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings

ENTITY = "machine_id"
TIMESTAMP = "feature_ts"
PARTITION = "feature_date"
VIEWS = ("telemetry_stats", "maintenance_history", "machine_attributes")
PARTITION_FILE = "data.parquet"


def days_between(start: date, end: date) -> list[date]:
    """Every day of ``[start, end]``."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def interval_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC ``[start 00:00, end + 1 day 00:00)`` of a day range."""
    return (
        datetime.combine(start, dtime.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), dtime.min, tzinfo=UTC),
    )


def view_uri(settings: Settings, view: str) -> str:
    """The folder holding every day of one view."""
    return f"{settings.offline_store_uri.rstrip('/')}/{view}"


def partition_uri(settings: Settings, view: str, day: date) -> str:
    """Where one day of one view lives in the offline store."""
    return f"{view_uri(settings, view)}/{PARTITION}={day}/{PARTITION_FILE}"


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def write_partition(settings: Settings, view: str, day: date, table: Any) -> str:
    """Replace one day of one view (an Arrow table) atomically; returns its URI."""
    import pyarrow.parquet as pq

    uri = partition_uri(settings, view, day)
    if _is_remote(uri):
        # Object storage: a single PUT is atomic, readers see the old or the new object.
        from pyarrow import fs

        filesystem, path = fs.FileSystem.from_uri(uri)
        pq.write_table(table, path, filesystem=filesystem)
        return uri
    final = Path(uri.removeprefix("file://"))
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a killed run
    # Dot-prefixed, not *.parquet: readers (pyarrow, Feast's DuckDB store) skip it meanwhile.
    tmp = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return str(final)


def missing_partitions(settings: Settings, start: date, end: date) -> list[str]:
    """Offline partitions of ``[start, end]`` (every view) that have not been computed."""
    missing = []
    for view in VIEWS:
        for day in days_between(start, end):
            uri = partition_uri(settings, view, day)
            if _is_remote(uri):
                from pyarrow import fs

                filesystem, path = fs.FileSystem.from_uri(uri)
                if filesystem.get_file_info(path).type == fs.FileType.NotFound:
                    missing.append(uri)
            elif not Path(uri.removeprefix("file://")).exists():
                missing.append(uri)
    return missing


def feature_rows(settings: Settings, view: str, start: date, end: date) -> Any:
    """The offline rows (an Arrow table) of one view for ``[start, end]``."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(view_uri(settings, view), format="parquet", partitioning="hive")
    table = dataset.to_table(
        filter=(ds.field(PARTITION) >= str(start)) & (ds.field(PARTITION) <= str(end))
    )
    return table.drop_columns([PARTITION]) if PARTITION in table.column_names else table
