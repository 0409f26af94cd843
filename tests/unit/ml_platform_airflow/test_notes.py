"""Task notes through the REST API v2: token, then PATCH of the task instance's note."""

from __future__ import annotations

import json
import logging
import threading
from http.server import HTTPServer
from types import SimpleNamespace

import pytest

from ml_platform_airflow import notes
from ml_platform_airflow.sensors import PromotionGateSensor
from tests.helpers import JsonHandler


class FakeApi:
    """The two Airflow API routes the notes use, recording what it was sent."""

    def __init__(self, patch_status: int = 200) -> None:
        self.requests: list[dict] = []
        api = self

        class Handler(JsonHandler):
            def _record(self) -> dict:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                entry = {
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": body,
                }
                api.requests.append(entry)
                return entry

            def do_POST(self) -> None:
                entry = self._record()
                ok = entry["body"] == {"username": "admin", "password": "s3cret"}
                self._answer(201 if ok else 401, {"access_token": "tok-1"} if ok else {})

            def do_PATCH(self) -> None:
                self._record()
                self._answer(patch_status, {"task_instances": [], "total_entries": 1})

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


TI = SimpleNamespace(
    dag_id="promote_model",
    run_id="manual__2026-10-30T00:00:00+00:00",
    task_id="gate_metrics",
    map_index=-1,
)


@pytest.fixture
def airflow_home(tmp_path, monkeypatch):
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text(
        json.dumps({"admin": "s3cret"})
    )
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for name in ("PLATFORM_AIRFLOW_API_TOKEN", "PLATFORM_AIRFLOW_API_USER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_note_is_patched_with_a_token_from_the_generated_password(airflow_home, monkeypatch):
    with FakeApi() as api:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", api.url + "/")
        assert notes.set_task_note(TI, "**gate metrics: BLOCKED**") is True
    token, patch = api.requests
    assert (token["method"], token["path"]) == ("POST", "/auth/token")
    assert patch["method"] == "PATCH"
    assert patch["path"] == (
        "/api/v2/dags/promote_model/dagRuns/manual__2026-10-30T00%3A00%3A00%2B00%3A00"
        "/taskInstances/gate_metrics?update_mask=note"
    )
    assert patch["auth"] == "Bearer tok-1"
    assert patch["body"] == {"note": "**gate metrics: BLOCKED**"}


def test_a_refused_note_never_fails_the_task(airflow_home, monkeypatch, caplog):
    with FakeApi(patch_status=403) as api:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", api.url)
        with caplog.at_level(logging.INFO):
            assert notes.set_task_note(TI, "verdict") is False
    assert "task note not set" in caplog.text and "403" in caplog.text


def test_without_an_api_server_the_note_is_skipped(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    with caplog.at_level(logging.INFO):
        assert notes.set_task_note(TI, "verdict") is False
    assert "no Airflow API server" in caplog.text


def test_a_long_note_is_cut_to_what_the_api_accepts():
    lines = [f"FAIL metric_{i}: challenger 0.1 < minimum 0.7" for i in range(80)]
    note = notes.compose_note("gate metrics: BLOCKED failure_model v3", lines)
    assert len(note) <= notes.MAX_NOTE_CHARS
    assert note.startswith("**gate metrics: BLOCKED failure_model v3**\n- FAIL metric_0")
    assert note.endswith("(the task log has every check)")
    short = notes.compose_note("gate drift: PASSED", ["PASS no alarm"])
    assert short == "**gate drift: PASSED**\n- PASS no alarm"


class GateTI(SimpleNamespace):
    def xcom_push(self, key, value):
        self.pushed = {key: value}


def test_a_blocking_gate_logs_its_reasons_and_notes_them(airflow_home, monkeypatch, capsys):
    from airflow.sdk.exceptions import AirflowFailException

    from ml_tasks.release.gates import Check, GateDecision

    check = Check(
        "max_regression_abs",
        "roc_auc",
        0.61,
        0.93,
        0.01,
        False,
        "roc_auc: challenger 0.6100 vs champion 0.9300: regression 0.3200 > "
        "max_regression_abs 0.0100",
    )
    decision = GateDecision("metrics", "failure_model", "3", "2", False, (check,))
    monkeypatch.setattr("ml_tasks.release.gates.decide", lambda *a, **k: decision)
    sensor = PromotionGateSensor(task_id="gate_metrics", gate="metrics", version="3")
    ti = GateTI(**vars(TI))
    with FakeApi() as api:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", api.url)
        with pytest.raises(AirflowFailException):
            sensor.poke({"ti": ti})
    # Operators log through structlog (the task log); in a test it lands on stdout.
    warned = [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]
    assert any("FAIL roc_auc: challenger 0.6100 vs champion 0.9300" in m for m in warned)
    note = api.requests[-1]["body"]["note"]
    assert note.startswith("**gate metrics: BLOCKED failure_model v3 (champion v2)")
    assert "- FAIL roc_auc: challenger 0.6100 vs champion 0.9300" in note
    assert "max_regression_abs 0.0100" in note


def test_note_current_task_notes_the_running_task(airflow_home, monkeypatch):
    import airflow.sdk

    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: {"ti": TI})
    with FakeApi() as api:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", api.url)
        assert notes.note_current_task("drift gate 2026-10-09: BREACH", ["fleet: 5%"]) is True
    assert api.requests[-1]["body"] == {"note": "**drift gate 2026-10-09: BREACH**\n- fleet: 5%"}
