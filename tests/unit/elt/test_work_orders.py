"""CDC merge into current state, and pseudonymisation of the technician field."""

from __future__ import annotations

from datetime import date

import pandas as pd
import polars as pl

from ml_tasks.elt.pipeline import curate_maintenance, load_machines
from ml_tasks.elt.pseudonymise import pseudonym, pseudonymise
from ml_tasks.elt.work_orders import current_state
from tests.helpers import read_sorted, write_landing, write_machines


def _change(lsn, op, wo, status=None, technician=None, ts="2026-10-01T01:00:00Z"):
    full = op != "delete"
    return {
        "lsn": lsn,
        "op": op,
        "op_ts": ts,
        "work_order_id": wo,
        "machine_id": "M-0001" if full else None,
        "order_type": "failure" if full else None,
        "status": status,
        "opened_ts": "2026-10-01T01:00:00Z" if full else None,
        "closed_ts": None,
        "failure_code": "F01" if full else None,
        "component": "seal" if full else None,
        "technician": technician,
    }


def test_current_state_insert_update_delete_and_out_of_order():
    history = pd.DataFrame(
        [
            _change(3, "update", "WO-1", status="closed"),  # arrived before its insert
            _change(1, "insert", "WO-1", status="open"),
            _change(2, "update", "WO-1", status="in_progress"),
            _change(4, "insert", "WO-2", status="open"),
            _change(5, "delete", "WO-2"),
            _change(6, "insert", "WO-3", status="open"),
        ]
    )
    state = current_state(history)
    assert list(state["work_order_id"]) == ["WO-1", "WO-3"]
    assert list(state["status"]) == ["closed", "open"]
    assert list(state["last_lsn"]) == [3, 6]


def test_current_state_is_independent_of_row_order():
    rows = [_change(i, "update", "WO-1", status=s) for i, s in [(1, "open"), (2, "closed")]]
    forward, backward = current_state(pd.DataFrame(rows)), current_state(pd.DataFrame(rows[::-1]))
    assert forward.equals(backward)


def test_pseudonymisation_is_keyed_and_stable():
    values = pl.Series(["Ann Lee", None, "Ann Lee", "Bo Chan"])
    out = pseudonymise(values, b"k1").to_list()
    assert out[0] == out[2] != out[3] and out[1] is None
    assert "Ann" not in out[0]
    assert pseudonym("Ann Lee", b"k2") != out[0]


def test_curated_history_and_state_hold_no_names(platform_home):
    landing = platform_home.landing_dir
    write_machines(landing)
    d1, d2 = date(2026, 10, 1), date(2026, 10, 2)
    write_landing(
        landing,
        "work_orders",
        d1,
        [
            _change(2, "update", "WO-1", status="in_progress", technician="Ann Lee"),
            _change(1, "insert", "WO-1", status="open"),
        ],
    )
    write_landing(
        landing,
        "work_orders",
        d2,
        [
            _change(
                3,
                "update",
                "WO-1",
                status="closed",
                technician="Ann Lee",
                ts="2026-10-02T01:00:00Z",
            ),
        ],
    )
    load_machines(d1, settings=platform_home)
    curate_maintenance(d2, settings=platform_home)  # reverse order on purpose
    result = curate_maintenance(d1, settings=platform_home)
    assert result.history.rows_curated == 2
    state = read_sorted(platform_home, "work_orders", "work_order_id")
    assert list(state["status"]) == ["closed"]
    tech = state["technician"].iloc[0]
    assert tech.startswith("p_") and "Ann" not in tech
    history = read_sorted(platform_home, "work_orders_history", "lsn")
    assert list(history.lsn) == [1, 2, 3]
    assert not history.technician.fillna("").str.contains("Ann").any()
