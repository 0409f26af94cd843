"""Small builders shared by the tests: landing files, table reads, a JSON fake-server handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

MACHINES_CSV = (
    "machine_id,plant_id,line_id,machine_model,install_date\n"
    "M-0001,P1,P1-L1,CNC-A,2020-01-01\n"
    "M-0002,P2,P2-L1,PUMP-C,2021-05-01\n"
)


def event(event_id: str | None, ts: str, machine: str = "M-0001", **sensors: Any) -> dict:
    """A telemetry event with sane readings, overridable per sensor."""
    row = {
        "event_id": event_id,
        "machine_id": machine,
        "event_ts": ts,
        "temperature_c": 60.0,
        "vibration_mm_s": 2.5,
        "pressure_bar": 6.0,
        "rotation_rpm": 3000.0,
        "power_kw": 15.0,
    }
    row.update(sensors)
    return row


def write_landing(landing: Path, source: str, day: date, rows: list[dict | str]) -> Path:
    """Write one landing file; a ``str`` row is written verbatim (for malformed lines)."""
    folder = landing / source / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("events.jsonl" if source == "telemetry" else "cdc.jsonl")
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def write_machines(landing: Path, text: str = MACHINES_CSV) -> None:
    (landing / "reference").mkdir(parents=True, exist_ok=True)
    (landing / "reference" / "machines.csv").write_text(text)


def read_sorted(settings: Any, table: str, key: str) -> Any:
    """A curated table as a pandas frame sorted by ``key`` (None when absent)."""
    from ml_tasks.elt import lake

    data = lake.read_table(settings.table_uri(table), settings)
    if data is None:
        return None
    return data.to_pandas().sort_values(key).reset_index(drop=True)


class JsonHandler(BaseHTTPRequestHandler):
    """Base of the fake Airflow API servers: JSON answers, no request logging."""

    def _answer(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass


# set_path's value that deletes the key instead of setting it.
DELETE = object()


def set_path(body: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set (or, with :data:`DELETE`, remove) the item at ``path`` in a nested manifest."""
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


def clean_env(home: Path) -> dict[str, str]:
    """The parent environment without any Airflow/platform setting, pointed at ``home``: a child
    process then configures Airflow from the project's own defaults only."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME", "PLATFORM_"))
    }
    env["PLATFORM_HOME"] = str(home)
    return env


def run_python(
    args: list[str], env: dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """``python <args>`` from the repository root with ``env``; output captured, never raises."""
    from ml_tasks.settings import REPO_ROOT

    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
