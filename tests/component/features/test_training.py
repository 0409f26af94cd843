"""Training sets: labels, point-in-time correctness, versions and provenance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ml_tasks.elt import manifest
from ml_tasks.features import store
from ml_tasks.features.compute import compute_features
from ml_tasks.features.layout import feature_rows
from ml_tasks.features.training import (
    LABEL,
    TrainingSetError,
    asof_features,
    build_training_set,
    historical_features,
    label_frame,
    read_training_set,
    service_views,
)

D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


MACHINES = pd.DataFrame(
    {"machine_id": ["A", "B"], "install_date": [date(2020, 1, 1), date(2026, 10, 2)]}
)


def _orders(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["machine_id", "order_type", "status", "opened", "closed"])
    return pd.DataFrame(
        {
            "machine_id": frame["machine_id"],
            "order_type": frame["order_type"],
            "status": frame["status"],
            "opened_ts": pd.to_datetime(frame["opened"], utc=True),
            "closed_ts": pd.to_datetime(frame["closed"], utc=True),
        }
    )


def _labels(orders: pd.DataFrame, **kwargs) -> pd.DataFrame:
    frame = label_frame(MACHINES, orders, D1, D2, **kwargs)
    return frame.set_index(["machine_id", "event_timestamp"])[LABEL]


def test_label_is_a_failure_opened_within_the_next_24_hours():
    orders = _orders(
        ("A", "failure", "closed", "2026-10-02 12:00", "2026-10-02 15:00"),
        ("A", "failure", "cancelled", "2026-10-01 06:00", None),  # a false alarm: not a failure
        ("A", "preventive", "closed", "2026-10-01 08:00", "2026-10-01 09:00"),
    )
    labels = _labels(orders, exclude_in_repair=False)
    assert labels["A", _ts("2026-10-01 11:00")] == 0  # 25 h before
    assert labels["A", _ts("2026-10-01 12:00")] == 1  # exactly 24 h before: inside
    assert labels["A", _ts("2026-10-02 11:00")] == 1
    assert labels["A", _ts("2026-10-02 12:00")] == 0  # opened at T: not in (T, T + 24 h]
    assert labels["A", _ts("2026-10-01 05:00")] == 0  # cancelled order
    assert ("B", _ts("2026-10-01 23:00")) not in labels  # not installed yet
    assert ("B", _ts("2026-10-02 00:00")) in labels


def test_hours_under_repair_and_beyond_the_known_data_are_left_out():
    orders = _orders(("A", "failure", "closed", "2026-10-02 12:00", "2026-10-02 15:30"))
    labels = _labels(orders)
    assert ("A", _ts("2026-10-02 13:00")) not in labels  # the machine is down
    assert ("A", _ts("2026-10-02 15:00")) not in labels
    assert labels["A", _ts("2026-10-02 16:00")] == 0  # repaired
    known = datetime(2026, 10, 3, 6, tzinfo=UTC)
    censored = _labels(orders, known_until=known)
    assert censored.index.get_level_values(1).max() == _ts("2026-10-02 06:00")


def test_training_rows_carry_features_as_of_the_label_time_never_later(features_home):
    s = features_home
    compute_features(D1, D3, settings=s)
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    rows = feature_rows(s, "telemetry_stats", D2, D2).to_pandas()
    machine = rows["machine_id"].iloc[0]
    mine = rows[rows["machine_id"] == machine].set_index("feature_ts")
    at_10, at_11 = mine.loc[_ts("2026-10-02 10:00")], mine.loc[_ts("2026-10-02 11:00")]
    # The case: the feature changes after the label time (10:30).
    assert at_10["vibration_mm_s_mean_1h"] != at_11["vibration_mm_s_mean_1h"]

    entity_df = pd.DataFrame(
        {
            "machine_id": [machine, machine, machine],
            "event_timestamp": [
                _ts("2026-10-02 10:30"),
                _ts("2026-10-02 10:59:59.999999"),
                _ts("2026-10-02 11:00"),
            ],
        }
    )
    got = historical_features(entity_df, fs).set_index("event_timestamp")
    for t in ("2026-10-02 10:30", "2026-10-02 10:59:59.999999"):
        assert got.loc[_ts(t), "vibration_mm_s_mean_1h"] == at_10["vibration_mm_s_mean_1h"]
        assert got.loc[_ts(t), "reading_count_24h"] == at_10["reading_count_24h"]
    # At 11:00 the 11:00 row (built from readings before 11:00) is the latest known.
    assert (
        got.loc[_ts("2026-10-02 11:00"), "vibration_mm_s_mean_1h"]
        == (at_11["vibration_mm_s_mean_1h"])
    )


def test_maintenance_features_only_know_orders_logged_before_the_label_time(features_home):
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    history = feature_rows(s, "maintenance_history", D1, date(2026, 10, 4)).to_pandas()
    opened = history.sort_values("feature_ts")
    # A machine whose open-order count changes: label half an hour before the change.
    changes = opened[opened.groupby("machine_id")["open_work_orders"].diff().fillna(0) != 0]
    assert len(changes), "the fixture has work orders opening or closing"
    change = changes.iloc[0]
    before = change["feature_ts"] - timedelta(minutes=30)
    entity_df = pd.DataFrame({"machine_id": [change["machine_id"]], "event_timestamp": [before]})
    got = historical_features(entity_df, fs).iloc[0]
    previous = opened[
        (opened["machine_id"] == change["machine_id"]) & (opened["feature_ts"] < before)
    ].iloc[-1]
    assert got["open_work_orders"] == previous["open_work_orders"] != change["open_work_orders"]


def test_a_training_set_is_versioned_with_its_sources(features_home):
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    store.apply_definitions(s)
    first = build_training_set(D1, D2, settings=s, run_id="t1")
    frame, meta = read_training_set(first["path"])
    assert meta["version"] == 1 and first["path"].endswith("v0001")
    assert len(frame) == meta["rows"] > 0
    assert set(meta["features"]) <= set(frame.columns) and LABEL in frame.columns
    assert len(meta["features"]) == 59
    assert meta["sources"]["telemetry"]["version"] >= 0
    assert meta["sources"]["features_telemetry_stats"]["version"] == 1
    assert meta["labels_known_until"] == "2026-10-05T00:00:00+00:00"
    assert frame["event_timestamp"].min() == _ts("2026-10-01 00:00")
    # Every row's label window lies inside the curated data.
    assert frame["event_timestamp"].max() <= _ts("2026-10-04 00:00")

    entries = manifest.history(s.manifest_path, "training_set")
    assert [e.version for e in entries] == [1]
    assert entries[0].stats["sources"] == meta["sources"]
    assert entries[0].stats["content_key"] == meta["content_key"] == first["content_key"]


def _files(root) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_a_retried_build_reuses_its_version_and_writes_nothing(features_home):
    """Same window, same dataset versions, same definitions: the version built before, no new
    files, no new manifest entry; and the training run it plans has the same Ray run name, so
    a retried training resumes from its checkpoints."""
    from ml_tasks.training import pipeline, spec

    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    store.apply_definitions(s)
    first = build_training_set(D1, D2, settings=s, run_id="run_1")
    assert first["reused"] is False
    before = _files(Path(s.training_sets_uri)), manifest.history(s.manifest_path)

    again = build_training_set(D1, D2, settings=s, run_id="run_1")
    assert again["reused"] is True
    assert (again["version"], again["path"], again["sha256"]) == (
        first["version"],
        first["path"],
        first["sha256"],
    )
    assert (_files(Path(s.training_sets_uri)), manifest.history(s.manifest_path)) == before

    def run_name(built: dict) -> str:
        ref = pipeline.as_ref(built)
        return spec.run_name("run_1", ref.version, spec.TrainConfig().fingerprint(ref.features))

    assert run_name(again) == run_name(first)


def test_another_window_or_a_new_dataset_version_builds_a_new_version(features_home):
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    store.apply_definitions(s)
    first = build_training_set(D1, D2, settings=s)
    other_window = build_training_set(D1, D3, settings=s)
    assert other_window["version"] == first["version"] + 1 and not other_window["reused"]
    # A new write of a source table (same rows or not): the set is built again.
    telemetry = manifest.latest(s.manifest_path)["telemetry"]
    manifest.record(
        s.manifest_path,
        manifest.DatasetVersion(
            table_name="telemetry",
            version=telemetry.version + 1,
            interval_start=telemetry.interval_start,
            interval_end=telemetry.interval_end,
            row_count=telemetry.row_count,
            run_id="new_landing",
        ),
    )
    rebuilt = build_training_set(D1, D2, settings=s)
    assert rebuilt["version"] == other_window["version"] + 1 and not rebuilt["reused"]
    assert rebuilt["content_key"] != first["content_key"]
    assert rebuilt["sources"]["telemetry"]["version"] == telemetry.version + 1
    # ... and that new version is what a retry of this build finds.
    assert build_training_set(D1, D2, settings=s)["version"] == rebuilt["version"]


def test_row_groups_let_each_ray_worker_read_only_its_share(features_home, monkeypatch):
    import pyarrow.parquet as pq

    from ml_tasks.features import training
    from ml_tasks.training import data, pipeline
    from ml_tasks.training.spec import SplitSpec

    assert training.row_group_rows(72_000, 1) == 2_250  # 32 groups: 4 planned workers x 8
    assert training.row_group_rows(72_000, 8) == 1_125
    assert training.row_group_rows(500, 2) == training.MIN_GROUP_ROWS

    # The fixture's set is small: smaller groups so it has several.
    monkeypatch.setattr(training, "MIN_GROUP_ROWS", 16)
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    store.apply_definitions(s)
    built = build_training_set(D1, D2, settings=s)
    group = built["row_group_rows"]
    meta = pq.ParquetFile(f"{built['path']}/data.parquet").metadata
    assert meta.num_row_groups == -(-built["rows"] // group) > 8
    assert all(meta.row_group(i).num_rows <= group for i in range(meta.num_row_groups))

    ref = pipeline.as_ref(built)
    # Validation from the last quarter of the window (assign_rows reads only its start).
    valid_start_us = int(_ts("2026-10-02 12:00").timestamp() * 1e6)
    split = SplitSpec(0, valid_start_us, valid_start_us, valid_start_us * 2, 0, 0, 0, 0, 0)
    groups = data.row_groups(ref.path, ref.timestamp)
    workers = 2
    for rank in range(workers):
        read = {g.index for g, _, _ in data.assign_rows(groups, split, rank, workers)}
        rows_read = sum(g.rows for g in groups if g.index in read)
        # Its half of the rows, plus at most one partial group at each end of each range
        # (training-period groups and validation-period groups).
        assert rows_read <= built["rows"] / workers + 4 * group, (rank, rows_read)
        assert len(read) < meta.num_row_groups


def test_a_range_without_known_labels_is_refused(features_home):
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    store.apply_definitions(s)
    with pytest.raises(TrainingSetError, match="no labelled hours"):
        build_training_set(date(2026, 10, 5), date(2026, 10, 6), settings=s)


def _entity_rows(s, start: date, end: date) -> pd.DataFrame:
    from ml_tasks.elt import lake
    from ml_tasks.features.training import _curated_until

    machines = lake.read_table(s.table_uri("machines"), s).to_pandas()
    orders = lake.read_table(s.table_uri("work_orders"), s).to_pandas()
    return label_frame(machines, orders, start, end, known_until=_curated_until(s))


def test_feast_retrieval_gives_the_rows_of_a_direct_asof_join(features_home):
    """The benchmark's floor (one DuckDB ASOF JOIN per view, the ttl applied) and Feast's
    retrieval give identical rows and values, with the views' ttl cutting some of them."""
    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    entity_df = _entity_rows(s, D1, D3)
    # Rows past the last feature partition: the 2 h ttl of the hourly views nulls them.
    late = entity_df.tail(6).assign(event_timestamp=_ts("2026-10-05 03:00"))
    entity_df = pd.concat([entity_df, late], ignore_index=True)
    feast = historical_features(entity_df, fs)
    floor = asof_features(entity_df, s, service_views(fs))
    pd.testing.assert_frame_equal(feast, floor)
    expired = feast[feast["event_timestamp"] == _ts("2026-10-05 03:00")]
    assert len(expired) == 6 and expired["reading_count_1h"].isna().all()
    assert expired["plant_id"].notna().all()  # the daily view's 2-day ttl still holds


@pytest.mark.filterwarnings("ignore:Downcasting object dtype:FutureWarning")
def test_the_duckdb_engine_builds_the_training_set_the_dask_file_store_built(
    features_home, tmp_path
):
    """Kept from the switch to DuckDB: the old engine (Feast's dask file store) on the same
    registry and parquet files gives the same rows and values."""
    import yaml
    from feast import FeatureStore

    s = features_home
    compute_features(D1, date(2026, 10, 4), settings=s)
    fs = store.get_store(s)
    store.apply_definitions(s, fs)
    config = store.render_config(s) | {"offline_store": {"type": "file"}}
    (tmp_path / "feature_store.yaml").write_text(yaml.safe_dump(config))
    dask = FeatureStore(repo_path=str(tmp_path))
    entity_df = _entity_rows(s, D1, D2)
    pd.testing.assert_frame_equal(
        historical_features(entity_df, fs), historical_features(entity_df, dask)
    )
