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
    MissingCuratedData,
    compute_features,
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
    result = compute_features(date(2026, 10, 1), settings=features_home)
    assert result["rows"]["telemetry_stats"] > 0


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
