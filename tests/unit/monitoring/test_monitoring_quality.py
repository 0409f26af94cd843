"""Data-quality checks: all-null sensors, silent machines, out-of-range shares, new categories."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ml_tasks.monitoring.quality import check_quality
from tests.monitoring_frames import machine_hours

DAY = date(2026, 10, 8)


def _checks(findings, **match):
    return [f for f in findings if all(f.get(k) == v for k, v in match.items())]


def test_clean_day_has_no_findings(policy):
    result = check_quality(machine_hours(DAY), machine_hours(date(2026, 10, 1)), policy)
    assert result.findings == []
    assert not result.breached
    fleet = result.slices[0]
    assert fleet.name == "all" and fleet.rows == 40 * 24 and fleet.machines == 40
    assert [s.name for s in result.slices[1:]] == [f"plant_id=P{i}" for i in range(1, 5)]


def test_a_sensor_that_goes_all_null_is_reported_as_all_null(policy):
    current = machine_hours(DAY)
    on_p3 = current["plant_id"] == "P3"
    for stat in ("mean", "std", "min", "max"):
        current.loc[on_p3, f"pressure_bar_{stat}_1h"] = np.nan
    result = check_quality(current, machine_hours(date(2026, 10, 1)), policy)
    assert result.breached
    [finding] = _checks(result.findings, check="all_null")
    assert finding["slice"] == "plant_id=P3" and finding["sensor"] == "pressure_bar"
    assert "all-null" in finding["message"]
    p3 = next(s for s in result.slices if s.name == "plant_id=P3")
    pressure = next(s for s in p3.sensors if s.sensor == "pressure_bar")
    assert pressure.all_null and pressure.null_share == pytest.approx(1.0)
    # Fleet-wide a quarter of the machine-hours lack it: over the 20 % null limit.
    [fleet] = _checks(result.findings, check="null_share", slice="all")
    assert fleet["value"] == pytest.approx(0.25)


def test_silent_machines_are_not_counted_as_sensor_nulls(policy):
    current = machine_hours(DAY)
    down = current["machine_id"].isin(["M-0001", "M-0005", "M-0009"])  # all on P1
    current.loc[down, "reading_count_1h"] = 0
    for column in [c for c in current.columns if c.endswith(("_mean_1h", "_std_1h"))]:
        current.loc[down, column] = np.nan
    result = check_quality(current, None, policy)
    p1 = next(s for s in result.slices if s.name == "plant_id=P1")
    assert p1.silent_share == pytest.approx(0.3)
    assert [s.null_share for s in p1.sensors] == pytest.approx([0.0] * 5)
    [finding] = _checks(result.findings, check="silent_share")
    assert finding["slice"] == "plant_id=P1"


def test_out_of_range_share_and_new_categories(policy):
    current = machine_hours(DAY)
    current.loc[current.index[:100], "temperature_c_out_of_range_1h"] = 2  # 200 of ~11.7k
    current.loc[current["plant_id"] == "P4", "plant_id"] = "P5"
    result = check_quality(current, machine_hours(date(2026, 10, 1)), policy)
    [oor] = _checks(result.findings, check="out_of_range_share", slice="all")
    assert oor["sensor"] == "temperature_c" and 0.01 < oor["value"] < 0.02
    assert result.new_categories == {"plant_id": ["P5"]}
    assert _checks(result.findings, check="new_category", alarm=True)
