"""The Feast project and the entity every feature is keyed by."""

from __future__ import annotations

from feast import Entity, Project, ValueType

# The project groups every object below in the registry. The rendered feature_store.yaml names
# the same project (ml_tasks.features.store.PROJECT); a test keeps the two in step.
project = Project(
    name="predictive_maintenance",
    description="Features for predicting machine failures from telemetry and maintenance records",
    tags={"domain": "manufacturing", "owner": "platform-ml"},
)

# A machine on the factory floor. Its id (for example "M-0001") is the primary key used to
# join features in training and to look them up online.
machine = Entity(
    name="machine",
    join_keys=["machine_id"],
    value_type=ValueType.STRING,
    description="One machine of the fleet, as registered in the asset register (machines table)",
    owner="platform-ml",
    tags={"source": "curated.machines"},
)
