"""The gateway's HTTP service on real uvicorn (uvloop + httptools) over the real gateway.

A real registry and SQLite online store (tests/serving_fixtures.py) behind the server that
``python -m ml_tasks serve`` runs (:func:`ml_tasks.serving.server.build_server`), bound to a free
port: the V1 and V2 endpoints answer alike, ``/metrics`` counts what was sent, the run file
names the bound URL while it listens, ``python -m ml_tasks predict`` prints the answer through
it and exits 1 once no gateway runs; a SIGTERM to ``python -m ml_tasks serve`` stops it
gracefully with every answer in the prediction log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ml_tasks.serving import discovery
from ml_tasks.serving.server import build_server
from tests.release_fixtures import set_aliases

V2 = "/v2/models/failure_model/infer"


@contextmanager
def running(settings: Any) -> Generator[Any]:
    """The gateway's uvicorn server on a free port in a thread; stopped gracefully after."""
    server = build_server(settings, "127.0.0.1", 0, log_level="warning")
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "the server stopped during start-up"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive()


def _home(stack: Any, tmp_path: Path) -> Any:
    """The stack's settings with this test's own platform home (run file) and lake (log)."""
    return dataclasses.replace(stack.fresh(tmp_path), platform_home=tmp_path / "platform")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLATFORM_HOME": str(home)}
    env.pop("PLATFORM_GATEWAY_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "ml_tasks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(text: str) -> dict[tuple[str, ...], float]:
    return {
        (s.labels["route"], s.labels["alias"], s.labels["model_version"], s.labels["status"]): (
            s.value
        )
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gateway_requests_total"
    }


def test_v1_and_v2_answer_alike_through_uvicorn_and_metrics_count_them(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    settings = _home(stack, tmp_path)
    machines = stack.machines[:5]
    with running(settings) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v2/health/ready").json() == {"ready": True, "reason": None}
        v1 = http.post("/v1/predict", json={"machine_ids": [*machines, "M-9999"]})
        assert v1.status_code == 200 and v1.headers["content-type"] == "application/json"
        answers = v1.json()["answers"]
        assert [a["status"] for a in answers] == [200] * 5 + [404]
        assert {a["model_version"] for a in answers[:5]} == {stack.registry.better}

        v2 = http.post(
            V2,
            json={
                "id": "kserve-1",
                "inputs": [
                    {"name": "machine_id", "shape": [5], "datatype": "BYTES", "data": machines}
                ],
            },
        ).json()
        assert (v2["id"], v2["model_name"]) == ("kserve-1", "failure_model")
        assert v2["model_version"] == stack.registry.better
        outputs = {t["name"]: t["data"] for t in v2["outputs"]}
        assert outputs["machine_id"] == machines
        assert outputs["probability"] == [a["probability"] for a in answers[:5]]
        assert outputs["alert"] == [bool(a["alert"]) for a in answers[:5]]

        single = http.post("/v1/predict", json={"machine_ids": ["M-9999"]})
        assert single.status_code == 404 and single.json()["error"] == "unknown_machine"

        status = http.get("/v1/status").json()
        assert status["ready"] is True
        assert str(status["slots"]["champion"]["version"]) == stack.registry.better
        assert http.get("/v2/models/failure_model/ready").json()["ready"] is True
        assert http.post("/v1/admin/reload").status_code == 200

        counts = _counts(http.get("/metrics").text)
    better = stack.registry.better
    assert counts == {
        ("v1", "champion", better, "200"): 1.0,
        ("v2", "champion", better, "200"): 1.0,
        ("v1", "", "", "404"): 1.0,
    }


def test_the_run_file_and_the_predict_cli_follow_the_running_gateway(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    settings = _home(stack, tmp_path)
    home = settings.platform_home
    machine = stack.machines[0]
    with running(settings) as server:
        record = discovery.read_run_file(settings)
        assert record is not None and record["url"] == server.url
        assert record["pid"] == os.getpid()
        assert discovery.gateway_url(settings) == server.url

        text = _cli(home, "predict", "--machine-id", machine)
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith(f"{machine}: p=")
        assert f"model v{stack.registry.better} (champion)" in text.stdout

        as_json = _cli(home, "predict", "--machine-id", machine, "--machine-id", "M-9999", "--json")
        assert as_json.returncode == 1  # a machine was not scored
        body = json.loads(as_json.stdout)
        assert body["gateway"] == server.url
        assert [a["status"] for a in body["answers"]] == [200, 404]

    assert discovery.read_run_file(settings) is None  # removed at stop
    gone = _cli(home, "predict", "--machine-id", machine)
    assert gone.returncode == 1
    assert "no gateway is running" in gone.stderr and gone.stdout == ""


def test_sigterm_stops_ml_tasks_serve_gracefully_with_every_answer_logged(stack, tmp_path):
    from ml_tasks.serving.prediction_log import read_predictions

    set_aliases(stack.registry, champion=stack.registry.better)
    settings = _home(stack, tmp_path)
    reg = stack.settings
    env = {
        **os.environ,
        "PLATFORM_HOME": str(settings.platform_home),
        "PLATFORM_LAKE_URI": settings.lake_uri,
        "PLATFORM_FEATURE_REPO_DIR": str(reg.feature_repo_dir),
        "PLATFORM_FEAST_REGISTRY": str(reg.feast_registry),
        "MLFLOW_TRACKING_URI": reg.mlflow_tracking_uri,
        "MLFLOW_REGISTRY_URI": reg.mlflow_registry_uri,
        "PLATFORM_MLFLOW_ARTIFACT_ROOT": reg.mlflow_artifact_root,
        "PLATFORM_PROMOTION_POLICY": str(reg.promotion_policy_path),
        "PLATFORM_GATEWAY_FEATURE_MAX_AGE_HOURS": "1000000",
        # Longer than the test: only the graceful stop can have written the rows.
        "PLATFORM_PREDICTIONS_FLUSH_SECONDS": "600",
    }
    env.pop("PLATFORM_GATEWAY_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_tasks", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while (url := discovery.gateway_url(settings)) is None:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "ml_tasks serve did not start"
            time.sleep(0.2)
        sent = []
        with httpx.Client(base_url=url, timeout=30) as http:
            for machine in stack.machines[:7]:
                answer = http.post("/v1/predict", json={"machine_ids": [machine]}).json()
                sent.append(answer["request_id"])
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in output, output
    assert discovery.read_run_file(settings) is None
    logged = read_predictions(settings).to_pylist()
    assert sorted(r["request_id"] for r in logged) == sorted(sent)
    assert {r["model_version"] for r in logged} == {stack.registry.better}


def test_stale_features_are_scored_and_flagged_in_both_answers(stack, tmp_path):
    from starlette.testclient import TestClient

    from ml_tasks.serving.app import create_app
    from ml_tasks.serving.gateway import Gateway

    set_aliases(stack.registry, champion=stack.registry.better)
    # The generated days lie weeks back: older than one hour.
    settings = stack.fresh(tmp_path, gateway_feature_max_age_hours=1.0)
    machine = stack.machines[0]
    gateway = Gateway(settings, poll=False)
    with TestClient(create_app(gateway, settings)) as http:
        v1 = http.post("/v1/predict", json={"machine_ids": [machine]})
        v2 = http.post(
            V2,
            json={
                "inputs": [
                    {"name": "machine_id", "shape": [1], "datatype": "BYTES", "data": [machine]}
                ]
            },
        )
    answer = v1.json()["answers"][0]
    assert v1.status_code == 200 and answer["stale"] is True
    assert 0.0 <= answer["probability"] <= 1.0
    outputs = {t["name"]: t["data"] for t in v2.json()["outputs"]}
    assert outputs["stale"] == [True] and outputs["probability"] == [answer["probability"]]
    assert outputs["feature_timestamp"] == [answer["feature_timestamp"]]
