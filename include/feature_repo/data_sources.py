"""Offline sources: the parquet partitions ``ml_tasks.features.compute`` writes.

Each source is a folder of Hive-style partitions ``feature_date=YYYY-MM-DD/data.parquet``, one
partition per data interval, replaced atomically when an interval is recomputed. Paths here are
relative to the offline store root; ``ml_tasks.features.store`` binds them to the configured root
(``PLATFORM_OFFLINE_STORE_URI``) before registering.
"""

from __future__ import annotations

from feast import FileSource
from feast.data_format import ParquetFormat

# Hourly per-machine statistics of the five sensors over trailing 1 h and 24 h windows.
# ``feature_ts`` is the end of the window (exclusive): the row at 10:00 summarises readings taken
# in [09:00, 10:00) and [10:00 the day before, 10:00), so it never contains a reading from 10:00 on.
telemetry_stats_source = FileSource(
    name="telemetry_stats_source",
    path="telemetry_stats",
    timestamp_field="feature_ts",
    file_format=ParquetFormat(),
    description="Windowed sensor statistics per machine on an hourly grid (curated.telemetry)",
    owner="platform-ml",
)

# Hourly per-machine maintenance history, reconstructed from the work-order change log as it
# was known at ``feature_ts`` (changes logged at or after ``feature_ts`` are not visible).
maintenance_history_source = FileSource(
    name="maintenance_history_source",
    path="maintenance_history",
    timestamp_field="feature_ts",
    file_format=ParquetFormat(),
    description="Maintenance history per machine on an hourly grid (curated.work_orders_history)",
    owner="platform-ml",
)

# Daily snapshot of the asset register: one row per machine at 00:00 UTC of each interval.
machine_attributes_source = FileSource(
    name="machine_attributes_source",
    path="machine_attributes",
    timestamp_field="feature_ts",
    file_format=ParquetFormat(),
    description="Static machine attributes, snapshotted daily (curated.machines)",
    owner="platform-ml",
)
