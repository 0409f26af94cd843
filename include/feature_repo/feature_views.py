"""Feature views: the schema every computed partition is checked against before it is written.

``ml_tasks.features.compute`` casts each computed column to the type declared here and refuses
a partition whose values do not fit (a fraction in an Int64, an infinite float, a missing
column), so a bad value fails the computation, never the serving path.
"""

from __future__ import annotations

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Float64, Int64, String

from .data_sources import (
    machine_attributes_source,
    maintenance_history_source,
    telemetry_stats_source,
)
from .entities import machine

# The sensors of the telemetry contract (include/contracts/telemetry.yaml), with their units.
SENSORS = {
    "temperature_c": "temperature (deg C)",
    "vibration_mm_s": "vibration velocity (mm/s)",
    "pressure_bar": "pressure (bar)",
    "rotation_rpm": "rotation speed (rpm)",
    "power_kw": "power draw (kW)",
}
# Trailing windows, each ending (exclusive) at the row's feature_ts.
WINDOWS = ("1h", "24h")
STATISTICS = {
    "mean": "mean",
    "std": "sample standard deviation",
    "min": "minimum",
    "max": "maximum",
}


# The entity column, declared so Feast need not infer it from the parquet files at apply time.
MACHINE_ID = Field(name="machine_id", dtype=String, description="Machine id (entity key)")


def _telemetry_fields() -> list[Field]:
    fields = [MACHINE_ID]
    for window in WINDOWS:
        fields.append(
            Field(
                name=f"reading_count_{window}",
                dtype=Int64,
                description=f"Curated readings received in the last {window}",
            )
        )
    for sensor, label in SENSORS.items():
        for window in WINDOWS:
            for stat, stat_label in STATISTICS.items():
                fields.append(
                    Field(
                        name=f"{sensor}_{stat}_{window}",
                        dtype=Float64,
                        description=f"{stat_label.capitalize()} of {label} over the last {window}"
                        " (null without readings; std needs two)",
                    )
                )
            fields.append(
                Field(
                    name=f"{sensor}_out_of_range_{window}",
                    dtype=Int64,
                    description=f"Readings of {label} outside the contract's physical range in"
                    f" the last {window} (quarantined by the ELT)",
                )
            )
    return fields


# Rolling statistics of every sensor over the last hour and the last day, plus how many readings
# fell outside the sensor's physical range (a failing sensor often shows up there first).
# A row exists for every installed machine at every hour, even a silent one (counts 0, statistics
# null), so a 2 h ttl only hides rows when the feature pipeline itself stopped.
telemetry_stats = FeatureView(
    name="telemetry_stats",
    entities=[machine],
    ttl=timedelta(hours=2),
    schema=_telemetry_fields(),
    source=telemetry_stats_source,
    online=True,
    description="Per-machine sensor statistics over trailing 1 h and 24 h windows, hourly",
    owner="platform-ml",
    tags={"team": "reliability", "cadence": "hourly"},
)

# What the maintenance system knew about the machine at each hour: time since the last completed
# repair or preventive job, failure orders opened in the last 30 days, orders still open.
maintenance_history = FeatureView(
    name="maintenance_history",
    entities=[machine],
    ttl=timedelta(hours=2),
    schema=[
        MACHINE_ID,
        Field(
            name="hours_since_last_maintenance",
            dtype=Float64,
            description="Hours since the last closed failure or preventive work order"
            " (null if none on record)",
        ),
        Field(
            name="failures_30d",
            dtype=Int64,
            description="Failure work orders opened in the last 30 days (cancelled ones excluded)",
        ),
        Field(
            name="open_work_orders",
            dtype=Int64,
            description="Work orders open or in progress",
        ),
        Field(
            name="machine_age_days",
            dtype=Float64,
            description="Days since the machine's install date",
        ),
    ],
    source=maintenance_history_source,
    online=True,
    description="Per-machine maintenance history as known at each hour",
    owner="platform-ml",
    tags={"team": "reliability", "cadence": "hourly"},
)

# Where the machine stands and what it is: slices for evaluation and categorical model inputs.
machine_attributes = FeatureView(
    name="machine_attributes",
    entities=[machine],
    ttl=timedelta(days=2),
    schema=[
        MACHINE_ID,
        Field(name="plant_id", dtype=String, description="Plant the machine is installed in"),
        Field(name="line_id", dtype=String, description="Production line within the plant"),
        Field(name="machine_model", dtype=String, description="Machine model (type)"),
    ],
    source=machine_attributes_source,
    online=True,
    description="Static machine attributes from the asset register, snapshotted daily",
    owner="platform-ml",
    tags={"team": "reliability", "cadence": "daily"},
)
