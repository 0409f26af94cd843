"""Training data: feature selection, the leak-free time split, per-worker shards."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_tasks.training import data
from ml_tasks.training.spec import TrainingSetRef


def _shard(ref, features, split, rank, world):
    return data.load_shard(
        ref.path,
        features,
        label=ref.label,
        timestamp=ref.timestamp,
        split=split,
        rank=rank,
        world_size=world,
    )


def test_features_are_the_numeric_columns_and_strings_are_left_out_with_a_reason(training_set):
    features, dropped = data.resolve_features(training_set)
    assert len(features) == 56
    assert {"temperature_c_mean_1h", "hours_since_last_maintenance", "failures_30d"} <= set(
        features
    )
    assert not {"label", "machine_id", "event_timestamp"} & set(features)
    assert sorted(d.split()[0] for d in dropped) == ["machine_model", "plant_id"]
    assert all("not numeric" in d for d in dropped)


def test_requested_features_are_checked(training_set):
    only = replace(training_set, features=("vibration_mm_s_max_24h", "plant_id"))
    features, dropped = data.resolve_features(only)
    assert features == ["vibration_mm_s_max_24h"] and dropped[0].startswith("plant_id")
    with pytest.raises(data.TrainingDataError, match="not a column"):
        data.resolve_features(replace(training_set, features=("no_such_feature",)))
    with pytest.raises(data.TrainingDataError, match="cannot be a feature"):
        data.resolve_features(replace(training_set, features=("label",)))
    with pytest.raises(data.TrainingDataError, match="lacks column"):
        data.resolve_features(replace(training_set, label="failure_within_horizon"))


def test_time_split_validates_on_the_latest_rows_and_leaves_a_label_gap(training_set):
    split = data.compute_split(training_set, validation_fraction=0.2, gap_hours=24)
    hour = 3600 * 10**6
    assert split.valid_start_us - split.train_end_us == 24 * hour
    assert split.train_start_us < split.train_end_us <= split.valid_start_us < split.valid_end_us
    total = split.rows_train + split.rows_valid + split.rows_gap
    assert total == 20_000
    assert split.rows_valid == pytest.approx(4_000, rel=0.05)
    assert split.rows_gap == 24 * 40  # one day of hourly rows for 40 machines
    assert split.positives_train > 0 and split.positives_valid > 0
    described = split.describe()
    assert described["valid_window"][0] > described["train_window"][1]


def test_a_span_too_short_for_the_gap_is_refused(training_set):
    with pytest.raises(data.TrainingDataError, match="empty side"):
        data.compute_split(training_set, validation_fraction=0.5, gap_hours=24 * 400)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_worker_shards_partition_the_rows_exactly(training_set, world):
    features, _ = data.resolve_features(training_set)
    split = data.compute_split(training_set, 0.2, 24)
    shards = [_shard(training_set, features, split, rank, world) for rank in range(world)]
    assert sum(s.rows[0] for s in shards) == split.rows_train
    assert sum(s.rows[1] for s in shards) == split.rows_valid
    assert sum(int(s.y_valid.sum()) for s in shards) == split.positives_valid
    # Equal ranges before and within the validation window: balanced on both sides.
    for s in shards:
        assert s.rows[0] == pytest.approx(split.rows_train / world, abs=24 * 40)
        assert s.rows[1] == pytest.approx(split.rows_valid / world, abs=24 * 40)
    merged = np.sort(np.concatenate([s.x_train[:, 0] for s in shards]))
    alone = np.sort(_shard(training_set, features, split, 0, 1).x_train[:, 0])
    np.testing.assert_array_equal(merged, alone)
    assert shards[0].x_train.dtype == np.float32 and shards[0].x_train.shape[1] == len(features)


def test_each_worker_reads_about_its_share_of_row_groups(training_set):
    split = data.compute_split(training_set, 0.2, 24)
    groups = data.row_groups(training_set.path, training_set.timestamp)
    assert len(groups) == 5 and all(g.max_us is not None for g in groups)
    read = [data.assign_rows(groups, split, rank, 2) for rank in range(2)]
    rows = [sum(end - first for _, first, end in r) for r in read]
    assert sum(rows) == 20_000 and abs(rows[0] - rows[1]) <= 1
    # Four groups before the validation window, one in it: each worker reads three.
    assert [len(r) for r in read] == [3, 3]


def test_fewer_row_groups_than_workers_still_partitions(tmp_path, training_set):
    table = pq.read_table(training_set.path)
    one_group = tmp_path / "one.parquet"
    pq.write_table(table, one_group)  # a single row group
    ref = replace(training_set, path=str(one_group))
    features, _ = data.resolve_features(ref)
    split = data.compute_split(ref, 0.2, 24)
    shards = [_shard(ref, features, split, rank, 3) for rank in range(3)]
    assert sum(s.rows[0] for s in shards) == split.rows_train
    assert sum(s.rows[1] for s in shards) == split.rows_valid


def test_a_folder_of_files_with_nulls_and_ints_reads_as_float_with_nan(tmp_path):
    folder = tmp_path / "set"
    (folder / "part=1").mkdir(parents=True)
    ts = pa.array(
        np.datetime64("2026-10-01T00:00", "ns") + np.arange(100) * np.timedelta64(1, "h"),
        pa.timestamp("ns", tz="UTC"),
    )
    for i, part in enumerate((slice(0, 50), slice(50, 100))):
        pq.write_table(
            pa.table(
                {
                    "machine_id": ["M-1"] * 50,
                    "event_timestamp": ts[part],
                    "failures_30d": pa.array([1, None] * 25, pa.int64()),
                    "temp": pa.array(np.arange(50, dtype="float64") + 50 * i),
                    "label": pa.array([0, 1] * 25, pa.int64()),
                }
            ),
            folder / "part=1" / f"{i}.parquet",
        )
    (folder / "_SUCCESS").write_text("")
    ref = TrainingSetRef(path=str(folder), version="t")
    features, _ = data.resolve_features(ref)
    assert features == ["failures_30d", "temp"]
    split = data.compute_split(ref, 0.25, 1)
    shard = _shard(ref, features, split, 0, 1)
    assert shard.rows == (split.rows_train, split.rows_valid)
    assert np.isnan(shard.x_train[:, 0]).sum() == split.rows_train // 2
    assert shard.x_valid[:, 1].min() >= 75  # the latest quarter validates


def test_missing_training_set_is_a_clear_error(tmp_path):
    with pytest.raises(data.TrainingDataError, match="not found"):
        data.resolve_features(TrainingSetRef(path=str(tmp_path / "nope"), version="x"))
