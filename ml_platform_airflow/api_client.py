"""A small client of Airflow's public REST API v2: a token from ``/auth/token``, then JSON calls.

Both users of the API go through it: the task notes (:mod:`ml_platform_airflow.notes`, a gate
task setting its verdict as its own note) and the demo's embedded-service tooling (pause state and
backfills). Authentication is the one the README shows for ``make ui``: ``POST /auth/token`` with
a user and password (the SimpleAuthManager password file the embedded API server generates under
``AIRFLOW_HOME``, or a production login), then ``Authorization: Bearer <token>``. Standard library
only, nothing at import time.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

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


def quote(part: str) -> str:
    """One path segment (a DAG, run or task id), fully escaped: run ids hold ``:`` and ``+``."""
    return urllib.parse.quote(part, safe="")


@dataclass
class AirflowApiClient:
    """Calls on ``base_url`` (``http://host:port``) with a bearer token."""

    base_url: str
    token: str
    timeout_s: float = TIMEOUT_S

    @classmethod
    def login(
        cls, base_url: str, username: str, password: str, timeout_s: float = TIMEOUT_S
    ) -> Self:
        """Exchange a user and password for a token (``POST /auth/token``)."""
        credentials = {"username": username, "password": password}
        answer = request("POST", base_url, "/auth/token", credentials, timeout_s=timeout_s)
        return cls(base_url, str(answer["access_token"]), timeout_s)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer. Raises :class:`AirflowApiError` on HTTP errors."""
        return request(method, self.base_url, path, body, query, self.token, self.timeout_s)

    def all_pages(self, path: str, key: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a collection endpoint (pages capped by ``[api] maximum_page_limit``)."""
        items: list[dict[str, Any]] = []
        while True:
            answer = self.call("GET", path, query={**query, "offset": len(items), "limit": 100})
            page = list(answer[key])
            items += page
            if not page or len(items) >= int(answer["total_entries"]):
                return items


def request(
    method: str,
    base_url: str,
    path: str,
    body: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    token: str | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Any:
    """``method`` on ``base_url + path``: JSON in and out; HTTP errors as :class:`AirflowApiError`.

    Connection failures and timeouts stay ``OSError`` (``URLError`` is one).
    """
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
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:2000]
        raise AirflowApiError(method, path, err.code, detail) from err
