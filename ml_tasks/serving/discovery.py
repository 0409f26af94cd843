"""Where a running gateway listens: ``settings.gateway_url``, else the local run file.

``python -m ml_tasks serve`` writes ``<platform_home>/run/gateway.json`` (url, pid, started_at)
once it listens and removes it when it stops. :func:`gateway_url` trusts the file only while
its process lives and ``/v2/health/live`` answers 200, so a file left by a killed server is
ignored. Standard library only: fast CLIs (``predict``, ``search``) import this to decide
whether to call the gateway.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings, get_settings

RUN_FILE = "gateway.json"
LIVE_PATH = "/v2/health/live"


def run_file(settings: Settings | None = None) -> Path:
    """The run file of the settings' platform home."""
    return (settings or get_settings()).platform_home / "run" / RUN_FILE


def write_run_file(settings: Settings | None, url: str, *, pid: int | None = None) -> Path:
    """Record that this process serves at ``url`` (written atomically)."""
    path = run_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "url": url.rstrip("/"),
        "pid": os.getpid() if pid is None else pid,
        "started_at": datetime.now(UTC).isoformat(),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record) + "\n")
    os.replace(tmp, path)
    return path


def remove_run_file(settings: Settings | None = None, *, pid: int | None = None) -> None:
    """Remove the run file if this process (or ``pid``) wrote it; another server's stays."""
    path = run_file(settings)
    record = read_run_file(settings)
    owner = os.getpid() if pid is None else pid
    if record is not None and record.get("pid") not in (owner, None):
        return
    path.unlink(missing_ok=True)


def read_run_file(settings: Settings | None = None) -> dict[str, Any] | None:
    """The run file's record, or None when there is none (or it is unreadable)."""
    try:
        record = json.loads(run_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def is_live(url: str, timeout: float = 0.5) -> bool:
    """True when ``GET <url>/v2/health/live`` answers 200 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + LIVE_PATH, timeout=timeout) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def gateway_url(settings: Settings | None = None, timeout: float = 0.5) -> str | None:
    """The gateway to call: ``settings.gateway_url`` if set, else a live local one, else None."""
    s = settings or get_settings()
    if s.gateway_url:
        return s.gateway_url.rstrip("/")
    record = read_run_file(s)
    if record is None:
        return None
    url, pid = record.get("url"), record.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or not pid_alive(pid):
        return None
    return url if is_live(url, timeout) else None
