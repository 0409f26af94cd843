"""Task notes: a gate's verdict where the Airflow UI shows it, on the task instance.

Airflow 3.3's Task SDK gives a running task no call that sets a note: the Execution API a task
talks to has no note route (only a DAG run that a task *triggers* can be given one). The public
REST API v2 can, as a logged-in user::

    POST  /auth/token                                         {"username", "password"}
    PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}?update_mask=note
          {"note": "..."}

:func:`set_task_note` does exactly that for the running task instance, with the package's REST
client (:mod:`ml_platform_airflow.api_client`). Where the API is:
``AIRFLOW__API__BASE_URL`` (``make ui`` and ``make backfill`` set it for every task; production
sets it). Who it is: ``PLATFORM_AIRFLOW_API_TOKEN``, or ``PLATFORM_AIRFLOW_API_USER`` and
``PLATFORM_AIRFLOW_API_PASSWORD``, or the SimpleAuthManager password file that the embedded API
server generates under ``AIRFLOW_HOME``.

Best effort by design: the note is a convenience for the person reading the UI; the verdict is
always in the task log and the XCom too. Without an API server (``dag.test`` runs) or when the
call fails, the note is skipped with one INFO line and the task goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml_platform_airflow.api_client import (
    PASSWORD_FILE,
    AirflowApiClient,
    AirflowApiError,
    login_from_password_file,
    quote,
)

API_BASE_ENV = "AIRFLOW__API__BASE_URL"
TOKEN_ENV = "PLATFORM_AIRFLOW_API_TOKEN"
USER_ENV = "PLATFORM_AIRFLOW_API_USER"
PASSWORD_ENV = "PLATFORM_AIRFLOW_API_PASSWORD"
# The API rejects longer notes (PatchTaskInstanceBody.note max_length).
MAX_NOTE_CHARS = 1000
TIMEOUT_S = 5.0


def compose_note(headline: str, lines: Sequence[str] = ()) -> str:
    """Markdown for the UI's note panel: the verdict first, one bullet per check, <= 1000 chars."""
    text = "\n".join([f"**{headline}**", *(f"- {line}" for line in lines)])
    if len(text) <= MAX_NOTE_CHARS:
        return text
    cut = text[: MAX_NOTE_CHARS - 40].rsplit("\n", 1)[0]
    return f"{cut}\n- ... (the task log has every check)"


def _credentials() -> tuple[str, str] | None:
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password:
        return user, password
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    try:
        return login_from_password_file(home)
    except RuntimeError:
        return None


def _client(base: str) -> AirflowApiClient:
    token = os.environ.get(TOKEN_ENV)
    if token:
        return AirflowApiClient(base, token, TIMEOUT_S)
    credentials = _credentials()
    if credentials is None:
        raise ValueError(
            f"no API credentials ({TOKEN_ENV}, {USER_ENV}/{PASSWORD_ENV} or {PASSWORD_FILE})"
        )
    return AirflowApiClient.login(base, *credentials, timeout_s=TIMEOUT_S)


def note_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The REST API v2 path of one task instance (its note is updated with ``update_mask``)."""
    path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}"
    if map_index is not None and map_index >= 0:
        path += f"/{map_index}"
    return path


def set_task_note(ti: Any, note: str, log: logging.Logger | Any | None = None) -> bool:
    """Set the note of the running task instance ``ti``; True when the API accepted it."""
    log = log or logging.getLogger(__name__)
    base = os.environ.get(API_BASE_ENV, "").strip().rstrip("/")
    ids = [getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id")]
    if not base or not all(isinstance(i, str) and i for i in ids):
        log.info("task note not set (no Airflow API server to call, e.g. a dag.test run)")
        return False
    dag_id, run_id, task_id = (str(i) for i in ids)
    path = note_path(dag_id, run_id, task_id, map_index=getattr(ti, "map_index", -1))
    try:
        _client(base).call("PATCH", path, {"note": note}, {"update_mask": "note"})
    except (AirflowApiError, OSError, ValueError, KeyError) as err:
        # HTTP errors, refused connections, timeouts: the verdict is in the log anyway.
        log.info("task note not set (PATCH %s%s): %s", base, path, err)
        return False
    log.info("task note set: %s", note.splitlines()[0])
    return True


def note_current_task(headline: str, lines: Sequence[str] = ()) -> bool:
    """Note the running task's verdict (call it inside a ``@task`` body)."""
    from airflow.sdk import get_current_context

    return set_task_note(get_current_context()["ti"], compose_note(headline, lines))
