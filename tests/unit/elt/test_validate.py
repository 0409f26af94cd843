"""Each kind of bad record is caught by the contract with the right reason."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ml_tasks.elt.contracts import build_schema, load_contract
from ml_tasks.elt.events import day_bounds
from ml_tasks.elt.landing import attach_raw_lines, parse_json_lines, read_lines
from ml_tasks.elt.validate import validate
from tests.helpers import event

DAY = date(2026, 10, 2)
KNOWN = {"machines.machine_id": {"M-0001", "M-0002"}}


def _validate_lines(tmp_path, lines: list[str]):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    contract = load_contract("telemetry")
    lines = read_lines([path])
    schema = build_schema(contract, known=KNOWN, event_time_window=day_bounds(DAY, 2))
    result = validate(parse_json_lines(lines, contract), schema)
    result.rejected = attach_raw_lines(result.rejected, lines)
    return result


GOOD = json.dumps(event("ok", "2026-10-02T10:00:00Z"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"event_id": "x1", "machine_id": "M-0001", "event_ts": "2026-10-02T1', "malformed_json"),
        ("[1, 2, 3]", "malformed_json"),
        (
            json.dumps(event("x2", "2026-10-02T10:00:00Z", temperature_c="N/A")),
            "wrong_type:temperature_c",
        ),
        (json.dumps(event("x3", "yesterday")), "wrong_type:event_ts"),
        (json.dumps(event(None, "2026-10-02T10:00:00Z")), "null:event_id"),
        (json.dumps(event("x4", None)), "null:event_ts"),
        (json.dumps(event("x5", "2026-10-02T10:00:00Z", machine=None)), "null:machine_id"),
        (
            json.dumps(event("x6", "2026-10-02T10:00:00Z", temperature_c=999.0)),
            "out_of_range:temperature_c",
        ),
        (
            json.dumps(event("x7", "2026-10-02T10:00:00Z", rotation_rpm=-5.0)),
            "out_of_range:rotation_rpm",
        ),
        (json.dumps(event("x8", "2026-10-02T10:00:00Z", machine="M-9999")), "unknown_machine"),
        (json.dumps(event("x9", "2026-09-28T10:00:00Z")), "too_late"),
        (json.dumps(event("x10", "2026-10-03T00:00:00Z")), "future_event"),
    ],
)
def test_each_fault_gets_its_reason(tmp_path, line, reason):
    result = _validate_lines(tmp_path, [GOOD, line])
    assert list(result.valid["event_id"]) == ["ok"]
    assert list(result.rejected["reason"]) == [reason]
    assert list(result.rejected["line_no"]) == [2]
    assert result.rejected["raw_line"][0] == line  # the record is kept verbatim


def test_valid_records_pass_with_sensor_dropouts_and_late_events(tmp_path):
    lines = [
        GOOD,
        json.dumps(event("n1", "2026-10-02T10:05:00Z", vibration_mm_s=None)),  # dropout: valid
        json.dumps(event("l1", "2026-09-30T23:59:00Z")),  # 2 days late: within the window
    ]
    result = _validate_lines(tmp_path, lines)
    assert sorted(result.valid["event_id"]) == ["l1", "n1", "ok"]
    assert result.rejected.is_empty()


def test_a_row_with_several_faults_lists_them_all(tmp_path):
    line = json.dumps(event("x", "2026-10-02T10:00:00Z", machine="M-9", temperature_c=500.0))
    result = _validate_lines(tmp_path, [line])
    details = result.rejected["details"][0]
    assert "unknown_machine" in details and "out_of_range:temperature_c" in details


def test_work_order_rules(tmp_path):
    contract = load_contract("work_orders")
    base = {
        "lsn": 1,
        "op": "insert",
        "op_ts": "2026-10-02T01:00:00Z",
        "work_order_id": "WO-1",
        "machine_id": "M-0001",
        "order_type": "failure",
        "status": "open",
        "opened_ts": "2026-10-02T01:00:00Z",
        "closed_ts": None,
        "failure_code": "F01",
        "component": "bearing",
        "technician": "Ann Lee",
    }
    rows = [
        base,
        {**base, "lsn": 2, "op": "upsert"},
        {**base, "lsn": 3, "status": None},  # an insert must carry the full row
        {"lsn": 4, "op": "delete", "op_ts": "2026-10-02T05:00:00Z", "work_order_id": "WO-1"},
        {**base, "lsn": "four"},
    ]
    path = tmp_path / "cdc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parsed = parse_json_lines(read_lines([path]), contract)
    schema = build_schema(contract, known=KNOWN, event_time_window=day_bounds(DAY, 2))
    result = validate(parsed, schema)
    assert sorted(result.valid["lsn"]) == [1, 4]
    reasons = dict(zip(result.rejected["line_no"], result.rejected["reason"], strict=True))
    assert reasons == {2: "not_allowed:op", 3: "upsert_missing_fields", 5: "wrong_type:lsn"}
