"""The gateway as a Ray Serve deployment on a local Ray answers like the uvicorn service.

One test, side by side on the same registry and online store: the uvicorn server
(:func:`ml_tasks.serving.server.build_server`) in a thread and the Serve deployment
(:func:`ml_tasks.serving.ray_serve.run_local`, on the session's 2-CPU Ray); the same requests
get the same statuses, probabilities, versions and error codes, and after a graceful stop each
one's prediction log holds the same answers.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from ml_tasks.serving import ray_serve
from tests.release_fixtures import set_aliases

pytestmark = pytest.mark.usefixtures("ray_cluster")


def _start_uvicorn(settings):
    from ml_tasks.serving.server import build_server

    server = build_server(settings, "127.0.0.1", 0, log_level="warning")
    thread = threading.Thread(target=server.run, name="uvicorn-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.url:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    return server, thread


def _post(client, url, path, payload):
    response = client.post(f"{url}{path}", json=payload)
    return response.status_code, response.json()


def _same_answers(ours, theirs):
    """Answers equal field by field (request ids differ by design)."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a == b, (a, b)


def test_ray_serve_answers_like_the_uvicorn_service(stack, tmp_path):
    from ml_tasks.serving.prediction_log import read_predictions

    set_aliases(stack.registry, champion=stack.registry.better)
    # No timed flush: what the logs hold at the end was flushed by the graceful stop.
    via_uvicorn = stack.fresh(tmp_path / "uvicorn", predictions_flush_seconds=3600.0)
    via_ray = stack.fresh(tmp_path / "ray", predictions_flush_seconds=3600.0)
    machines = [*stack.machines[:4], "M-9999"]
    server, thread = _start_uvicorn(via_uvicorn)
    try:
        ray_url = ray_serve.run_local(via_ray)
        try:
            with httpx.Client(timeout=30) as client:
                for url in (server.url, ray_url):
                    assert client.get(f"{url}/v2/health/ready").json()["ready"] is True
                # One machine a request: the same status (404 for the unknown one) and answer.
                for machine in machines:
                    body = {"machine_ids": [machine]}
                    ours = _post(client, ray_url, "/v1/predict", body)
                    theirs = _post(client, server.url, "/v1/predict", body)
                    assert ours[0] == theirs[0] == (404 if machine == "M-9999" else 200)
                    _same_answers(ours[1]["answers"], theirs[1]["answers"])
                    assert ours[1].get("error") == theirs[1].get("error")
                (answer,) = ours[1]["answers"]
                assert answer["status"] == 404 and ours[1]["error"] == "unknown_machine"
                # A batch: 200 with a status per machine, champion version on the known ones.
                ours = _post(client, ray_url, "/v1/predict", {"machine_ids": machines})
                theirs = _post(client, server.url, "/v1/predict", {"machine_ids": machines})
                assert ours[0] == theirs[0] == 200
                _same_answers(ours[1]["answers"], theirs[1]["answers"])
                known = [a for a in ours[1]["answers"] if a["status"] == 200]
                assert len(known) == 4
                assert {a["model_version"] for a in known} == {stack.registry.better}
                assert all(0.0 <= a["probability"] <= 1.0 for a in known)
                # The Open Inference Protocol endpoint too.
                v2 = {"inputs": [{"name": "machine_id", "shape": [2], "datatype": "BYTES",
                                  "data": machines[:2]}]}  # fmt: skip
                path = "/v2/models/failure_model/infer"
                ours = _post(client, ray_url, path, v2)
                theirs = _post(client, server.url, path, v2)
                assert ours[0] == theirs[0] == 200
                assert ours[1]["outputs"] == theirs[1]["outputs"]
                # Bad input: the same 4xx with the same error code.
                ours = _post(client, ray_url, "/v1/predict", {"machine_ids": []})
                theirs = _post(client, server.url, "/v1/predict", {"machine_ids": []})
                assert ours[0] == theirs[0] and 400 <= ours[0] < 500
                assert ours[1]["error"] == theirs[1]["error"]
        finally:
            # Graceful: the replica drains its shadow queue and flushes its prediction log.
            ray_serve.shutdown()
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    # Both logs hold the same answers: the writer runs inside the replica like in uvicorn.
    columns = ["route", "machine_id", "status", "model_version", "score"]
    logged = [
        sorted(
            read_predictions(s).select(columns).to_pylist(),
            key=lambda r: tuple(map(str, r.values())),
        )
        for s in (via_ray, via_uvicorn)
    ]
    assert len(logged[0]) == len(machines) * 2 + 2
    assert logged[0] == logged[1]
