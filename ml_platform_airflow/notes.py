"""Task notes: a gate's verdict where the Airflow UI shows it, on the task instance.

Airflow 3.3's Task SDK gives a running task no call that sets a note: the Execution API a task
talks to has no note route (only a DAG run that a task *triggers* can be given one). The public
REST API v2 can, as a logged-in user::

    POST  /auth/token                                         {"username", "password"}
    PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}?update_mask=note
          {"note": "..."}

:func:`set_task_note` does exactly that for the running task instance. Where the API is:
``AIRFLOW__API__BASE_URL`` (``make ui`` and ``make backfill`` set it for every task; production
sets it). Who it is: ``PLATFORM_AIRFLOW_API_TOKEN``, or ``PLATFORM_AIRFLOW_API_USER`` and
``PLATFORM_AIRFLOW_API_PASSWORD``, or the SimpleAuthManager password file that the embedded API
server generates under ``AIRFLOW_HOME``.

Best effort by design: the note is a convenience for the person reading the UI; the verdict is
always in the task log and the XCom too. Without an API server (``dag.test`` runs) or when the
call fails, the note is skipped with one INFO line and the task goes on.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

API_BASE_ENV = "AIRFLOW__API__BASE_URL"
TOKEN_ENV = "PLATFORM_AIRFLOW_API_TOKEN"
USER_ENV = "PLATFORM_AIRFLOW_API_USER"
PASSWORD_ENV = "PLATFORM_AIRFLOW_API_PASSWORD"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
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
        passwords = json.loads((home / PASSWORD_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(passwords, dict) or not passwords:
        return None
    user = "admin" if "admin" in passwords else next(iter(passwords))
    return user, str(passwords[user])


def _call(method: str, url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return json.loads(response.read() or b"null")


def _token(base: str) -> str:
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    credentials = _credentials()
    if credentials is None:
        raise ValueError(
            f"no API credentials ({TOKEN_ENV}, {USER_ENV}/{PASSWORD_ENV} or {PASSWORD_FILE})"
        )
    user, password = credentials
    answer = _call("POST", f"{base}/auth/token", {"username": user, "password": password})
    return str(answer["access_token"])


def note_url(base: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The REST API v2 address of one task instance, asking to update its note only."""
    quote = urllib.parse.quote
    url = (
        f"{base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
        f"/taskInstances/{quote(task_id, safe='')}"
    )
    if map_index is not None and map_index >= 0:
        url += f"/{map_index}"
    return url + "?update_mask=note"


def set_task_note(ti: Any, note: str, log: logging.Logger | Any | None = None) -> bool:
    """Set the note of the running task instance ``ti``; True when the API accepted it."""
    log = log or logging.getLogger(__name__)
    base = os.environ.get(API_BASE_ENV, "").strip().rstrip("/")
    ids = [getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id")]
    if not base or not all(isinstance(i, str) and i for i in ids):
        log.info("task note not set (no Airflow API server to call, e.g. a dag.test run)")
        return False
    dag_id, run_id, task_id = (str(i) for i in ids)
    url = note_url(base, dag_id, run_id, task_id, map_index=getattr(ti, "map_index", -1))
    try:
        _call("PATCH", url, {"note": note}, _token(base))
    except (OSError, ValueError, KeyError, urllib.error.URLError) as err:
        # OSError covers HTTPError and refused connections: the verdict is in the log anyway.
        log.info("task note not set (%s %s): %s", "PATCH", url, err)
        return False
    log.info("task note set: %s", note.splitlines()[0])
    return True


def note_current_task(headline: str, lines: Sequence[str] = ()) -> bool:
    """Note the running task's verdict (call it inside a ``@task`` body)."""
    from airflow.sdk import get_current_context

    return set_task_note(get_current_context()["ti"], compose_note(headline, lines))
