"""Feature timestamps as Feast stores them: protobuf Timestamps on Redis, epoch/ISO on SQLite."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from ml_tasks.features.online import _epoch_seconds, _timestamp_seconds


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(0, 0), (1, 0), (1_791_154_800, 0), (1_791_154_800, 500_000_000), (2**40, 1)],
)
def test_protobuf_timestamps_decode_like_protobuf(seconds, nanos):
    raw = Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
    assert _timestamp_seconds(raw) == pytest.approx(seconds + nanos / 1e9)


def test_sqlite_event_ts_in_either_form():
    assert _epoch_seconds(1_791_154_800) == pytest.approx(1_791_154_800.0)
    assert _epoch_seconds("2026-10-04 23:00:00") == pytest.approx(1_791_154_800.0)
    assert _epoch_seconds("2026-10-05T01:00:00+02:00") == pytest.approx(1_791_154_800.0)
    assert _epoch_seconds(None) is None
