"""make run's quiet console: dag.test()'s reschedule chatter stays in the task logs only."""

from __future__ import annotations

import logging

from ml_platform_demo.orchestration import _TaskLogSink


def _record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("airflow.sdk.definitions.dag", level, "dag.py", 1, message, (), None)


def test_quiet_console_drops_the_wait_loop_but_keeps_real_warnings() -> None:
    sink = _TaskLogSink()
    sink.quiet = True
    assert not sink.stdlib_filter(_record("No tasks to run. unrunnable tasks: {<TI shadow>}"))
    assert sink.stdlib_filter(_record("gate drift: BLOCKED failure_model v4"))
    assert not sink.stdlib_filter(_record("a detail", logging.INFO))
    sink.quiet = False
    assert sink.stdlib_filter(_record("No tasks to run. unrunnable tasks: {<TI shadow>}"))
