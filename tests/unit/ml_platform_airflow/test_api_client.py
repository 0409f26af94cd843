"""The REST API v2 client the notes and the demo share: login, JSON calls, HTTP errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import HTTPServer

import pytest

from ml_platform_airflow.api_client import (
    PASSWORD_FILE,
    AirflowApiClient,
    AirflowApiError,
    login_from_password_file,
)
from tests.helpers import JsonHandler


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str, str | None]]]]:
    """A token route and one DAG route (404 for any other DAG), recording every request."""
    seen: list[tuple[str, str, str | None]] = []

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            seen.append(("POST", self.path, self.headers.get("Authorization")))
            self._answer(201, {"access_token": "tok-7"})

        def do_GET(self) -> None:
            seen.append(("GET", self.path, self.headers.get("Authorization")))
            if self.path.startswith("/api/v2/dags/known"):
                self._answer(200, {"dag_id": "known", "is_paused": True})
            else:
                self._answer(404, {"detail": "DAG not found"})

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_login_then_calls_carry_the_token_and_the_query(server):
    url, seen = server
    client = AirflowApiClient.login(url, "admin", "s3cret", timeout_s=5)
    assert client.token == "tok-7"
    assert client.call("GET", "/api/v2/dags/known", query={"limit": 1}) == {
        "dag_id": "known",
        "is_paused": True,
    }
    assert seen == [
        ("POST", "/auth/token", None),
        ("GET", "/api/v2/dags/known?limit=1", "Bearer tok-7"),
    ]


def test_an_http_error_keeps_its_status_and_detail(server):
    url, _ = server
    with pytest.raises(AirflowApiError, match="GET /api/v2/dags/nope -> HTTP 404") as err:
        AirflowApiClient(url, "tok").call("GET", "/api/v2/dags/nope")
    assert err.value.status == 404
    assert "DAG not found" in str(err.value)


def test_the_password_file_gives_admin_first(tmp_path):
    (tmp_path / PASSWORD_FILE).write_text(json.dumps({"viewer": "v", "admin": "a"}))
    assert login_from_password_file(tmp_path) == ("admin", "a")
    (tmp_path / PASSWORD_FILE).write_text("{}")
    with pytest.raises(RuntimeError, match="lists no user"):
        login_from_password_file(tmp_path)
    with pytest.raises(RuntimeError, match="cannot read"):
        login_from_password_file(tmp_path / "elsewhere")
