"""The prediction log: every answer of the gateway as a row of the Delta table ``predictions``.

One row per answered machine (columns: :data:`SCHEMA`), partitioned by ``day`` (UTC). The
gateway never writes per request: :meth:`PredictionLogWriter.append` only puts rows in a
bounded in-memory buffer, and a background daemon thread writes them in one Delta commit when
``batch_rows`` are waiting or every ``flush_seconds``, whichever comes first. So

- a request never waits on storage: past the buffer's cap (storage down for long), rows are
  dropped, counted in :attr:`PredictionLogWriter.dropped` and logged, never silently;
- a failed write (storage unreachable) is logged and its rows stay buffered for the next try,
  within the same cap;
- a graceful stop (:meth:`PredictionLogWriter.close`) writes everything buffered; a hard kill
  loses what is buffered, at most the last ``flush_seconds`` of answers (or ``batch_rows``
  rows, whichever is less) in normal operation.

Readers (the release gates of ``promote_model``, monitoring) use :func:`read_predictions`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

TABLE = "predictions"
PARTITION = "day"
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),  # when the answer was given
        ("day", pa.date32()),  # UTC day of ts: the partition
        ("route", pa.string()),  # "v1" | "v2"
        ("machine_id", pa.string()),
        ("status", pa.int16()),  # 200 | 404 | 503 per machine
        ("alias", pa.string()),
        ("model_version", pa.string()),
        ("score", pa.float64()),
        ("alert", pa.bool_()),
        ("threshold", pa.float64()),
        ("latency_s", pa.float64()),  # the whole request, server side
        ("inference_s", pa.float64()),  # this answer's model call
        ("feature_ts", pa.timestamp("us", tz="UTC")),
        ("stale", pa.bool_()),
        ("missing_sensors", pa.string()),  # "" or a comma list
        ("error", pa.string()),
        ("shadow_alias", pa.string()),
        ("shadow_version", pa.string()),
        ("shadow_score", pa.float64()),
        ("shadow_alert", pa.bool_()),
        ("shadow_outcome", pa.string()),  # "none" | "scored" | "dropped" | "error"
    ]
)
COLUMNS = tuple(SCHEMA.names)
SHADOW_OUTCOMES = ("none", "scored", "dropped", "error")
_TIMESTAMPS = ("ts", "feature_ts")
# Failed writes are retried each cycle; their error is logged at most this often.
_ERROR_LOG_SECONDS = 60.0


def table_uri(settings: Settings | None = None) -> str:
    """Where the prediction log lives (a curated Delta table of the lake)."""
    return (settings or get_settings()).table_uri(TABLE)


def _as_utc(value: Any) -> datetime | None:
    """A timestamp given as datetime, ISO text or epoch seconds, in UTC (naive: taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """One row in the table's shape: timestamps in UTC, ``day`` from ``ts``, defaults filled.

    Runs on the writer thread, not in :meth:`PredictionLogWriter.append`, so the request path
    only hands over its dicts.
    """
    out = {name: row.get(name) for name in COLUMNS}
    for name in _TIMESTAMPS:
        out[name] = _as_utc(out[name])
    ts = out["ts"] or datetime.now(UTC)
    out["ts"], out["day"] = ts, ts.date()
    missing = out["missing_sensors"]
    if isinstance(missing, (list, tuple)):
        out["missing_sensors"] = ",".join(str(m) for m in missing)
    elif missing is None:
        out["missing_sensors"] = ""
    out["stale"] = bool(out["stale"])
    out["shadow_outcome"] = out["shadow_outcome"] or "none"
    return out


def to_table(rows: list[dict[str, Any]]) -> tuple[pa.Table, int]:
    """The rows as an Arrow table of :data:`SCHEMA`, and how many rows were unusable.

    A malformed row (a bad type from a caller) is left out and counted instead of failing, and
    so blocking, the whole batch forever.
    """
    try:
        return pa.Table.from_pylist([normalise(r) for r in rows], schema=SCHEMA), 0
    except (pa.ArrowException, TypeError, ValueError, AttributeError):
        good = []
        for row in rows:
            try:
                good.append(pa.Table.from_pylist([normalise(row)], schema=SCHEMA))
            except (pa.ArrowException, TypeError, ValueError, AttributeError) as exc:
                log.warning("prediction log: row left out (%s): %r", exc, row)
        table = pa.concat_tables(good) if good else SCHEMA.empty_table()
        return table, len(rows) - table.num_rows


class PredictionLogWriter:
    """Buffers rows and writes them to the ``predictions`` table from a background thread.

    ``max_buffered_rows`` caps what waits in memory (default: 20 batches); rows past it are
    dropped and counted in :attr:`dropped`. Register nothing with ``atexit``: whoever owns the
    writer (the gateway) calls :meth:`close` on a graceful stop.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        flush_seconds: float | None = None,
        batch_rows: int | None = None,
        max_buffered_rows: int | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.uri = table_uri(self.settings)
        self.flush_seconds = max(
            0.01,
            float(
                self.settings.predictions_flush_seconds if flush_seconds is None else flush_seconds
            ),
        )
        self.batch_rows = max(1, int(batch_rows or self.settings.predictions_batch_rows))
        self.max_buffered_rows = max(1, int(max_buffered_rows or 20 * self.batch_rows))
        # Counters: rows lost (buffer cap, unusable, or unwritten at close), rows written, Delta
        # commits made, failed write attempts.
        self.dropped = 0
        self.written = 0
        self.commits = 0
        self.failures = 0
        self.last_error: str | None = None
        self._buffer: list[dict[str, Any]] = []
        # A batch whose write failed, kept as Arrow rows for the next try.
        self._pending: pa.Table | None = None
        self._cond = threading.Condition()
        # One write at a time: the background thread and flush() callers take turns.
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._last_drop_log = 0.0
        self._last_error_log = 0.0

    # -- the request path ---------------------------------------------------------------------

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Buffer ``rows`` (one per answered machine); never blocks on I/O."""
        if not rows:
            return
        with self._cond:
            if self._closed:
                self._drop(len(rows), "the writer is closed")
                return
            room = self.max_buffered_rows - len(self._buffer) - self._pending_rows()
            if room < len(rows):
                self._drop(len(rows) - max(room, 0), "buffer full (storage slow or down?)")
                rows = rows[: max(room, 0)]
            self._buffer.extend(rows)
            if self._thread is None:
                self._start()
            if len(self._buffer) >= self.batch_rows:
                self._cond.notify()

    def _pending_rows(self) -> int:
        return 0 if self._pending is None else self._pending.num_rows

    def _drop(self, count: int, why: str) -> None:
        """Count lost rows; log at most once a second (called with the lock held)."""
        self.dropped += count
        now = time.monotonic()
        if now - self._last_drop_log >= 1.0:
            self._last_drop_log = now
            log.warning(
                "prediction log: %d row(s) dropped, %s; %d dropped in all", count, why, self.dropped
            )

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    # -- the writer ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_seconds
                while not self._closed and len(self._buffer) < self.batch_rows:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                stopping = self._closed
            self._write_buffered()
            if stopping:
                return

    def _write_buffered(self) -> bool:
        """Write what is buffered now in one commit; on failure keep it. True: all written."""
        with self._write_lock:
            with self._cond:
                rows, self._buffer = self._buffer, []
            table, unusable = to_table(rows) if rows else (SCHEMA.empty_table(), 0)
            with self._cond:
                self.dropped += unusable
                if self._pending is not None:  # an earlier failed batch goes first
                    table = pa.concat_tables([self._pending, table])
                    self._pending = None
            if table.num_rows == 0:
                return True
            try:
                self._commit(table)
            except Exception as exc:  # storage errors come in many types: keep the rows
                self._failed(table, exc)
                return False
            self.written += table.num_rows
            self.commits += 1
            if self.last_error is not None:
                log.info("prediction log: writing to %s again", self.uri)
                self.last_error = None
            return True

    def _commit(self, table: pa.Table) -> None:
        from deltalake import write_deltalake

        write_deltalake(
            self.uri,
            table,
            mode="append",
            partition_by=[PARTITION],
            storage_options=self.settings.storage_options or None,
        )

    def _failed(self, table: pa.Table, exc: Exception) -> None:
        """Keep the failed batch for the next try; it counts against the buffer's cap."""
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if self.failures == 1 or now - self._last_error_log >= _ERROR_LOG_SECONDS:
            self._last_error_log = now
            log.error(
                "prediction log: writing %d row(s) to %s failed (%s); kept for the next try",
                table.num_rows,
                self.uri,
                self.last_error,
            )
        with self._cond:
            overflow = table.num_rows + len(self._buffer) - self.max_buffered_rows
            if overflow > 0:
                # The newest rows go, so what is kept stays in order for the next commit.
                cut = min(overflow, len(self._buffer))
                if cut:
                    self._buffer = self._buffer[: len(self._buffer) - cut]
                if overflow > cut:
                    table = table.slice(0, table.num_rows - (overflow - cut))
                self._drop(overflow, "buffer full while the table cannot be written")
            self._pending = table

    # -- lifecycle ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything appended before this call (blocking). A failed write is logged and
        its rows stay buffered: check :attr:`last_error`."""
        self._write_buffered()

    def close(self) -> None:
        """Flush and stop the background thread; rows that still cannot be written are counted
        in :attr:`dropped` and logged."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        if not self._write_buffered():
            with self._cond:
                lost = len(self._buffer) + self._pending_rows()
                self._buffer, self._pending = [], None
                self.dropped += lost
            log.error(
                "prediction log: %d row(s) lost at close, %s could not be written (%s)",
                lost,
                self.uri,
                self.last_error,
            )

    @property
    def buffered(self) -> int:
        """Rows waiting to be written."""
        with self._cond:
            return len(self._buffer) + self._pending_rows()

    def stats(self) -> dict[str, Any]:
        """Counters for status pages and metrics."""
        return {
            "buffered": self.buffered,
            "written": self.written,
            "commits": self.commits,
            "dropped": self.dropped,
            "failures": self.failures,
            "last_error": self.last_error,
        }


def read_predictions(
    settings: Settings | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    columns: list[str] | None = None,
) -> pa.Table:
    """The logged answers with ``since <= ts < until`` (either bound optional), in table order.

    Only the ``day`` partitions within the bounds are read. No table yet: an empty table of
    :data:`SCHEMA`.
    """
    from ml_tasks.elt import lake

    s = settings or get_settings()
    wanted = list(columns or COLUMNS)
    filters: list[tuple[str, str, Any]] = []
    start, stop = _as_utc(since), _as_utc(until)
    if start is not None:
        filters += [(PARTITION, ">=", start.date()), ("ts", ">=", start)]
    if stop is not None:
        filters += [(PARTITION, "<=", stop.date()), ("ts", "<", stop)]
    table = lake.read_table(table_uri(s), s, columns=wanted, filters=filters)
    if table is None:
        return pa.schema([SCHEMA.field(c) for c in wanted]).empty_table()
    return table
