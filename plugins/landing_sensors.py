"""Sensor: a daily DAG's landing data for its day is complete (wait for data, do not fail).

The first task of a daily DAG. While the day's landing partitions are missing it waits
quietly in reschedule mode (the task shows ``up_for_reschedule``, the worker slot is free, no
retry, no alert); only after ``timeout`` (``PLATFORM_LANDING_WAIT_SECONDS``, default 6 h) does
it fail, once, and the DAG's failure callback raises one alert. "Complete" is defined in
:mod:`ml_tasks.elt.readiness`.

    # retries=0 explicitly (it beats the DAG's default_args): the only expected failure is
    # the timeout, which Airflow never retries anyway.
    LandingDataSensor(task_id="wait_for_landing", sources=("telemetry", "work_orders"), retries=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from airflow.sdk import BaseSensorOperator

POKE_INTERVAL_S = 300.0


def landing_wait_seconds() -> float:
    """The sensors' timeout from the platform settings (environment only: cheap at parse)."""
    from ml_tasks.settings import get_settings

    return float(get_settings().landing_wait_seconds)


class LandingDataSensor(BaseSensorOperator):
    """Succeeds when every source in ``sources`` has its landing partition for ``day``."""

    template_fields: Sequence[str] = ("day",)

    def __init__(
        self,
        *,
        sources: Sequence[str] = ("telemetry", "work_orders"),
        day: str = "{{ data_interval_start | ds }}",
        poke_interval: float = POKE_INTERVAL_S,
        timeout: float | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            poke_interval=poke_interval,
            timeout=landing_wait_seconds() if timeout is None else timeout,
            mode=mode,
            soft_fail=False,
            **kwargs,
        )
        self.sources = tuple(sources)
        self.day = day

    def poke(self, context: Any) -> bool:
        from ml_tasks.elt.readiness import missing_landing

        missing = missing_landing(date.fromisoformat(str(self.day)), self.sources)
        if missing:
            self.log.info(
                "landing data of %s not complete yet (%s); checking again in %.0f s",
                self.day,
                ", ".join(missing),
                self.poke_interval,
            )
        return not missing
