"""The bad-share rule needs a minimum count: a tiny stream is not failed by one bad line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ml_tasks.elt.contracts import load_contract
from ml_tasks.elt.events import BadShareExceeded
from ml_tasks.elt.pipeline import curate_maintenance, curate_telemetry, load_machines
from tests.helpers import event, read_sorted, write_landing, write_machines

D1 = date(2026, 10, 1)


def _order(lsn: int, wo: str) -> dict:
    return {
        "lsn": lsn,
        "op": "insert",
        "op_ts": "2026-10-01T03:00:00Z",
        "work_order_id": wo,
        "machine_id": "M-0001",
        "order_type": "preventive",
        "status": "open",
        "opened_ts": "2026-10-01T03:00:00Z",
        "closed_ts": None,
        "failure_code": None,
        "component": None,
        "technician": None,
    }


def test_contracts_declare_a_minimum_count(platform_home):
    for name in ("telemetry", "work_orders"):
        assert load_contract(name, platform_home.contracts_dir).min_bad_records == 20


def test_rule_at_its_boundaries(platform_home):
    from ml_tasks.elt.events import is_bad_day

    contract = replace(load_contract("telemetry", platform_home.contracts_dir), min_bad_records=20)
    assert not is_bad_day(19, 20, contract)  # 95 % bad, but only 19 records
    assert is_bad_day(20, 21, contract)  # at the count floor and above the share
    assert not is_bad_day(20, 200, contract)  # exactly 10 %: not above the share
    assert is_bad_day(21, 200, contract)  # one step above it
    assert not is_bad_day(0, 0, contract)


def test_one_bad_line_of_six_work_orders_passes_and_is_counted(platform_home):
    write_machines(platform_home.landing_dir)
    load_machines(D1, settings=platform_home)
    good = [_order(i, f"WO-{i}") for i in range(1, 6)]
    write_landing(platform_home.landing_dir, "work_orders", D1, [*good, "{broken"])
    result = curate_maintenance(D1, settings=platform_home).history
    assert (result.rows_read, result.rows_curated, result.rows_quarantined) == (6, 5, 1)
    assert result.quarantine_reasons == {"malformed_json": 1}
    assert list(read_sorted(platform_home, "quarantine_work_orders", "line_no")["line_no"]) == [6]


def test_a_real_outbreak_still_fails_the_day(platform_home):
    write_machines(platform_home.landing_dir)
    load_machines(D1, settings=platform_home)
    rows = [
        event(f"e{i}", f"2026-10-01T{i % 24:02d}:{i % 60:02d}:00Z", machine="M-0001")
        for i in range(140)
    ] + [
        event(f"x{i}", f"2026-10-01T{i % 24:02d}:{i % 60:02d}:00Z", machine="M-9999")
        for i in range(60)
    ]  # 30 % of 200 from an unknown machine
    write_landing(platform_home.landing_dir, "telemetry", D1, rows)
    with pytest.raises(BadShareExceeded, match=r"60 of 200 records rejected \(30\.0% > "):
        curate_telemetry(D1, settings=platform_home)
    assert read_sorted(platform_home, "telemetry", "event_id") is None  # nothing curated
    assert len(read_sorted(platform_home, "quarantine_telemetry", "line_no")) == 60
