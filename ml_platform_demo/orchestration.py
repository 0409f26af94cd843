"""Drive the embedded Airflow: initialise its metadata DB and run DAGs with ``dag.test()``.

Airflow reads its configuration when first imported, so :func:`use_embedded_airflow` must run
before anything imports ``airflow``; the functions here do that themselves.

:func:`run_dag_test` is ``dag.test()`` made to leave runs that look in the UI like the
scheduler's: the run's start date is when it started (``dag.test()`` sets it to the logical
date, so a run of seconds showed as weeks long) and every task attempt's log is written where
the API server reads it (``<base_log_folder>/<log_filename_template>``; ``dag.test()`` only
prints it, so the UI answered "not found on worker"). Running ``make run``'s days through the
real scheduler instead (``airflow backfill create``) gives the same but costs services and a
task process per task: 4 ELT days x 10 machines took 110 s that way (service start-up
included) against 15 s with :func:`run_dag_test`, measured side by side on the 2-core dev box.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Generator, Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from ml_tasks.settings import Settings, airflow_env, get_settings


def use_embedded_airflow(settings: Settings | None = None) -> dict[str, str]:
    """Point this process (and its children) at the embedded Airflow under PLATFORM_HOME."""
    env = airflow_env(settings)
    os.environ.update(env)
    return env


def init_airflow_db(settings: Settings | None = None) -> None:
    """Create or upgrade the Airflow metadata DB (idempotent; ~4 s on SQLite)."""
    s = settings or get_settings()
    env = {**os.environ, **use_embedded_airflow(s)}
    s.airflow_home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def load_dag(dag_id: str, settings: Settings | None = None) -> Any:
    """Parse the project's DAG folder and return one DAG (raises with the import errors)."""
    s = settings or get_settings()
    use_embedded_airflow(s)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(s.dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    if dag_id not in bag.dags:
        raise KeyError(f"no DAG {dag_id!r} in {s.dags_folder}")
    return bag.dags[dag_id]


def interval_run_time(day: date) -> datetime:
    """The logical date of a daily DAG's run for landing day ``day``: ``day`` 00:00 UTC.

    The platform's date rule: the run whose data interval is [D, D+1) processes landing day D
    and has logical date D, as the scheduler and ``airflow backfill create`` create it; the
    daily DAGs' timetable (``ml_platform_airflow/timetables.py``) gives a manual run or
    ``dag.test()`` at this logical date that same interval, so a later backfill over the day
    finds and re-runs this very run.
    """
    return datetime.combine(day, time.min, tzinfo=UTC)


def as_of_run_time(day: date) -> datetime:
    """The instant landing day ``day`` ends: a manual run of an asset-scheduled DAG at this
    logical date (zero-length data interval) covers ``day`` (see features ``landing_days``)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def test_dag_for_days(
    dag_id: str, days: Iterable[date], settings: Settings | None = None
) -> list[tuple[date, str]]:
    """Run a daily DAG once per landing day with ``dag.test()``; returns (day, final state)."""
    dag = load_dag(dag_id, settings)
    results = []
    for day in days:
        dag_run = run_dag_test(dag, interval_run_time(day))
        results.append((day, str(dag_run.state)))
    return results


def run_dag_test(
    dag: Any,
    logical_date: datetime | None = None,
    run_conf: dict[str, Any] | None = None,
    *,
    consumed_event_ids: Iterable[int] = (),
) -> Any:
    """``dag.test()`` with a real run start date and task logs where the UI reads them.

    ``logical_date`` None: now, like ``dag.test()`` without one. ``consumed_event_ids``: asset
    events (already recorded, e.g. by an upstream DAG's run) the run consumes, as the run the
    scheduler creates for them would (``triggering_asset_events`` in its tasks); ``dag.test()``
    runs no scheduler to deliver them. Returns the finished DagRun.
    """
    kwargs: dict[str, Any] = {"run_conf": run_conf}
    if logical_date is not None:  # dag.test(logical_date=None) means "no logical date"
        kwargs["logical_date"] = logical_date
    with _run_starts_now(list(consumed_event_ids)), _task_log_files():
        return dag.test(**kwargs)


def latest_asset_event(
    uri: str, since: datetime | None = None
) -> tuple[int, dict[str, Any]] | None:
    """The newest recorded event of the asset ``uri`` (after ``since``): its id and extra."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.timestamp.desc())
        )
        if since is not None:
            query = query.where(AssetEvent.timestamp >= since)
        event = session.scalars(query.limit(1)).first()
        return (int(event.id), dict(event.extra or {})) if event is not None else None


def quiet_console(quiet: bool = True) -> None:
    """From now on keep log records below WARNING off this process's console; the task log
    files still get them.

    ``dag.test()`` prints every task's log lines; ``make run`` wants its summary instead. The
    records must still be produced (Airflow's logging level INFO) for the task logs to hold them.
    """
    _log_sink().quiet = quiet


@contextlib.contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Generator[None, None, None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def _run_starts_now(consumed_event_ids: list[int] | None = None) -> Generator[None, None, None]:
    """Create ``dag.test()``'s run with start date = now instead of its logical date (and
    the given recorded asset events attached as the ones it consumed)."""
    import airflow.models.dagrun as dagrun_module

    create = dagrun_module.get_or_create_dagrun

    def create_started_now(**kwargs: Any) -> Any:
        kwargs["start_date"] = datetime.now(UTC)
        run = create(**kwargs)
        if consumed_event_ids:
            from airflow.models.asset import AssetEvent

            session = kwargs["session"]
            for event_id in consumed_event_ids:
                run.consumed_asset_events.append(session.get(AssetEvent, event_id))
            session.commit()
        return run

    # dag.test() imports the function when called, so replacing the module attribute works.
    with _replaced(dagrun_module, "get_or_create_dagrun", create_started_now):
        yield


_WAITING_FOR_RESCHEDULE = "No tasks to run. unrunnable tasks"
_DECIDED_NO = "airflow.sdk.exceptions.AirflowFailException: "


class _TaskLogSink:
    """Writes the log records of the task attempt that runs now to its log file (JSON lines,
    the format the API server's task-log reader parses), from structlog and stdlib logging."""

    def __init__(self) -> None:
        self.quiet = False
        self.file: TextIO | None = None
        self.owner: int | None = None  # the thread running the task; others are not its log
        self.last_record: logging.LogRecord | None = None

    @contextlib.contextmanager
    def writing_to(self, path: Path) -> Generator[None, None, None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Append: a rescheduled sensor pokes again under the same attempt, like on a worker.
        with path.open("a", encoding="utf-8") as file:
            self.file, self.owner = file, threading.get_ident()
            try:
                yield
            finally:
                self.file, self.owner = None, None

    def _write(self, record: dict[str, Any]) -> None:
        if self.file is not None and threading.get_ident() == self.owner:
            self.file.write(json.dumps(record, default=str) + "\n")
            self.file.flush()

    def structlog_processor(self, _logger: Any, _method: str, event: Any) -> Any:
        import structlog

        record = structlog.processors.format_exc_info(None, "", dict(event))
        stamp = record.get("timestamp")
        if not isinstance(stamp, str):
            record["timestamp"] = datetime.now(UTC).isoformat()
        self._write(dict(record))
        level = logging.getLevelName(str(record.get("level", "info")).upper())
        if self.quiet and isinstance(level, int) and level < logging.WARNING:
            raise structlog.DropEvent
        # dag.test() says this once a second while a sensor waits for its reschedule (the live
        # release's shadow and canary steps): the sensor's own log tells what it waits for.
        if self.quiet and str(record.get("event", "")).startswith(_WAITING_FOR_RESCHEDULE):
            raise structlog.DropEvent
        # A gate's decided "no" (AirflowFailException, no retry) is summarised by the demo and
        # the alert line; its traceback stays in the task log. Other failures keep theirs.
        if self.quiet and _DECIDED_NO in str(record.get("exception", "")):
            raise structlog.DropEvent
        return event

    def _console(self, rec: logging.LogRecord, text: str) -> bool:
        """Whether a stdlib record also goes to the console (the task log gets it anyway)."""
        if not self.quiet:
            return True
        # dag.test()'s own logger (stdlib) says this once a second while a sensor waits.
        return rec.levelno >= logging.WARNING and not text.startswith(_WAITING_FOR_RESCHEDULE)

    def stdlib_filter(self, rec: logging.LogRecord) -> bool:
        if rec is self.last_record:  # one record, several root handlers: write it once
            return self._console(rec, rec.getMessage())
        self.last_record = rec
        text = rec.getMessage()
        if rec.exc_info:
            text += "\n" + logging.Formatter().formatException(rec.exc_info)
        stamp = datetime.fromtimestamp(rec.created, UTC).isoformat()
        self._write(
            {"timestamp": stamp, "level": rec.levelname.lower(), "event": text, "logger": rec.name}
        )
        return self._console(rec, text)


_SINK: list[_TaskLogSink] = []


def _log_sink() -> _TaskLogSink:
    """The process's one sink, hooked into Airflow's logging on first use (after its set-up).

    The structlog processor list is shared by every logger, cached ones too, so the processor
    goes in place, just before the renderer: the file gets the event after secret masking.
    """
    if not _SINK:
        import airflow.settings  # ruff: ignore[unused-import]  (configures Airflow's logging first)
        import structlog

        sink = _TaskLogSink()
        processors = structlog.get_config()["processors"]
        processors.insert(max(len(processors) - 1, 0), sink.structlog_processor)
        for handler in logging.getLogger().handlers:
            handler.addFilter(sink.stdlib_filter)
        _SINK.append(sink)
    return _SINK[0]


@contextlib.contextmanager
def _task_log_files() -> Generator[None, None, None]:
    """Write every task attempt's log records to the file the UI reads for that attempt."""
    import airflow.sdk.definitions.dag as sdk_dag
    from airflow.configuration import conf
    from airflow.utils.log.file_task_handler import FileTaskHandler

    base = Path(conf.get("logging", "base_log_folder"))
    # Airflow's own renderer: the path follows the configured log_filename_template.
    paths = FileTaskHandler(base_log_folder=str(base))
    sink = _log_sink()
    run_task = sdk_dag._run_task

    def run_task_logged(*, ti: Any, task: Any, run_triggerer: bool = False) -> Any:
        with sink.writing_to(base / paths._render_filename(ti, ti.try_number)):
            return run_task(ti=ti, task=task, run_triggerer=run_triggerer)

    # dag.test() calls _run_task once per task attempt (and per reschedule poke).
    with _replaced(sdk_dag, "_run_task", run_task_logged):
        yield
