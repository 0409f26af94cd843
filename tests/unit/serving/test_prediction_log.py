"""The prediction log: batched background writes to a local Delta table, nothing lost or blocked."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest

from ml_tasks.elt import lake
from ml_tasks.serving import prediction_log
from ml_tasks.serving.prediction_log import PredictionLogWriter, read_predictions
from tests.prediction_fixtures import T0, answer_row


def requests(count: int, machines: int = 3, prefix: str = "r") -> list[list[dict]]:
    """``count`` requests of ``machines`` answered machines each (one row per machine)."""
    return [
        [answer_row(request_id=f"{prefix}{i}", machine_id=f"M-{m:04d}") for m in range(machines)]
        for i in range(count)
    ]


def keys(table) -> list[tuple[str, str]]:
    """(request id, machine id) of each logged row."""
    return list(
        zip(
            table.column("request_id").to_pylist(),
            table.column("machine_id").to_pylist(),
            strict=True,
        )
    )


def versions(settings) -> int:
    """Delta commits of the predictions table."""
    version = lake.table_version(prediction_log.table_uri(settings), settings)
    return 0 if version is None else version + 1


def test_exactly_the_appended_rows_after_close(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=0.05, batch_rows=50)
    sent = requests(120)
    for rows in sent:
        writer.append(rows)
    writer.close()

    table = read_predictions(platform_home)
    assert table.num_rows == 360
    assert sorted(set(table.column("request_id").to_pylist())) == sorted(
        r[0]["request_id"] for r in sent
    )
    pairs = set(keys(table))
    assert len(pairs) == 360  # no row twice
    assert writer.dropped == 0 and writer.written == 360
    assert table.schema == prediction_log.SCHEMA


def test_rows_are_written_in_batches_not_per_request(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=30, batch_rows=100)
    for rows in requests(300, machines=1):
        writer.append(rows)
        time.sleep(0.002)  # requests spread over time: a writer per request would commit often
    writer.close()
    assert read_predictions(platform_home).num_rows == 300
    # 300 appends, 100 rows a batch: 3 commits (4 if a wake-up split one batch), never ~300.
    assert versions(platform_home) <= 5
    assert writer.commits == versions(platform_home)


def test_timer_writes_a_partial_batch(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=0.2, batch_rows=10_000)
    writer.append(requests(2)[0])
    deadline = time.monotonic() + 10
    while writer.written < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.written == 3
    writer.close()


def test_close_flushes_what_the_timer_has_not_written(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600, batch_rows=10_000)
    for rows in requests(7):
        writer.append(rows)
    time.sleep(0.2)
    assert versions(platform_home) == 0  # nothing written yet: below the batch, before the timer
    assert writer.buffered == 21
    writer.close()
    assert read_predictions(platform_home).num_rows == 21
    assert versions(platform_home) == 1


def test_flush_blocks_until_written(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600, batch_rows=10_000)
    writer.append(requests(4)[1])
    writer.flush()
    assert read_predictions(platform_home).num_rows == 3
    writer.append(requests(1, prefix="late")[0])
    writer.close()
    assert read_predictions(platform_home).num_rows == 6


def test_concurrent_appenders_lose_nothing(platform_home):
    writer = PredictionLogWriter(
        platform_home, flush_seconds=0.02, batch_rows=64, max_buffered_rows=100_000
    )
    threads = [
        threading.Thread(
            target=lambda p=p: [writer.append(rows) for rows in requests(250, 2, prefix=p)]
        )
        for p in ("a", "b", "c", "d")
    ]
    for t in threads:
        t.start()
    flusher_stop = threading.Event()

    def flusher() -> None:  # flush() racing the background writer must not double-write
        while not flusher_stop.is_set():
            writer.flush()

    f = threading.Thread(target=flusher)
    f.start()
    for t in threads:
        t.join()
    flusher_stop.set()
    f.join()
    writer.close()
    table = read_predictions(platform_home)
    logged = keys(table)
    assert len(logged) == len(set(logged)) == 4 * 250 * 2
    assert writer.dropped == 0


def test_append_does_not_wait_for_a_slow_write(platform_home, monkeypatch):
    writer = PredictionLogWriter(
        platform_home, flush_seconds=0.01, batch_rows=1, max_buffered_rows=1000
    )
    started = threading.Event()
    original = writer._commit

    def slow_commit(table):
        started.set()
        time.sleep(1.0)
        original(table)

    monkeypatch.setattr(writer, "_commit", slow_commit)
    writer.append(requests(1)[0])
    assert started.wait(5)
    t = time.perf_counter()
    for rows in requests(50, prefix="during"):
        writer.append(rows)
    assert time.perf_counter() - t < 0.2  # the commit in flight takes 1 s
    writer.close()
    assert read_predictions(platform_home).num_rows == 153


def test_unwritable_location_is_reported_and_rows_kept(tmp_path, monkeypatch, caplog):
    from ml_tasks.settings import get_settings

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake should be")
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    monkeypatch.setenv("PLATFORM_LAKE_URI", str(blocker / "lake"))
    settings = get_settings()
    writer = PredictionLogWriter(settings, flush_seconds=3600, batch_rows=10_000)
    caplog.set_level(logging.ERROR, logger=prediction_log.__name__)
    writer.append(requests(2)[0])
    writer.flush()
    assert writer.last_error and writer.failures == 1
    assert writer.buffered == 3  # kept for the next try
    assert any("failed" in r.getMessage() and "kept" in r.getMessage() for r in caplog.records)
    writer.close()
    assert writer.dropped == 3  # lost at close, counted and said
    assert any("lost at close" in r.getMessage() for r in caplog.records)


def test_a_failed_batch_is_written_on_the_next_try(platform_home, monkeypatch):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600, batch_rows=10_000)
    original = writer._commit
    calls = []

    def flaky(table):
        calls.append(table.num_rows)
        if len(calls) == 1:
            raise OSError("storage unreachable")
        original(table)

    monkeypatch.setattr(writer, "_commit", flaky)
    writer.append(requests(1, prefix="first")[0])
    writer.flush()
    assert writer.buffered == 3 and writer.written == 0
    writer.append(requests(1, prefix="second")[0])
    writer.close()
    assert calls == [3, 6]
    ids = set(read_predictions(platform_home).column("request_id").to_pylist())
    assert ids == {"first0", "second0"}
    assert writer.last_error is None and writer.dropped == 0


def test_buffer_cap_drops_and_counts(platform_home, monkeypatch, caplog):
    writer = PredictionLogWriter(
        platform_home, flush_seconds=3600, batch_rows=10_000, max_buffered_rows=10
    )
    caplog.set_level(logging.WARNING, logger=prediction_log.__name__)
    for rows in requests(5):  # 15 rows, room for 10
        writer.append(rows)
    assert writer.dropped == 5 and writer.buffered == 10
    assert any("dropped" in r.getMessage() for r in caplog.records)
    writer.close()
    assert read_predictions(platform_home).num_rows == 10


def test_read_filters_on_time_and_normalises_rows(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600, batch_rows=10_000)
    day2 = T0 + timedelta(days=1)
    writer.append(
        [
            answer_row(request_id="old", ts=T0),
            answer_row(
                request_id="new",
                ts=day2.replace(tzinfo=None),  # naive: taken as UTC
                feature_ts=(day2 - timedelta(hours=2)).isoformat(),
                missing_sensors=["pressure_bar", "power_kw"],
            ),
            answer_row(request_id="later", ts=day2 + timedelta(hours=3)),
        ]
    )
    writer.close()
    assert read_predictions(platform_home).num_rows == 3
    table = read_predictions(platform_home, since=day2, until=day2 + timedelta(hours=1))
    (row,) = table.to_pylist()
    assert row["request_id"] == "new"
    assert row["day"] == day2.date() and row["ts"] == day2
    assert row["feature_ts"] == day2 - timedelta(hours=2)
    assert row["missing_sensors"] == "pressure_bar,power_kw"
    assert read_predictions(platform_home, until=T0 + timedelta(seconds=1)).num_rows == 1


def test_reading_before_any_write_gives_an_empty_table(platform_home):
    table = read_predictions(platform_home, since=T0)
    assert table.num_rows == 0 and table.schema == prediction_log.SCHEMA


def test_a_malformed_row_is_left_out_not_the_batch(platform_home):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600, batch_rows=10_000)
    writer.append([answer_row(request_id="good"), answer_row(request_id="bad", score="high")])
    writer.close()
    assert read_predictions(platform_home).column("request_id").to_pylist() == ["good"]
    assert writer.dropped == 1


@pytest.mark.parametrize("closed_twice", [False, True])
def test_append_after_close_is_counted(platform_home, closed_twice):
    writer = PredictionLogWriter(platform_home, flush_seconds=3600)
    writer.close()
    if closed_twice:
        writer.close()
    writer.append(requests(1)[0])
    assert writer.dropped == 3
