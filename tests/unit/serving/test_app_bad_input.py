"""The HTTP layer on bad input and failures (ml_tasks.serving.app), on a stand-in gateway.

The stand-in answers like the real :class:`Gateway` (same result and answer shapes, same
exception, the real metrics object) without a model: these tests are about the HTTP contract,
a JSON error naming the problem and never a traceback. The real gateway behind the real server
is tested in tests/component/serving/test_app_*.py.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from importlib.metadata import version
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from ml_tasks.serving.app import create_app
from ml_tasks.serving.gateway import GatewayUnavailable, PredictResult
from ml_tasks.serving.metrics import GatewayMetrics

KNOWN = {"M-0001": 0.12, "M-0002": 0.91}
V2 = "/v2/models/failure_model/infer"
SECRET = "secret-internal-state-0xdeadbeef"


class StandIn:
    """The Gateway interface, answering from ``KNOWN``; ``failure`` makes predict raise it."""

    def __init__(self) -> None:
        self.metrics = GatewayMetrics()
        self.failure: Exception | None = None
        self.started = self.closed = False
        self.calls: list[tuple[list[str], str, str | None]] = []

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True

    def predict(
        self, machine_ids: list[str], *, route: str = "v1", request_id: str | None = None
    ) -> PredictResult:
        self.calls.append((machine_ids, route, request_id))
        if self.failure is not None:
            raise self.failure
        answers = [self._answer(m) for m in dict.fromkeys(machine_ids)]
        return PredictResult(request_id=request_id or uuid.uuid4().hex, answers=answers)

    @staticmethod
    def _answer(machine_id: str) -> dict[str, Any]:
        p = KNOWN.get(machine_id)
        return {
            "machine_id": machine_id,
            "status": 200 if p is not None else 404,
            "probability": p,
            "alert": None if p is None else p >= 0.5,
            "threshold": None if p is None else 0.5,
            "model_version": None if p is None else "7",
            "alias": None if p is None else "champion",
            "feature_timestamp": None if p is None else "2026-10-04T23:30:00+00:00",
            "stale": False,
            "missing_sensors": [],
            "error": None if p is not None else f"unknown machine {machine_id}",
        }

    def readiness(self) -> tuple[bool, str | None]:
        if isinstance(self.failure, GatewayUnavailable):
            return False, str(self.failure)
        return True, None

    def status(self) -> dict[str, Any]:
        return {"slots": {"champion": {"version": "7", "sha256": "ab" * 32}}, "canary_percent": 0}

    def reload(self, reason: str = "admin") -> dict[str, Any]:
        return {"reason": reason, "swapped": False}


@pytest.fixture
def gateway() -> StandIn:
    return StandIn()


@pytest.fixture
def client(gateway: StandIn, platform_home: Any):
    settings = dataclasses.replace(
        platform_home, gateway_max_machines=3, gateway_max_body_bytes=2_000
    )
    with TestClient(create_app(gateway, settings), raise_server_exceptions=False) as c:
        yield c


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    # KServe/Triton clients show only "error": on V2 it carries the sentence after the code.
    v2 = response.request.url.path == V2
    assert body["error"] == (f"{code}: {body['detail']}" if v2 else code), body
    assert "Traceback" not in response.text
    return body


def _v2(ids: Any) -> dict[str, Any]:
    n = len(ids) if isinstance(ids, list) else 1
    return {"inputs": [{"name": "machine_id", "shape": [n], "datatype": "BYTES", "data": ids}]}


@pytest.mark.parametrize("path", ["/v1/predict", V2])
@pytest.mark.parametrize("body", [b"{", b"not json", b"", b'{"machine_ids": ["M-0001",]}'])
def test_malformed_json_is_a_400_naming_it(client, gateway, path, body):
    _error(client.post(path, content=body), 400, "malformed_json")
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (["M-0001"], "wrong_type"),
        ({"machine_ids": "M-0001"}, "wrong_type"),
        ({"machine_ids": [1, 2]}, "wrong_type"),
        ({"machine_ids": [{"id": "M-0001"}]}, "wrong_type"),
        ({"machine": ["M-0001"]}, "missing_field"),
        ({"machine_ids": []}, "empty_list"),
    ],
)
def test_v1_wrong_types_and_empty_list_are_422(client, gateway, payload, code):
    body = _error(client.post("/v1/predict", json=payload), 422, code)
    assert "machine_ids" in body["detail"] or "object" in body["detail"]
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("payload", "code"),
    [(_v2([7]), "wrong_type"), (_v2([]), "empty_list"), ({"inputs": "M-0001"}, "missing_field")],
)
def test_v2_wrong_types_and_empty_tensor_are_422(client, payload, code):
    _error(client.post(V2, json=payload), 422, code)


@pytest.mark.parametrize("path", ["/v1/predict", V2])
def test_more_machines_than_the_cap_is_a_413(client, gateway, path):
    ids = ["M-0001", "M-0002", "M-0003", "M-0004"]
    payload = {"machine_ids": ids} if path == "/v1/predict" else _v2(ids)
    body = _error(client.post(path, json=payload), 413, "too_many_machines")
    assert "limit is 3" in body["detail"]
    assert gateway.calls == []


def test_a_body_over_the_limit_is_a_413_by_content_length_and_by_streamed_size(client, gateway):
    big = orjson.dumps({"machine_ids": ["M-0001"], "pad": "x" * 3_000})
    body = _error(client.post("/v1/predict", content=big), 413, "body_too_large")
    assert "limit is 2000" in body["detail"]

    def chunks():  # no Content-Length: chunked, so only the streamed size can tell
        for _ in range(30):
            yield b" " * 100

    response = client.post("/v1/predict", content=chunks())
    assert "content-length" not in response.request.headers
    _error(response, 413, "body_too_large")
    assert gateway.calls == []


def test_unknown_single_machine_is_a_404_with_its_answer(client):
    response = client.post("/v1/predict", json={"machine_ids": ["M-9999"]})
    body = _error(response, 404, "unknown_machine")
    assert "M-9999" in body["detail"]
    assert body["answers"][0]["status"] == 404

    v2 = client.post(V2, json=_v2(["M-9999"]))
    _error(v2, 404, "unknown_machine")


def test_a_batch_answers_200_with_a_status_per_machine(client, gateway):
    response = client.post("/v1/predict", json={"machine_ids": ["M-0002", "M-9999", "M-0002"]})
    assert response.status_code == 200
    answers = response.json()["answers"]
    assert [(a["machine_id"], a["status"]) for a in answers] == [("M-0002", 200), ("M-9999", 404)]
    assert answers[0]["alert"] is True and answers[0]["model_version"] == "7"

    v2 = client.post(V2, json={**_v2(["M-0001", "M-9999"]), "id": "req-42"}).json()
    outputs = {t["name"]: t["data"] for t in v2["outputs"]}
    assert (v2["id"], v2["model_version"]) == ("req-42", "7")
    assert outputs["status"] == [200, 404]
    assert outputs["probability"] == [0.12, None]
    assert gateway.calls[-1] == (["M-0001", "M-9999"], "v2", "req-42")


def test_gateway_unavailable_is_a_503_with_the_reason_and_ready_goes_false(client, gateway):
    assert client.get("/v2/health/ready").json() == {"ready": True, "reason": None}
    gateway.failure = GatewayUnavailable("online store unavailable: no such file")
    for path, payload in (("/v1/predict", {"machine_ids": ["M-0001"]}), (V2, _v2(["M-0001"]))):
        body = _error(client.post(path, json=payload), 503, "unavailable")
        assert body["detail"] == "online store unavailable: no such file"
    ready = client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()["ready"]) == (503, False)
    assert "online store" in ready.json()["reason"]
    assert client.get("/v2/models/failure_model/ready").status_code == 503
    assert client.get("/v2/health/live").status_code == 200  # the process is up
    gateway.failure = None  # store back: answers again without a restart
    assert client.post("/v1/predict", json={"machine_ids": ["M-0001"]}).status_code == 200
    assert client.get("/v2/health/ready").status_code == 200


def test_an_unexpected_error_is_a_500_json_logged_with_traceback_never_in_the_body(
    client, gateway, caplog
):
    gateway.failure = KeyError(SECRET)
    with caplog.at_level(logging.ERROR, logger="ml_tasks.serving.app"):
        response = client.post("/v1/predict", json={"machine_ids": ["M-0001"]})
    _error(response, 500, "internal_error")
    assert SECRET not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and SECRET in str(logged[0].exc_info[1])


def test_binary_tensor_data_is_refused_with_how_to_send_json(client, gateway):
    response = client.post(
        V2, content=b"{}binary", headers={"Inference-Header-Content-Length": "2"}
    )
    body = _error(response, 400, "binary_data_unsupported")
    assert "binary_data=False" in body["detail"]
    assert gateway.calls == []


def test_unknown_paths_and_methods_answer_json(client):
    _error(client.get("/v1/nope"), 404, "not_found")
    _error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_requests_are_counted_by_route_status_and_version(client, gateway):
    client.post("/v1/predict", json={"machine_ids": ["M-0001"]})
    client.post("/v1/predict", json={"machine_ids": ["M-0001"]})
    client.post("/v1/predict", content=b"{")
    client.post(V2, json=_v2(["M-9999"]))
    gateway.failure = GatewayUnavailable("registry unreachable")
    client.post(V2, json=_v2(["M-0001"]))
    text = client.get("/metrics").text
    counts = {
        (s.labels["route"], s.labels["alias"], s.labels["model_version"], s.labels["status"]): (
            s.value
        )
        for family in text_string_to_metric_families(text)
        if family.name == "gateway_requests"
        for s in family.samples
        if s.name == "gateway_requests_total"
    }
    assert counts == {
        ("v1", "champion", "7", "200"): 2.0,
        ("v1", "", "", "400"): 1.0,
        ("v2", "", "", "404"): 1.0,
        ("v2", "", "", "503"): 1.0,
    }
    durations = {
        s.labels["route"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "gateway_request_duration_seconds"
        for s in family.samples
        if s.name.endswith("_count")
    }
    assert durations == {"v1": 3.0, "v2": 2.0}


def test_lifespan_starts_and_closes_the_gateway(gateway, platform_home):
    with TestClient(create_app(gateway, platform_home)) as c:
        assert gateway.started and not gateway.closed
        assert c.get("/v2/health/live").json() == {"live": True}
        status = c.get("/v1/status").json()
        assert status["ready"] is True and status["slots"]["champion"]["version"] == "7"
        assert c.post("/v1/admin/reload").json() == {"reason": "admin", "swapped": False}
        meta = c.get("/v2/models/failure_model").json()
        assert meta["versions"] == ["7"] and meta["inputs"][0]["name"] == "machine_id"
        server = c.get("/v2").json()
        assert (server["name"], server["version"]) == (
            "ml-platform-gateway",
            version("ml-platform"),
        )
    assert gateway.closed


def test_search_bad_input_is_422_without_loading_the_model(client):
    _error(client.post("/v1/search", json={"query": ""}), 422, "empty_query")
    _error(client.post("/v1/search", json={"query": "x", "k": 0}), 422, "bad_k")
    _error(client.post("/v1/search", content=b"]"), 400, "malformed_json")
