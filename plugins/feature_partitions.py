"""Sensor: the offline feature partitions of the run's data interval exist.

Downstream jobs of the feature store (monitoring) start when the features of their day have
been computed, not at a fixed hour. Reschedule mode: the worker slot is free between pokes.

    FeaturePartitionsSensor(task_id="wait_for_features")
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator


class FeaturePartitionsSensor(BaseSensorOperator):
    """Succeeds when every feature view has its partition for ``data_interval_start``'s day."""

    def __init__(
        self,
        *,
        poke_interval: float = 300.0,
        timeout: float = timedelta(hours=6).total_seconds(),
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, mode=mode, **kwargs)

    def poke(self, context: Any) -> bool:
        from ml_tasks.monitoring.frames import missing_partitions

        day = context["data_interval_start"].date()
        missing = missing_partitions(day)
        if missing:
            self.log.info(
                "features of %s not ready: %d partitions missing, e.g. %s",
                day,
                len(missing),
                missing[0],
            )
        return not missing
