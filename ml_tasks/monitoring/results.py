"""What one daily monitoring run hands on: :class:`MonitoringDay`.

:meth:`ml_tasks.monitoring.pipeline.Monitor.run` returns it; the ``monitor_drift`` DAG pushes
:meth:`MonitoringDay.to_dict` through XCom (its alarm and retraining tasks, and the breach
notifier, read it back with :meth:`MonitoringDay.from_dict`); ``python -m ml_tasks drift``
prints it. The full summary of the day stays in its reports folder, MLflow run and drift-table
row. No heavy imports: the status module and the Airflow adapters read it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class DayVerdict:
    """The day's decision as logged by the run and shown as the task's note: a headline and
    its reasons (each with slice, column, statistic and threshold)."""

    headline: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MonitoringDay:
    """One monitored interval (a UTC day) of one model: the verdict and where its records are.

    Small enough for XCom; :meth:`to_dict` is the payload the DAG tasks and the CLI carry."""

    interval: str  # the day, ISO
    model_name: str
    model_version: str  # "none" before any champion (fixed-window reference)
    alias: str  # the reference's registry alias, "none" without a champion
    reference_kind: str  # champion_training_set | fixed_window
    reference_id: str
    breached: bool
    retrain: bool  # feature or prediction drift of the serving model: retraining requested
    kinds: list[str]  # breach kinds, sorted: feature_drift, prediction_drift, data_quality
    reasons: list[str]  # one message per reason
    drifted_columns: dict[str, list[str]]  # slice -> drifted columns (slices with any)
    share_drifted: float | None  # the fleet's drifted share; None when not evaluated
    prediction_available: bool
    rows: dict[str, int]  # current, compared, reference
    report_dir: str
    html_reports: list[str]
    mlflow_run_id: str | None
    timings: dict[str, float]  # seconds per step, and total
    # Set by the run once the decision is logged (Monitor.run returns it filled in).
    verdict: DayVerdict = field(default_factory=DayVerdict)

    def to_dict(self) -> dict[str, Any]:
        """The XCom / JSON payload (the verdict as ``{"headline", "lines"}``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringDay:
        """Back from :meth:`to_dict` (e.g. an XCom pull); keys it does not know are ignored."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "verdict" in values:
            values["verdict"] = DayVerdict(**values["verdict"])
        return cls(**values)
