"""Data-quality checks of one interval's machine-hours, for the fleet and per slice.

Computed on every row of the interval (vectorised group-bys, no sampling: shares of rare events
need all of them), from the feature columns that carry them:

- **silent machine-hours**: ``reading_count_1h`` is 0 (the machine or its gateway sent nothing);
- **sensor nulls**: among the machine-hours that reported, the share without a value for a
  sensor (``<sensor>_mean_1h`` is null only when every reading of the hour lacked that sensor).
  A share of 1.0 is reported as the sensor being **all-null** in that slice;
- **out-of-range readings**: ``<sensor>_out_of_range_1h`` counts the readings the ELT quarantined
  as outside the data contract's physical range; the share is of that sensor's readings;
- **new categories**: plant, line or machine-model values the reference has never seen.

Every limit comes from the policy's ``quality`` section; each breach is one finding with the
slice, the check, the value and the limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ml_tasks.monitoring.drift import FLEET, slice_name
from ml_tasks.monitoring.policy import MonitoringPolicy

READING_COUNT = "reading_count_1h"


def quality_columns(policy: MonitoringPolicy) -> list[str]:
    """The feature columns the checks read."""
    columns = [READING_COUNT]
    for sensor in policy.quality.sensors:
        columns += [f"{sensor}_mean_1h", f"{sensor}_out_of_range_1h"]
    return columns


@dataclass
class SensorQuality:
    """One sensor in one slice."""

    sensor: str
    null_share: float
    all_null: bool
    out_of_range_share: float
    readings: int
    out_of_range: int


@dataclass
class SliceQuality:
    """Quality figures of one slice."""

    name: str
    rows: int
    machines: int
    silent_share: float
    sensors: list[SensorQuality] = field(default_factory=list)


@dataclass
class QualityResult:
    """All slices, new categories and the findings that breach the policy."""

    slices: list[SliceQuality]
    new_categories: dict[str, list[str]]
    findings: list[dict[str, Any]]
    reference_available: bool

    @property
    def breached(self) -> bool:
        return any(f["alarm"] for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["breached"] = self.breached
        return out


def _share(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _slice_figures(name: str, frame: Any, policy: MonitoringPolicy) -> SliceQuality:
    counts = frame[READING_COUNT].fillna(0)
    reporting = counts > 0
    rows = len(frame)
    figures = SliceQuality(
        name=name,
        rows=rows,
        machines=int(frame["machine_id"].nunique()) if "machine_id" in frame else 0,
        silent_share=_share(rows - int(reporting.sum()), rows),
    )
    readings = int(counts.sum())
    reporting_rows = int(reporting.sum())
    for sensor in policy.quality.sensors:
        mean = f"{sensor}_mean_1h"
        oor_column = f"{sensor}_out_of_range_1h"
        nulls = int(frame.loc[reporting, mean].isna().sum()) if mean in frame else reporting_rows
        oor = int(frame[oor_column].fillna(0).sum()) if oor_column in frame else 0
        null_share = _share(nulls, reporting_rows)
        figures.sensors.append(
            SensorQuality(
                sensor=sensor,
                null_share=null_share,
                all_null=reporting_rows > 0 and nulls == reporting_rows,
                out_of_range_share=_share(oor, readings + oor),
                readings=readings,
                out_of_range=oor,
            )
        )
    return figures


def _findings(figures: SliceQuality, policy: MonitoringPolicy) -> list[dict[str, Any]]:
    q = policy.quality
    found = []

    def add(check: str, value: float, limit: float, message: str, **extra: Any) -> None:
        found.append(
            {
                "kind": "data_quality",
                "slice": figures.name,
                "check": check,
                "value": round(value, 6),
                "limit": limit,
                "alarm": True,
                "message": message,
                **extra,
            }
        )

    if figures.silent_share > q.max_silent_share:
        add(
            "silent_share",
            figures.silent_share,
            q.max_silent_share,
            f"{figures.name}: {figures.silent_share:.1%} of machine-hours sent no reading "
            f"(limit {q.max_silent_share:.0%})",
        )
    for sensor in figures.sensors:
        if sensor.all_null:
            add(
                "all_null",
                1.0,
                q.max_null_share,
                f"{figures.name}: sensor {sensor.sensor} is all-null (no value in any reporting "
                "machine-hour)",
                sensor=sensor.sensor,
            )
        elif sensor.null_share > q.max_null_share:
            add(
                "null_share",
                sensor.null_share,
                q.max_null_share,
                f"{figures.name}: sensor {sensor.sensor} null in {sensor.null_share:.1%} of "
                f"reporting machine-hours (limit {q.max_null_share:.0%})",
                sensor=sensor.sensor,
            )
        if sensor.out_of_range_share > q.max_out_of_range_share:
            add(
                "out_of_range_share",
                sensor.out_of_range_share,
                q.max_out_of_range_share,
                f"{figures.name}: {sensor.out_of_range_share:.2%} of {sensor.sensor} readings out "
                f"of the contract's range (limit {q.max_out_of_range_share:.2%})",
                sensor=sensor.sensor,
            )
    return found


def check_quality(current: Any, reference: Any | None, policy: MonitoringPolicy) -> QualityResult:
    """Run every check on the interval's rows (``reference`` only for new categories)."""
    column = policy.slice_column
    figures = [_slice_figures(FLEET, current, policy)]
    if column and column in current.columns:
        for value, part in current.groupby(column, sort=True, dropna=True):
            figures.append(_slice_figures(slice_name(column, value), part, policy))
    findings = [f for fig in figures for f in _findings(fig, policy)]

    new_categories: dict[str, list[str]] = {}
    available = reference is not None and len(reference) > 0
    if reference is not None and available:
        for cat in policy.quality.categorical_columns:
            if cat not in current.columns or cat not in reference.columns:
                continue
            seen = set(reference[cat].dropna().astype(str))
            new = sorted(set(current[cat].dropna().astype(str)) - seen)
            if new:
                new_categories[cat] = new
                findings.append(
                    {
                        "kind": "data_quality",
                        "slice": FLEET,
                        "check": "new_category",
                        "column": cat,
                        "value": len(new),
                        "limit": 0,
                        "alarm": policy.quality.alarm_on_new_categories,
                        "message": f"{cat}: value(s) {new} not in the reference",
                    }
                )
    return QualityResult(
        slices=figures,
        new_categories=new_categories,
        findings=findings,
        reference_available=available,
    )
