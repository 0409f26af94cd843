"""Request parsing and the KServe V2 codec of the gateway (ml_tasks.serving.protocol)."""

from __future__ import annotations

import numpy as np
import pytest

from ml_tasks.serving.protocol import (
    OUTPUTS,
    RequestError,
    answer_version,
    check_content_length,
    encode_v2_response,
    parse_json,
    parse_search_request,
    parse_v1_request,
    parse_v2_request,
)


def _v2(data, shape=None, **extra):
    tensor = {"name": "machine_id", "datatype": "BYTES", "data": data}
    tensor["shape"] = shape if shape is not None else [len(data)]
    return {"inputs": [tensor], **extra}


def _raises(fn, *args) -> RequestError:
    with pytest.raises(RequestError) as err:
        fn(*args)
    return err.value


def test_v1_request_gives_the_ids_in_order():
    assert parse_v1_request({"machine_ids": ["M-2", "M-1", "M-2"]}, 10) == ["M-2", "M-1", "M-2"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "words"),
    [
        ([], 422, "wrong_type", "JSON object"),
        ({}, 422, "missing_field", "machine_ids"),
        ({"machine_ids": "M-0001"}, 422, "wrong_type", "array of strings, not a string"),
        ({"machine_ids": []}, 422, "empty_list", "is empty"),
        ({"machine_ids": ["M-1", 7]}, 422, "wrong_type", "machine_ids[1] must be a string"),
        ({"machine_ids": [None]}, 422, "wrong_type", "not null"),
        ({"machine_ids": ["  "]}, 422, "bad_machine_id", "blank"),
        ({"machine_ids": ["M" * 129]}, 422, "bad_machine_id", "129 characters"),
        ({"machine_ids": ["M-1"], "k": 1}, 422, "unknown_field", "k"),
        ({"machine_ids": ["M-1"] * 4}, 413, "too_many_machines", "limit is 3"),
    ],
)
def test_v1_bad_requests_name_the_problem(payload, status, code, words):
    err = _raises(parse_v1_request, payload, 3)
    assert (err.status, err.error) == (status, code)
    assert words in err.detail
    assert err.body() == {"error": code, "detail": err.detail}


@pytest.mark.parametrize("body", [b"", b"  ", b"{", b'{"machine_ids": [}', b"\xff\xfe"])
def test_malformed_json_is_a_400(body):
    err = _raises(parse_json, body)
    assert (err.status, err.error) == (400, "malformed_json")


def test_content_length_over_the_limit_is_a_413_and_garbage_a_400():
    check_content_length(None, 10)
    check_content_length("10", 10)
    assert _raises(check_content_length, "11", 10).status == 413
    assert _raises(check_content_length, "ten", 10).status == 400


def test_v2_request_accepts_flat_and_nested_bytes_data_and_the_request_id():
    flat = parse_v2_request({**_v2(["M-1", "M-2"]), "id": "abc"}, 10)
    assert (flat.machine_ids, flat.request_id, flat.outputs) == (["M-1", "M-2"], "abc", None)
    nested = parse_v2_request(_v2([["M-1"], ["M-2"]], shape=[2, 1]), 10)
    assert nested.machine_ids == ["M-1", "M-2"]
    asked = parse_v2_request(_v2(["M-1"], outputs=[{"name": "alert"}, {"name": "status"}]), 10)
    assert asked.outputs == ["alert", "status"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"inputs": []}, 422, "missing_field"),
        ({"inputs": "M-1"}, 422, "missing_field"),
        ({"inputs": [{**_v2(["M-1"])["inputs"][0], "name": "x"}]}, 422, "bad_input"),
        ({"inputs": [{**_v2([1.0])["inputs"][0], "datatype": "FP32"}]}, 422, "bad_input"),
        ({"inputs": [{"name": "machine_id", "datatype": "BYTES", "shape": [1]}]}, 422, "bad_input"),
        (_v2(["M-1", "M-2"], shape=[3]), 422, "bad_input"),
        (_v2(["M-1", "M-2"], shape=[1, 2]), 422, "bad_input"),
        (_v2(["M-1"], shape="1"), 422, "bad_input"),
        (_v2([1]), 422, "wrong_type"),
        (_v2([]), 422, "empty_list"),
        (_v2(["M"] * 11), 413, "too_many_machines"),
        ({**_v2(["M-1"]), "id": 5}, 422, "wrong_type"),
        (_v2(["M-1"], outputs=[{"name": "nope"}]), 422, "bad_output"),
    ],
)
def test_v2_bad_requests_name_the_problem(payload, status, code):
    err = _raises(parse_v2_request, payload, 10)
    assert (err.status, err.error) == (status, code), err.detail


def _answer(machine_id, status=200, probability=0.25, alert=False, version="3", alias="champion"):
    return {
        "machine_id": machine_id,
        "status": status,
        "probability": probability if status == 200 else None,
        "alert": alert if status == 200 else None,
        "threshold": 0.5 if status == 200 else None,
        "model_version": version if status == 200 else None,
        "alias": alias if status == 200 else None,
        "feature_timestamp": "2026-10-03T23:00:00+00:00" if status == 200 else None,
        "stale": False,
        "missing_sensors": ["vibration"] if machine_id == "M-2" else [],
        "error": None if status == 200 else "unknown machine",
    }


def test_v2_response_has_one_element_per_machine_and_numpy_reads_it():
    answers = [_answer("M-1", alert=True), _answer("M-2"), _answer("M-9", status=404)]
    response = encode_v2_response(answers, "req-1")
    assert response["model_name"] == "failure_model"
    assert (response["id"], response["model_version"]) == ("req-1", "3")
    tensors = {t["name"]: t for t in response["outputs"]}
    assert list(tensors) == list(OUTPUTS)
    assert all(t["shape"] == [3] and len(t["data"]) == 3 for t in tensors.values())
    assert tensors["status"]["data"] == [200, 200, 404]
    assert tensors["alert"]["data"] == [True, False, False]  # BOOL is never null
    assert tensors["missing_sensors"]["data"] == ["", "vibration", ""]
    assert tensors["error"]["data"] == ["", "", "unknown machine"]
    # What a Triton/KServe client does with a JSON output: numpy of the datatype.
    probability = np.array(tensors["probability"]["data"], dtype=np.float64)
    assert probability[0] == pytest.approx(0.25) and np.isnan(probability[2])


def test_v2_response_keeps_the_asked_outputs_and_names_every_version_of_a_split_batch():
    answers = [_answer("M-1", version="3"), _answer("M-2", version="4", alias="canary")]
    response = encode_v2_response(answers, "r", outputs=["probability", "alias"])
    assert [t["name"] for t in response["outputs"]] == ["probability", "alias"]
    assert response["model_version"] == "3,4"
    assert answer_version([_answer("M-9", status=404)]) is None
    assert "model_version" not in encode_v2_response([_answer("M-9", status=404)], "r")


def test_search_request():
    assert parse_search_request({"query": "bearing noise"}) == ("bearing noise", 5)
    assert parse_search_request({"query": "x", "k": 2}) == ("x", 2)
    for payload, code in [
        ({"k": 2}, "wrong_type"),
        ({"query": " "}, "empty_query"),
        ({"query": "x", "k": "2"}, "wrong_type"),
        ({"query": "x", "k": True}, "wrong_type"),
        ({"query": "x", "k": 0}, "bad_k"),
        ({"query": "x", "k": 51}, "bad_k"),
    ]:
        assert _raises(parse_search_request, payload).error == code
