"""The demo data generator: determinism, injected faults versus the truth files, and physics."""

from __future__ import annotations

import argparse
import csv
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml_platform_demo.generate import (
    SENSOR_RANGES,
    SENSORS,
    TELEMETRY_FAULT_KINDS,
    WORK_ORDER_FAULT_KINDS,
    GenerationSummary,
    add_arguments,
    generate,
    main,
)

START = date(2026, 10, 1)
TELEMETRY_KEYS = ["event_id", "machine_id", "event_ts", *SENSORS]
CDC_KEYS = [
    "lsn",
    "op",
    "op_ts",
    "work_order_id",
    "machine_id",
    "order_type",
    "status",
    "opened_ts",
    "closed_ts",
    "failure_code",
    "component",
    "technician",
]
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# --- helpers ------------------------------------------------------------------------------


def _generate(landing: Path, **overrides: Any) -> GenerationSummary:
    """A small generation: 2 days x 5 machines, hourly readings, unless overridden."""
    kwargs: dict[str, Any] = {
        "start": START,
        "days": 2,
        "machines": 5,
        "interval_minutes": 60,
        "landing_dir": landing,
    }
    kwargs.update(overrides)
    return generate(**kwargs)


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


def _lines(landing: Path, source: str, day: date) -> list[str]:
    name = "events.jsonl" if source == "telemetry" else "cdc.jsonl"
    text = (landing / source / f"date={day.isoformat()}" / name).read_text()
    assert text == "" or text.endswith("\n")
    return text.splitlines()


def _truth(landing: Path, source: str, day: date) -> list[dict[str, Any]]:
    path = landing / "_truth" / source / f"date={day.isoformat()}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _known_machines(landing: Path) -> set[str]:
    with open(landing / "reference" / "machines.csv", newline="") as handle:
        return {row["machine_id"] for row in csv.DictReader(handle)}


def _parse_ts(value: Any) -> datetime | None:
    try:
        return datetime.strptime(value, TS_FORMAT)
    except (TypeError, ValueError):
        return None


def _clean_event(line: str, known: set[str]) -> dict[str, Any]:
    """Parse a line and assert it is a valid, in-range telemetry event."""
    record = json.loads(line)
    assert list(record) == TELEMETRY_KEYS
    assert re.fullmatch(r"[0-9a-f]{16}", record["event_id"])
    assert record["machine_id"] in known
    assert _parse_ts(record["event_ts"]) is not None
    assert sum(record[s] is None for s in SENSORS) <= 1  # at most one sensor dropout
    for sensor in SENSORS:
        value = record[sensor]
        if value is not None:
            assert type(value) is float, (sensor, value)
            low, high = SENSOR_RANGES[sensor]
            assert low < value < high, (sensor, value)
            assert round(value, 3) == value
    return record


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _telemetry_frame(landing: Path, days: int) -> pd.DataFrame:
    frames = [
        pd.DataFrame([json.loads(x) for x in _lines(landing, "telemetry", _day(i))])
        for i in range(days)
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame["event_ts"] = pd.to_datetime(frame["event_ts"])
    return frame


def _cdc_records(landing: Path, days: int) -> list[dict[str, Any]]:
    return [json.loads(x) for i in range(days) for x in _lines(landing, "work_orders", _day(i))]


# --- determinism --------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    _generate(tmp_path / "a", seed=11, bad_rate=0.1, drift_start=_day(1))
    _generate(tmp_path / "b", seed=11, bad_rate=0.1, drift_start=_day(1))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first == second
    assert "telemetry/date=2026-10-02/events.jsonl" in first
    assert not any(".tmp" in name for name in first)  # temp files were renamed away


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    _generate(tmp_path / "a", seed=1)
    _generate(tmp_path / "b", seed=2)
    day = "telemetry/date=2026-10-01/events.jsonl"
    assert _files(tmp_path / "a")[day] != _files(tmp_path / "b")[day]


def test_a_day_does_not_depend_on_the_range_length(tmp_path: Path) -> None:
    _generate(tmp_path / "short", days=3, bad_rate=0.1)
    _generate(tmp_path / "long", days=5, bad_rate=0.1)
    # Day 1's late lines go at most 2 days ahead: inside both ranges, so the file is the same.
    name = "telemetry/date=2026-10-01/events.jsonl"
    assert _files(tmp_path / "short")[name] == _files(tmp_path / "long")[name]


def test_regenerating_overwrites_day_files(tmp_path: Path) -> None:
    _generate(tmp_path, seed=1, bad_rate=0.2)
    summary = _generate(tmp_path, seed=1, bad_rate=0.0)
    assert _truth(tmp_path, "telemetry", _day(0)) == []
    assert all(p.exists() for p in summary.paths)
    assert not list(tmp_path.rglob("*.tmp"))


# --- clean data ---------------------------------------------------------------------------


def test_bad_rate_zero_gives_only_valid_in_range_data(tmp_path: Path) -> None:
    summary = _generate(tmp_path, bad_rate=0.0, interval_minutes=5)
    known = _known_machines(tmp_path)
    assert known == {f"M-{i:04d}" for i in range(1, 6)}
    ids: set[str] = set()
    dropouts = total = 0
    for offset in range(2):
        day = _day(offset)
        assert _truth(tmp_path, "telemetry", day) == []
        assert _truth(tmp_path, "work_orders", day) == []
        for line in _lines(tmp_path, "telemetry", day):
            record = _clean_event(line, known)
            ts = _parse_ts(record["event_ts"])
            assert ts is not None and ts.date() == day
            assert ts.minute % 5 == 0 and ts.second <= 5  # aligned slots, small jitter
            ids.add(record["event_id"])
            dropouts += any(record[s] is None for s in SENSORS)
            total += 1
    assert len(ids) == total == sum(summary.telemetry_lines.values())
    assert total > 0.9 * 2 * 288 * 5  # every machine reports every slot (minus downtime)
    assert 0 < dropouts < 0.01 * total  # ~0.2% sensor dropouts
    assert sum(summary.telemetry_faults.values()) == 0


def test_machines_csv_is_the_reference(tmp_path: Path) -> None:
    _generate(tmp_path, machines=9, days=1)
    with open(tmp_path / "reference" / "machines.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["machine_id", "plant_id", "line_id", "machine_model", "install_date"]
    assert [r["machine_id"] for r in rows] == [f"M-{i:04d}" for i in range(1, 10)]
    assert {r["plant_id"] for r in rows} == {"P1", "P2", "P3", "P4"}
    for row in rows:
        assert row["line_id"].startswith(row["plant_id"] + "-L")
        assert row["machine_model"] in {"CNC-A", "CNC-B", "PRESS-X", "PUMP-C"}
        date.fromisoformat(row["install_date"])


# --- telemetry faults ---------------------------------------------------------------------


def _check_fault(kind: str, line: str, day: date, known: set[str], seen: dict[str, str]) -> None:
    """Assert ``line`` really shows the fault ``kind``; ``seen`` maps event_id to earlier lines."""
    if kind == "malformed":
        assert not _is_json(line)
        return
    record = json.loads(line)
    assert list(record) == TELEMETRY_KEYS
    if kind == "wrong_type":
        assert any(isinstance(record[s], str) for s in SENSORS)
    elif kind == "null_key":
        assert any(record[k] is None for k in ("event_id", "machine_id", "event_ts"))
    elif kind == "out_of_range":
        assert any(
            isinstance(record[s], float)
            and not SENSOR_RANGES[s][0] <= record[s] <= SENSOR_RANGES[s][1]
            for s in SENSORS
        )
    elif kind == "unknown_machine":
        assert record["machine_id"] not in known
        assert re.fullmatch(r"M-9\d{3}", record["machine_id"])
    elif kind == "bad_timestamp":
        assert isinstance(record["event_ts"], str) and _parse_ts(record["event_ts"]) is None
    elif kind == "duplicate":
        _clean_event(line, known)
        assert seen.get(record["event_id"]) == line  # an exact copy of an earlier line
    elif kind == "late":
        _clean_event(line, known)
        ts = _parse_ts(record["event_ts"])
        assert ts is not None and 1 <= (day - ts.date()).days <= 2
    else:
        pytest.fail(f"unexpected fault kind {kind}")


def test_every_fault_kind_is_injected_and_matches_the_truth(tmp_path: Path) -> None:
    days = 3
    summary = _generate(tmp_path, days=days, bad_rate=0.3)
    known = _known_machines(tmp_path)
    assert all(summary.telemetry_faults[kind] > 0 for kind in TELEMETRY_FAULT_KINDS)
    seen: dict[str, str] = {}  # event_id -> line, over all days so far
    truth_total = line_total = 0
    for offset in range(days):
        day = _day(offset)
        lines = _lines(tmp_path, "telemetry", day)
        truth = {t["line_no"]: t for t in _truth(tmp_path, "telemetry", day)}
        assert all(1 <= n <= len(lines) for n in truth)
        for line_no, line in enumerate(lines, start=1):
            fault = truth.get(line_no)
            if fault is None:
                record = _clean_event(line, known)
                assert _parse_ts(record["event_ts"]).date() == day  # on time
                assert record["event_id"] not in seen  # the only copy so far
                seen[record["event_id"]] = line
                continue
            assert fault["kind"] in TELEMETRY_FAULT_KINDS
            _check_fault(fault["kind"], line, day, known, seen)
            if fault["kind"] == "late":
                assert fault["event_id"] not in seen  # its clean copy was not emitted on time
                seen[fault["event_id"]] = line
            elif fault["kind"] != "null_key" and fault["kind"] != "malformed":
                assert json.loads(line)["event_id"] == fault["event_id"]
        truth_total += len(truth)
        line_total += len(lines)
        assert summary.telemetry_lines[day] == len(lines)
    assert sum(summary.telemetry_faults.values()) == truth_total
    assert 0.2 < truth_total / line_total < 0.4  # close to bad_rate


def test_late_events_land_in_a_later_folder_with_an_earlier_event_ts(tmp_path: Path) -> None:
    _generate(tmp_path, days=4, bad_rate=0.3)
    late = []
    for offset in range(4):
        day = _day(offset)
        lines = _lines(tmp_path, "telemetry", day)
        for fault in _truth(tmp_path, "telemetry", day):
            if fault["kind"] == "late":
                record = json.loads(lines[fault["line_no"] - 1])
                late.append((day, _parse_ts(record["event_ts"]).date(), record["event_id"]))
    assert late
    assert all(1 <= (folder - event_day).days <= 2 for folder, event_day, _ in late)
    assert {(folder - event_day).days for folder, event_day, _ in late} == {1, 2}
    assert all(folder > START for folder, _, _ in late)  # nothing lands before the range
    # The clean copy is nowhere else: each late event_id occurs exactly once in all files.
    all_ids = [
        json.loads(line).get("event_id")
        for offset in range(4)
        for line in _lines(tmp_path, "telemetry", _day(offset))
        if _is_json(line)
    ]
    assert all(all_ids.count(event_id) == 1 for _, _, event_id in late)


def test_duplicates_land_mostly_in_the_same_day_some_in_the_next(tmp_path: Path) -> None:
    _generate(tmp_path, days=2, machines=20, bad_rate=0.4)
    first_day = {
        json.loads(x)["event_id"]: x for x in _lines(tmp_path, "telemetry", _day(0)) if _is_json(x)
    }
    same_day = next_day = 0
    for offset in range(2):
        lines = _lines(tmp_path, "telemetry", _day(offset))
        for fault in _truth(tmp_path, "telemetry", _day(offset)):
            if fault["kind"] != "duplicate":
                continue
            line = lines[fault["line_no"] - 1]
            copies = [n for n, x in enumerate(lines, 1) if x == line]
            if copies[0] < fault["line_no"]:
                same_day += 1  # the original sits earlier in the same file
            else:
                assert offset == 1 and first_day[fault["event_id"]] == line
                next_day += 1
    assert same_day > next_day > 0


def test_no_late_or_duplicate_line_lands_outside_the_range(tmp_path: Path) -> None:
    summary = _generate(tmp_path, days=1, bad_rate=0.4)
    assert summary.telemetry_faults["late"] == 0  # kept on time: no later day in range
    assert summary.telemetry_faults["duplicate"] > 0  # all in the same day's file
    assert sorted(p.name for p in (tmp_path / "telemetry").iterdir()) == ["date=2026-10-01"]


# --- work orders --------------------------------------------------------------------------


def test_work_orders_are_consistent_cdc(tmp_path: Path) -> None:
    days = 10
    _generate(tmp_path, days=days, machines=40, interval_minutes=1440, bad_rate=0.0)
    known = _known_machines(tmp_path)
    records = _cdc_records(tmp_path, days)
    assert records
    lsns = [r["lsn"] for r in records]
    assert lsns == sorted(lsns) and len(set(lsns)) == len(lsns)  # strictly increasing
    assert [r["op_ts"] for r in records] == sorted(r["op_ts"] for r in records)
    inserted: dict[str, dict[str, Any]] = {}
    for r in records:
        assert list(r) == CDC_KEYS
        if r["op"] == "delete":
            assert all(r[k] is None for k in CDC_KEYS[4:])
            assert inserted[r["work_order_id"]]["order_type"] == "preventive"
            continue
        assert r["machine_id"] in known
        assert r["order_type"] in {"failure", "preventive", "inspection"}
        assert r["status"] in {"open", "in_progress", "closed", "cancelled"}
        assert re.fullmatch(r"WO-\d{10}", r["work_order_id"])
        if r["op"] == "insert":
            assert r["status"] == "open" and r["technician"] is None
            inserted[r["work_order_id"]] = r
        else:
            assert r["op"] == "update" and r["work_order_id"] in inserted
        if r["status"] == "closed":
            assert r["closed_ts"] == r["op_ts"] and r["technician"]
        if r["order_type"] == "failure":
            assert re.fullmatch(r"F0[1-6]", r["failure_code"])
            assert r["component"] in {"bearing", "motor", "seal", "spindle", "hydraulics", "sensor"}
    with open(tmp_path / "_truth" / "failures.csv", newline="") as handle:
        failures = {(f["machine_id"], f["failure_ts"]) for f in csv.DictReader(handle)}
    failure_inserts = {
        (r["machine_id"], r["opened_ts"])
        for r in records
        if r["op"] == "insert" and r["order_type"] == "failure"
    }
    assert failures and failures == failure_inserts
    types = {r["order_type"] for r in records if r["op"] == "insert"}
    assert types == {"failure", "preventive", "inspection"}


def test_work_order_faults_match_the_truth(tmp_path: Path) -> None:
    days = 10
    summary = _generate(tmp_path, days=days, machines=60, interval_minutes=1440, bad_rate=0.5)
    assert all(summary.work_order_faults[kind] > 0 for kind in WORK_ORDER_FAULT_KINDS)
    for offset in range(days):
        day = _day(offset)
        lines = _lines(tmp_path, "work_orders", day)
        truth = {t["line_no"]: t for t in _truth(tmp_path, "work_orders", day)}
        valid = [
            json.loads(x) for n, x in enumerate(lines, 1) if truth.get(n, {}).get("kind") is None
        ]
        lsns = [r["lsn"] for r in valid]
        assert lsns == sorted(lsns)  # untouched lines stay in lsn order
        for line_no, fault in truth.items():
            line = lines[line_no - 1]
            if fault["kind"] == "malformed":
                assert not _is_json(line)
                continue
            record = json.loads(line)
            assert record["lsn"] == fault["event_id"]
            if fault["kind"] == "unknown_op":
                assert record["op"] == "upsert"
            else:
                assert fault["kind"] == "out_of_order" and record["op"] == "update"
                insert_line = next(
                    n
                    for n, x in enumerate(lines, 1)
                    if _is_json(x)
                    and json.loads(x)["op"] == "insert"
                    and json.loads(x)["work_order_id"] == record["work_order_id"]
                )
                assert line_no < insert_line  # appears before its own insert


# --- physics ------------------------------------------------------------------------------


def test_drift_shifts_plant_p2_from_drift_start_only(tmp_path: Path) -> None:
    days, drift_day = 4, _day(2)
    _generate(tmp_path / "base", days=days, machines=8, bad_rate=0.0)
    _generate(tmp_path / "drift", days=days, machines=8, bad_rate=0.0, drift_start=drift_day)
    with open(tmp_path / "base" / "reference" / "machines.csv", newline="") as handle:
        p2 = {r["machine_id"] for r in csv.DictReader(handle) if r["plant_id"] == "P2"}
    assert p2
    shifted = 0
    for offset in range(days):
        day = _day(offset)
        base = _lines(tmp_path / "base", "telemetry", day)
        drift = _lines(tmp_path / "drift", "telemetry", day)
        assert len(base) == len(drift)
        for before, after in zip(base, drift, strict=True):
            a, b = json.loads(before), json.loads(after)
            if day < drift_day or a["machine_id"] not in p2:
                assert before == after
                continue
            assert b["pressure_bar"] - a["pressure_bar"] == pytest.approx(2.5, abs=0.002)
            assert b["temperature_c"] - a["temperature_c"] == pytest.approx(4.0, abs=0.002)
            assert b["vibration_mm_s"] == a["vibration_mm_s"]
            shifted += 1
    assert shifted > 0


@pytest.fixture(scope="module")
def fleet_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, list[dict]]:
    """Two weeks of clean hourly data for 20 machines, and its work-order events."""
    landing = tmp_path_factory.mktemp("history")
    generate(START, 14, 20, seed=3, bad_rate=0.0, interval_minutes=60, landing_dir=landing)
    return _telemetry_frame(landing, 14), _cdc_records(landing, 14)


def test_vibration_rises_before_a_failure(fleet_history: tuple[pd.DataFrame, list[dict]]) -> None:
    frame, records = fleet_history
    failures = [
        (r["machine_id"], pd.Timestamp(r["opened_ts"]))
        for r in records
        if r["op"] == "insert" and r["order_type"] == "failure"
    ]
    first = frame["event_ts"].min()
    checked = 0
    for machine, ts in failures:
        if ts - pd.Timedelta(hours=24) < first:
            continue
        rows = frame[frame["machine_id"] == machine]
        before = rows[(rows["event_ts"] >= ts - pd.Timedelta(hours=24)) & (rows["event_ts"] < ts)]
        degrading = pd.Series(False, index=rows.index)
        for other, other_ts in failures:
            if other == machine:
                window = (rows["event_ts"] >= other_ts - pd.Timedelta(hours=36)) & (
                    rows["event_ts"] < other_ts + pd.Timedelta(hours=12)
                )
                degrading |= window
        normal = rows.loc[~degrading, "vibration_mm_s"].mean()
        assert before["vibration_mm_s"].mean() > 1.3 * normal, (machine, ts)
        assert before["temperature_c"].mean() > rows.loc[~degrading, "temperature_c"].mean() + 3
        checked += 1
    assert checked >= 2


def test_machine_is_down_until_the_failure_order_closes(
    fleet_history: tuple[pd.DataFrame, list[dict]],
) -> None:
    frame, records = fleet_history
    closed = {
        r["work_order_id"]: pd.Timestamp(r["closed_ts"])
        for r in records
        if r["order_type"] == "failure" and r["status"] == "closed"
    }
    checked = 0
    for r in records:
        if r["op"] != "insert" or r["work_order_id"] not in closed:
            continue
        opened, until = pd.Timestamp(r["opened_ts"]), closed[r["work_order_id"]]
        assert timedelta(hours=2) <= until - opened <= timedelta(hours=8)
        rows = frame[frame["machine_id"] == r["machine_id"]]
        # Readings carry up to 5 s of jitter after their slot.
        during = rows[
            (rows["event_ts"] >= opened + pd.Timedelta(seconds=6)) & (rows["event_ts"] < until)
        ]
        assert during.empty
        checked += 1
    assert checked >= 2


def test_daily_cycle_day_shift_draws_more_power(
    fleet_history: tuple[pd.DataFrame, list[dict]],
) -> None:
    frame, _ = fleet_history
    hour = frame["event_ts"].dt.hour
    day_power = frame.loc[(hour >= 9) & (hour < 20), "power_kw"].mean()
    night_power = frame.loc[hour < 4, "power_kw"].mean()
    assert day_power > 1.25 * night_power
    weekday = frame["event_ts"].dt.dayofweek
    assert frame.loc[weekday < 5, "power_kw"].mean() > frame.loc[weekday >= 5, "power_kw"].mean()


# --- arguments and CLI --------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"days": 0},
        {"machines": 0},
        {"machines": 9000},
        {"bad_rate": -0.1},
        {"bad_rate": 0.9},
        {"interval_minutes": 7},
        {"seed": -1},
    ],
)
def test_invalid_arguments_are_rejected(tmp_path: Path, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _generate(tmp_path, **overrides)


def test_main_generates_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--start",
            "2026-10-01",
            "--days",
            "1",
            "--machines",
            "3",
            "--interval-minutes",
            "60",
            "--landing-dir",
            str(tmp_path),
        ]
    )
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2026-10-01" in out and "telemetry" in out and "work orders" in out
    assert (tmp_path / "telemetry" / "date=2026-10-01" / "events.jsonl").exists()
    bad = parser.parse_args(["--start", "2026-10-01", "--days", "0", "--machines", "3"])
    assert main(bad) == 2


def test_landing_dir_defaults_to_settings(platform_home: Any) -> None:
    summary = generate(START, 1, 2, interval_minutes=240)
    assert summary.landing_dir == platform_home.landing_dir
    assert (platform_home.landing_dir / "reference" / "machines.csv").exists()
