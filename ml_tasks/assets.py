"""Names and URIs of the data assets the DAGs produce and consume.

Plain strings, so DAG files build their ``Asset`` objects without reading settings at parse time.
Consumers schedule on the same URI the producer emits, which is what links the DAGs in the UI.
"""

from __future__ import annotations

CURATED_MACHINES = "delta://lake/machines"
CURATED_TELEMETRY = "delta://lake/telemetry"
CURATED_WORK_ORDERS = "delta://lake/work_orders"
