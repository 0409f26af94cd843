"""A small client of Airflow's public REST API v2, as the embedded services' tooling uses it.

The demo drives Airflow only through interfaces Airflow keeps stable across releases, its CLI and
this API, never through its metadata tables. Authentication is the one the README shows for
``make ui``: ``POST /auth/token`` with a user and password (the SimpleAuthManager password file
the embedded API server generates under ``AIRFLOW_HOME``), then ``Authorization: Bearer``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
TIMEOUT_S = 30.0


class AirflowApiError(RuntimeError):
    """A call the API answered with an HTTP error; ``status`` is its code."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {detail}")
        self.status = status


def login_from_password_file(airflow_home: Path) -> tuple[str, str]:
    """The ``admin`` user (else the first) and its password from the generated password file."""
    path = airflow_home / PASSWORD_FILE
    try:
        passwords = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise RuntimeError(f"no API login: cannot read {path} ({err})") from err
    if not isinstance(passwords, dict) or not passwords:
        raise RuntimeError(f"no API login: {path} lists no user")
    user = "admin" if "admin" in passwords else next(iter(passwords))
    return user, str(passwords[user])


def parse_time(text: str | None) -> datetime | None:
    """An API timestamp (ISO 8601, ``Z`` or offset) as an aware datetime; None stays None."""
    return datetime.fromisoformat(text) if text else None


@dataclass
class AirflowApi:
    """Calls on ``base_url`` (``http://host:port``) with a bearer token."""

    base_url: str
    token: str

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> AirflowApi:
        """Exchange a user and password for a token (``POST /auth/token``)."""
        answer = _request(
            "POST", base_url, "/auth/token", {"username": username, "password": password}
        )
        return cls(base_url, str(answer["access_token"]))

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer. Raises :class:`AirflowApiError` on HTTP errors."""
        return _request(method, self.base_url, path, body, query, self.token)

    def all_pages(self, path: str, key: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a collection endpoint (pages capped by ``[api] maximum_page_limit``)."""
        items: list[dict[str, Any]] = []
        while True:
            answer = self.call("GET", path, query={**query, "offset": len(items), "limit": 100})
            page = list(answer[key])
            items += page
            if not page or len(items) >= int(answer["total_entries"]):
                return items

    # --- DAGs and runs -------------------------------------------------------------------

    def dag(self, dag_id: str) -> dict[str, Any]:
        """``GET /api/v2/dags/{dag_id}``; KeyError when Airflow does not know the DAG."""
        try:
            return dict(self.call("GET", f"/api/v2/dags/{_quote(dag_id)}"))
        except AirflowApiError as err:
            if err.status == 404:
                raise KeyError(f"DAG {dag_id!r} is not in the Airflow DB (import errors?)") from err
            raise

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG, as the UI's toggle and ``airflow dags pause`` do."""
        self.call(
            "PATCH",
            f"/api/v2/dags/{_quote(dag_id)}",
            {"is_paused": paused},
            {"update_mask": "is_paused"},
        )

    def dag_runs(
        self, dag_id: str, logical_date_gte: datetime, logical_date_lte: datetime
    ) -> list[dict[str, Any]]:
        """The DAG's runs with a logical date in the closed range, in logical-date order."""
        query = {
            "logical_date_gte": logical_date_gte.isoformat(),
            "logical_date_lte": logical_date_lte.isoformat(),
            "order_by": "logical_date",
        }
        return self.all_pages(f"/api/v2/dags/{_quote(dag_id)}/dagRuns", "dag_runs", query)

    def fail_dag_run(self, dag_id: str, run_id: str) -> None:
        """Mark a run failed, as "Mark failed" in the UI does (its running tasks are stopped)."""
        self.call(
            "PATCH",
            f"/api/v2/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}",
            {"state": "failed"},
            {"update_mask": "state"},
        )

    # --- backfills ------------------------------------------------------------------------

    def backfills(self, dag_id: str) -> list[dict[str, Any]]:
        """Every backfill of the DAG, oldest first."""
        return self.all_pages(
            "/api/v2/backfills", "backfills", {"dag_id": dag_id, "order_by": "id"}
        )

    def backfill(self, backfill_id: int) -> dict[str, Any]:
        """``GET /api/v2/backfills/{id}``."""
        return dict(self.call("GET", f"/api/v2/backfills/{backfill_id}"))

    def dry_run_backfill(self, body: dict[str, Any]) -> list[datetime]:
        """The logical dates a backfill with this body would run (``POST .../dry_run``)."""
        answer = self.call("POST", "/api/v2/backfills/dry_run", body)
        dates = (parse_time(item.get("logical_date")) for item in answer["backfills"])
        return [d for d in dates if d is not None]

    def create_backfill(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v2/backfills``: the created backfill (its runs are queued)."""
        return dict(self.call("POST", "/api/v2/backfills", body))

    def cancel_backfill(self, backfill_id: int) -> bool:
        """``PUT /api/v2/backfills/{id}/cancel``; False when it had completed already."""
        try:
            self.call("PUT", f"/api/v2/backfills/{backfill_id}/cancel")
        except AirflowApiError as err:
            if err.status == 409:  # "Backfill is already completed."
                return False
            raise
        return True


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _request(
    method: str,
    base_url: str,
    path: str,
    body: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    token: str | None = None,
) -> Any:
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:2000]
        raise AirflowApiError(method, path, err.code, detail) from err
