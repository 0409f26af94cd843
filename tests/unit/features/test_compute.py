"""Feature computation: windows and history against brute-force oracles, partitions, bad input."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_tasks.elt import lake
from ml_tasks.features.compute import (
    SENSORS,
    FeatureTypeError,
    Inputs,
    MissingCuratedData,
    compute_features,
    compute_tables,
    conform,
)
from ml_tasks.features.layout import feature_rows, partition_uri

DAY2 = date(2026, 10, 2)


def _telemetry(s) -> pd.DataFrame:
    return lake.read_table(s.table_uri("telemetry"), s).to_pandas()


def _out_of_range(s) -> pd.DataFrame:
    q = lake.read_table(s.table_uri("quarantine_telemetry"), s).to_pandas()
    q = q[q["reason"].str.startswith("out_of_range:")]
    raw = [json.loads(line) for line in q["raw_line"]]
    return pd.DataFrame(
        {
            "machine_id": [r["machine_id"] for r in raw],
            "ts": pd.to_datetime([r["event_ts"] for r in raw], utc=True),
            "sensor": q["reason"].str.removeprefix("out_of_range:").to_numpy(),
        }
    )


def test_telemetry_windows_match_a_brute_force_oracle(features_home):
    s = features_home
    compute_features(DAY2, DAY2, settings=s)
    got = feature_rows(s, "telemetry_stats", DAY2, DAY2).to_pandas()
    readings, rejected = _telemetry(s), _out_of_range(s)
    machines = sorted(got["machine_id"].unique())[:3]
    checked = 0
    for _, row in got[got["machine_id"].isin(machines)].iterrows():
        t = row["feature_ts"]
        mine = readings[readings["machine_id"] == row["machine_id"]]
        for window, hours in (("1h", 1), ("24h", 24)):
            inside = mine[(mine["event_ts"] >= t - timedelta(hours=hours)) & (mine["event_ts"] < t)]
            assert row[f"reading_count_{window}"] == len(inside)
            for sensor in SENSORS:
                values = inside[sensor].dropna().to_numpy()
                expect = {
                    "mean": values.mean() if len(values) else None,
                    "std": values.std(ddof=1) if len(values) > 1 else None,
                    "min": values.min() if len(values) else None,
                    "max": values.max() if len(values) else None,
                }
                for stat, value in expect.items():
                    actual = row[f"{sensor}_{stat}_{window}"]
                    if value is None:
                        assert pd.isna(actual), (t, sensor, stat, window)
                    else:
                        assert actual == pytest.approx(value, rel=1e-9, abs=1e-9)
                bad = rejected[
                    (rejected["machine_id"] == row["machine_id"])
                    & (rejected["sensor"] == sensor)
                    & (rejected["ts"] >= t - timedelta(hours=hours))
                    & (rejected["ts"] < t)
                ]
                assert row[f"{sensor}_out_of_range_{window}"] == len(bad)
        checked += 1
    assert checked == 3 * 24
    # The fixture's bad records include out-of-range readings: the feature is exercised.
    assert got.filter(like="_out_of_range_24h").to_numpy().sum() > 0


def _history_oracle(changes: pd.DataFrame, machine: str, t: pd.Timestamp) -> dict:
    owner = changes.dropna(subset=["machine_id"]).groupby("work_order_id")["machine_id"].first()
    known = changes[changes["op_ts"] < t].sort_values("lsn").groupby("work_order_id").tail(1)
    known = known[known["work_order_id"].map(owner) == machine]
    alive = known[known["op"] != "delete"]
    done = alive[
        (alive["status"] == "closed")
        & alive["order_type"].isin(["failure", "preventive"])
        & (alive["closed_ts"] < t)
    ]
    failures = alive[
        (alive["order_type"] == "failure")
        & (alive["status"] != "cancelled")
        & (alive["opened_ts"] >= t - timedelta(days=30))
        & (alive["opened_ts"] < t)
    ]
    return {
        "hours_since_last_maintenance": (t - done["closed_ts"].max()).total_seconds() / 3600
        if len(done)
        else None,
        "failures_30d": len(failures),
        "open_work_orders": int(alive["status"].isin(["open", "in_progress"]).sum()),
    }


def test_maintenance_history_is_what_was_known_at_each_hour(features_home):
    s = features_home
    compute_features(date(2026, 10, 1), date(2026, 10, 4), settings=s)
    got = feature_rows(s, "maintenance_history", date(2026, 10, 1), date(2026, 10, 4)).to_pandas()
    changes = lake.read_table(s.table_uri("work_orders_history"), s).to_pandas()
    assert len(changes) > 0
    busy = changes["machine_id"].dropna().unique()
    for _, row in got[got["machine_id"].isin(busy)].iterrows():
        expect = _history_oracle(changes, row["machine_id"], row["feature_ts"])
        for name, value in expect.items():
            if value is None:
                assert pd.isna(row[name]), (row["machine_id"], row["feature_ts"], name)
            else:
                assert row[name] == pytest.approx(value), (row["machine_id"], row["feature_ts"])
    assert got["open_work_orders"].max() >= 1  # the fixture has orders in flight


def test_one_partition_per_view_and_day_replaced_on_rerun(features_home):
    s = features_home
    first = compute_features(date(2026, 10, 1), DAY2, settings=s)
    machines = lake.read_table(s.table_uri("machines"), s).num_rows
    assert first["rows"] == {
        "telemetry_stats": 2 * 24 * machines,
        "maintenance_history": 2 * 24 * machines,
        "machine_attributes": 2 * machines,
    }
    path = partition_uri(s, "telemetry_stats", DAY2)
    day = pq.read_table(path)
    assert day.num_rows == 24 * machines
    ts = day.column("feature_ts").to_pandas()
    assert ts.min() == datetime(2026, 10, 2, tzinfo=UTC)
    assert ts.max() == datetime(2026, 10, 2, 23, tzinfo=UTC)
    assert str(day.schema.field("feature_ts").type) == "timestamp[us, tz=UTC]"

    compute_features(DAY2, DAY2, settings=s)
    assert pq.read_table(path).equals(day)
    assert not list((s.platform_home / "offline").rglob("*.tmp"))
    from ml_tasks.elt import manifest

    versions = [e.version for e in manifest.history(s.manifest_path, "features_telemetry_stats")]
    assert versions == [1, 2]
    assert manifest.latest(s.manifest_path)["features_telemetry_stats"].stats["inputs"]["telemetry"]


def test_first_day_needs_no_history_before_the_data(features_home):
    s = features_home
    result = compute_features(date(2026, 10, 1), settings=s)
    machines = lake.read_table(s.table_uri("machines"), s).num_rows
    assert result["rows"]["telemetry_stats"] == 24 * machines
    rows = feature_rows(s, "telemetry_stats", date(2026, 10, 1), date(2026, 10, 1)).to_pandas()
    first = rows[rows["feature_ts"] == datetime(2026, 10, 1, tzinfo=UTC)]
    assert len(first) == machines
    assert (first["reading_count_24h"] == 0).all()  # nothing before the data's first hour
    assert first["temperature_c_mean_24h"].isna().all()
    assert (rows["reading_count_24h"] > 0).any()


def test_a_day_not_curated_fails_naming_the_partition(features_home):
    with pytest.raises(MissingCuratedData, match=r"telemetry partition event_date=2026-10-05"):
        compute_features(date(2026, 10, 5), settings=features_home)


def test_a_missing_lookback_day_fails_naming_it(features_home):
    s = features_home
    with closing(sqlite3.connect(s.manifest_path)) as con, con:
        con.execute(
            "DELETE FROM dataset_versions WHERE table_name = 'telemetry'"
            " AND interval_start = '2026-10-02'"
        )
    with pytest.raises(MissingCuratedData, match=r"event_date=2026-10-02") as err:
        compute_features(date(2026, 10, 3), settings=s)
    assert "python -m ml_tasks elt --date 2026-10-02" in str(err.value)
    assert not (s.platform_home / "offline").exists()  # nothing written


def _table(**columns) -> pa.Table:
    ts = datetime(2026, 10, 2, tzinfo=UTC)
    n = len(next(iter(columns.values())))
    return pa.table({"machine_id": ["M-0001"] * n, "feature_ts": [ts] * n, **columns})


DECLARED = {"count": pa.int64(), "mean": pa.float64(), "plant": pa.string()}


def test_conform_casts_values_that_fit():
    table = conform("v", _table(count=[2.0, 3.0], mean=[1, 2], plant=["P1", "P2"]), DECLARED)
    assert table.schema.field("count").type == pa.int64()
    assert table.column("mean").to_pylist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"count": [2.5], "mean": [1.0], "plant": ["P1"]}, r"v\.count: values of type double"),
        ({"count": [2**70 * 1.0], "mean": [1.0], "plant": ["P1"]}, r"v\.count"),
        ({"count": [1], "mean": [np.inf], "plant": ["P1"]}, r"v\.mean: 1 non-finite"),
        ({"count": [1], "mean": [np.nan], "plant": ["P1"]}, r"non-finite.*M-0001"),
        ({"count": [1], "mean": ["high"], "plant": ["P1"]}, r"v\.mean: computed values are string"),
        ({"count": [1], "mean": [1.0], "plant": [3.0]}, r"v\.plant: computed values are double"),
        ({"count": [1], "mean": [1.0]}, r"missing \['plant'\]"),
        ({"count": [1], "mean": [1.0], "plant": ["P1"], "x": [1]}, r"undeclared \['x'\]"),
    ],
)
def test_values_outside_the_declared_type_are_rejected(columns, message):
    with pytest.raises(FeatureTypeError, match=message):
        conform("v", _table(**columns), DECLARED)


def test_a_bad_value_fails_the_computation_before_anything_is_written(features_home, monkeypatch):
    from ml_tasks.features import compute

    real = compute.compute_tables

    def corrupt(inputs, start, end):
        tables = real(inputs, start, end)
        t = tables["maintenance_history"]
        i = t.schema.get_field_index("failures_30d")
        bad = pa.array([0.5] * t.num_rows, pa.float64())
        tables["maintenance_history"] = t.set_column(i, "failures_30d", bad)
        return tables

    monkeypatch.setattr(compute, "compute_tables", corrupt)
    with pytest.raises(FeatureTypeError, match=r"maintenance_history\.failures_30d"):
        compute_features(DAY2, settings=features_home)
    assert not (features_home.platform_home / "offline").exists()


def test_a_day_is_bit_identical_whatever_range_computes_it(features_home):
    s = features_home
    compute_features(DAY2, DAY2, settings=s)
    alone = {v: pq.read_table(partition_uri(s, v, DAY2)) for v in ("telemetry_stats",)}
    compute_features(date(2026, 10, 1), date(2026, 10, 3), settings=s)
    for view, table in alone.items():
        assert pq.read_table(partition_uri(s, view, DAY2)).equals(table), view


# --- Hand-made inputs, values computed by hand -----------------------------------------------
# One machine (M1) with a few readings and work orders around the window edges, one (M2) not
# installed yet. Windows are [T - w, T): a reading at T itself is not in T's row.

HOUR = timedelta(hours=1)
D = datetime(2026, 10, 2, tzinfo=UTC)  # the computed day
NAN = float("nan")


def _readings(*rows) -> pa.Table:
    """Rows (ts, temperature, vibration); the other sensors are never reported."""
    n = len(rows)
    return pa.table(
        {
            "machine_id": ["M1"] * n,
            "event_id": [f"e{i}" for i in range(n)],
            "event_ts": pa.array([r[0] for r in rows], pa.timestamp("us", tz="UTC")),
            "temperature_c": pa.array([r[1] for r in rows], pa.float64()),
            "vibration_mm_s": pa.array([r[2] for r in rows], pa.float64()),
            **{s: pa.array([None] * n, pa.float64()) for s in SENSORS[2:]},
        }
    )


def _at(hours: float) -> datetime:
    """``hours`` after 00:00 of the computed day (negative: before it)."""
    return D + hours * HOUR


def _orders(*rows) -> pa.Table:
    """Change-log rows (lsn, op, op_ts, order, type, status, opened_ts, closed_ts), the times as
    hours from the computed day's 00:00; all of M1 except deletes, which carry only keys."""
    ts = pa.timestamp("us", tz="UTC")
    lsn, op, op_ts, order, kind, status, opened, closed = zip(*rows, strict=True)
    return pa.table(
        {
            "lsn": pa.array(lsn, pa.int64()),
            "op": op,
            "op_ts": pa.array([_at(h) for h in op_ts], ts),
            "work_order_id": order,
            "machine_id": [None if o == "delete" else "M1" for o in op],
            "order_type": pa.array(kind, pa.string()),
            "status": pa.array(status, pa.string()),
            "opened_ts": pa.array([None if h is None else _at(h) for h in opened], ts),
            "closed_ts": pa.array([None if h is None else _at(h) for h in closed], ts),
        }
    )


@pytest.fixture(scope="module")
def hand_made():
    telemetry = _readings(
        (D - 24 * HOUR - timedelta(seconds=1), 99.0, 9.0),  # just before T=00:00's 24 h window
        (_at(-23), 30.0, NAN),  # the first instant of T=01:00's 24 h window
        (_at(0), 10.0, 1.0),  # in T=01:00's 1 h window, not in T=00:00's
        (_at(0.5), 20.0, NAN),  # vibration missing
        (_at(1), 40.0, 4.0),  # at T=01:00 itself: only from T=02:00 on
    )
    quarantine = pa.table(
        {
            "raw_line": [
                json.dumps({"machine_id": "M1", "event_ts": "2026-10-02T00:15:00Z"}),
                "{not json",
            ],
            "reason": ["out_of_range:vibration_mm_s", "unparseable"],
        }
    )
    days = 24
    orders = _orders(
        # a failure repaired long ago: the last maintenance until WO2 closes
        (1, "insert", -12 * days, "WO1", "failure", "open", -12 * days, None),
        (2, "update", -254, "WO1", "failure", "closed", -12 * days, -254),
        # preventive work closed at 00:30 on the computed day
        (3, "insert", -4, "WO2", "preventive", "in_progress", -4, None),
        (4, "update", 0.5, "WO2", "preventive", "closed", -4, 0.5),
        # a failure opened exactly 30 days before 01:00: counted at 01:00, not at 02:00
        (5, "insert", -30 * days + 1, "WO3", "failure", "open", -30 * days + 1, None),
        # a failure opened 31 days before: never in the 30-day count
        (6, "insert", -31 * days, "WO4", "failure", "closed", -31 * days, -31 * days + 2),
        # cancelled, and deleted: neither is counted
        (7, "insert", -5 * days, "WO5", "failure", "cancelled", -5 * days, None),
        (8, "insert", -3 * days, "WO6", "failure", "open", -3 * days, None),
        (9, "delete", -12, "WO6", None, None, None, None),
    )
    machines = pa.table(
        {
            "machine_id": ["M1", "M2"],
            "plant_id": ["P1", "P1"],
            "line_id": ["L1", "L2"],
            "machine_model": ["PUMP-C", "PRESS-X"],
            "install_date": pa.array([date(2026, 9, 1), date(2026, 10, 3)], pa.date32()),
        }
    )
    inputs = Inputs(telemetry, quarantine, orders, machines, versions={})
    tables = compute_tables(inputs, DAY2, DAY2)
    return {
        view: {row["feature_ts"]: row for row in table.to_pylist()}
        for view, table in tables.items()
    }


def test_hand_made_telemetry_windows(hand_made):
    rows = hand_made["telemetry_stats"]
    assert len(rows) == 24  # M1's hours; M2 is installed the day after
    at0, at1, at2 = rows[D], rows[D + HOUR], rows[D + 2 * HOUR]

    assert at0["reading_count_1h"] == 0 and at0["temperature_c_mean_1h"] is None
    assert at0["reading_count_24h"] == 1  # only the 30.0 reading: the 99.0 one is older
    assert (
        at0["temperature_c_mean_24h"] == pytest.approx(30.0)
        and at0["temperature_c_std_24h"] is None
    )

    # T = 01:00: 1 h window {10, 20}; 24 h window {30, 10, 20}; the 40 at 01:00 is not in it
    assert at1["reading_count_1h"] == 2 and at1["reading_count_24h"] == 3
    assert at1["temperature_c_mean_1h"] == pytest.approx(15.0)
    assert at1["temperature_c_std_1h"] == pytest.approx(50**0.5)  # sample std (ddof 1)
    assert (at1["temperature_c_min_1h"], at1["temperature_c_max_1h"]) == pytest.approx((10.0, 20.0))
    assert at1["temperature_c_mean_24h"] == pytest.approx(20.0)
    assert at1["temperature_c_std_24h"] == pytest.approx(10.0)
    assert at1["temperature_c_max_24h"] == pytest.approx(30.0)
    # vibration is missing in two of the three readings: its stats use the one it has
    assert (
        at1["vibration_mm_s_mean_24h"] == pytest.approx(1.0)
        and at1["vibration_mm_s_std_24h"] is None
    )
    assert at1["vibration_mm_s_max_1h"] == pytest.approx(1.0)
    # a sensor never reported has no statistics, whatever the reading count
    for stat in ("mean", "std", "min", "max"):
        assert at1[f"power_kw_{stat}_24h"] is None
    # the quarantined out-of-range reading at 00:15 counts in its windows only
    assert at0["vibration_mm_s_out_of_range_1h"] == 0
    assert at1["vibration_mm_s_out_of_range_1h"] == 1
    assert at1["vibration_mm_s_out_of_range_24h"] == 1
    assert at1["temperature_c_out_of_range_24h"] == 0

    # T = 02:00: the 1 h window holds the 40 only; the 30 has left the 24 h window
    assert at2["reading_count_1h"] == 1 and at2["temperature_c_mean_1h"] == pytest.approx(40.0)
    assert at2["reading_count_24h"] == 3
    assert at2["temperature_c_mean_24h"] == pytest.approx((10 + 20 + 40) / 3)
    assert at2["vibration_mm_s_mean_24h"] == pytest.approx(2.5)
    assert at2["vibration_mm_s_out_of_range_1h"] == 0


def test_hand_made_maintenance_history(hand_made):
    rows = hand_made["maintenance_history"]
    assert len(rows) == 24 and {r["machine_id"] for r in rows.values()} == {"M1"}
    at0, at1, at2 = rows[D], rows[D + HOUR], rows[D + 2 * HOUR]
    # 00:00: WO1 closed 254 h before; WO2 in progress; failures WO1 and WO3 (WO4 too old,
    # WO5 cancelled, WO6 deleted)
    assert at0["hours_since_last_maintenance"] == pytest.approx(254.0)
    assert (at0["failures_30d"], at0["open_work_orders"]) == (2, 2)
    # 01:00: WO2 closed at 00:30; WO3 was opened exactly 30 days before: still counted
    assert at1["hours_since_last_maintenance"] == pytest.approx(0.5)
    assert (at1["failures_30d"], at1["open_work_orders"]) == (2, 1)
    # 02:00: WO3 has left the 30-day window
    assert at2["hours_since_last_maintenance"] == pytest.approx(1.5)
    assert (at2["failures_30d"], at2["open_work_orders"]) == (1, 1)
    assert at1["machine_age_days"] == pytest.approx(31 + 1 / 24)


def test_hand_made_attributes_are_one_row_per_installed_machine_and_day(hand_made):
    rows = hand_made["machine_attributes"]
    assert list(rows) == [D]
    assert rows[D]["machine_id"] == "M1" and rows[D]["machine_model"] == "PUMP-C"
