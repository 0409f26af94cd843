"""Integration fixtures: one real Airflow metadata DB per session, DAGs loaded from dags/."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    from ml_platform_demo.orchestration import init_airflow_db

    init_airflow_db()


@pytest.fixture(scope="session")
def elt_dag(airflow_db):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag("elt_telemetry")
    # dag.test() waits out retry delays; the failure tests want the first failure to be final.
    for task in dag.tasks:
        task.retries = 0
    return dag


class _Webhook:
    """A real HTTP endpoint on loopback that records the JSON bodies posted to it."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook(monkeypatch):
    hook = _Webhook()
    monkeypatch.setenv("PLATFORM_ALERT_WEBHOOK", hook.url)
    yield hook
    hook.server.shutdown()
