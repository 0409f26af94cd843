"""Request parsing and answer encoding of the gateway's HTTP API (no HTTP server in here).

Two request shapes reach the same :meth:`Gateway.predict`:

- the plain ``POST /v1/predict`` body ``{"machine_ids": ["M-0001", ...]}``;
- the Open Inference Protocol (KServe V2) ``POST /v2/models/failure_model/infer`` body
  ``{"id": ..., "inputs": [{"name": "machine_id", "shape": [N], "datatype": "BYTES",
  "data": ["M-0001", ...]}], "outputs": [{"name": "probability"}, ...]}``; the answer is
  ``{"model_name", "model_version", "id", "outputs": [{"name", "shape", "datatype", "data"}]}``
  with one element per machine in every output tensor (``OUTPUTS`` lists them).

Every problem with a request raises :class:`RequestError` with the HTTP status, a short error
code and a sentence naming the problem; the app turns it into ``{"error", "detail"}`` (on the
V2 routes ``error`` is ``"<code>: <sentence>"``: the protocol's error body is
``{"error": "<message>"}``, and KServe and Triton clients show only that field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

MODEL_NAME = "failure_model"
# The one input tensor of the V2 endpoint: machine ids as strings.
V2_INPUT = "machine_id"
# Longest machine id accepted (ids look like ``M-0001``; anything far longer is a mistake).
MAX_MACHINE_ID_CHARS = 128
# Output tensors of the V2 answer: name -> (datatype, field of a gateway answer).
OUTPUTS: dict[str, tuple[str, str]] = {
    "machine_id": ("BYTES", "machine_id"),
    "probability": ("FP64", "probability"),
    "alert": ("BOOL", "alert"),
    "status": ("INT32", "status"),
    "threshold": ("FP64", "threshold"),
    "model_version": ("BYTES", "model_version"),
    "alias": ("BYTES", "alias"),
    "feature_timestamp": ("BYTES", "feature_timestamp"),
    "stale": ("BOOL", "stale"),
    "missing_sensors": ("BYTES", "missing_sensors"),
    "error": ("BYTES", "error"),
}


class RequestError(ValueError):
    """A request the gateway will not score: HTTP ``status``, ``error`` code and ``detail``."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail

    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


@dataclass(frozen=True)
class V2Request:
    """A parsed V2 inference request."""

    machine_ids: list[str]
    request_id: str | None
    # Output tensor names the client asked for, in its order; None: all of ``OUTPUTS``.
    outputs: list[str] | None


def check_content_length(header: str | None, limit: int) -> None:
    """Refuse a body announced larger than ``limit`` bytes before reading it."""
    if header is None:
        return
    try:
        size = int(header)
    except ValueError:
        raise RequestError(400, "bad_content_length", f"Content-Length {header!r}") from None
    if size > limit:
        raise RequestError(
            413, "body_too_large", f"the body has {size} bytes; the limit is {limit}"
        )


# The header of the V2 binary tensor data extension (Triton's clients send it by default).
BINARY_HEADER = "inference-header-content-length"


def refuse_binary_tensors(header: str | None) -> None:
    """Refuse the binary tensor data extension with a reason: this server speaks JSON tensors."""
    if header is not None:
        raise RequestError(
            400,
            "binary_data_unsupported",
            "binary tensor data is not supported; send JSON tensors "
            "(tritonclient: set_data_from_numpy(..., binary_data=False) and "
            "InferRequestedOutput(name, binary_data=False))",
        )


def parse_json(body: bytes) -> Any:
    """The JSON document of a request body."""
    if not body.strip():
        raise RequestError(400, "malformed_json", "the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise RequestError(400, "malformed_json", f"the body is not valid JSON: {err}") from None


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise RequestError(
            422, "wrong_type", f"{what} must be a JSON object, not {_json_type(payload)}"
        )
    return payload


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def check_machine_ids(ids: Any, field: str, max_machines: int) -> list[str]:
    """``ids`` as a list of 1..``max_machines`` machine-id strings (duplicates kept)."""
    if not isinstance(ids, list):
        raise RequestError(
            422, "wrong_type", f"{field} must be an array of strings, not {_json_type(ids)}"
        )
    if not ids:
        raise RequestError(422, "empty_list", f"{field} is empty; send 1 to {max_machines} ids")
    if len(ids) > max_machines:
        raise RequestError(
            413,
            "too_many_machines",
            f"{field} has {len(ids)} ids; the limit is {max_machines} per request",
        )
    for i, value in enumerate(ids):
        if not isinstance(value, str):
            raise RequestError(
                422, "wrong_type", f"{field}[{i}] must be a string, not {_json_type(value)}"
            )
        if not value.strip():
            raise RequestError(422, "bad_machine_id", f"{field}[{i}] is blank")
        if len(value) > MAX_MACHINE_ID_CHARS:
            raise RequestError(
                422,
                "bad_machine_id",
                f"{field}[{i}] has {len(value)} characters; at most {MAX_MACHINE_ID_CHARS}",
            )
    return ids


def parse_v1_request(payload: Any, max_machines: int) -> list[str]:
    """Machine ids of a ``/v1/predict`` body ``{"machine_ids": [...]}``."""
    body = _object(payload, "the body")
    if "machine_ids" not in body:
        raise RequestError(
            422, "missing_field", 'the body needs "machine_ids": an array of machine ids'
        )
    unknown = sorted(set(body) - {"machine_ids"})
    if unknown:
        raise RequestError(422, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    return check_machine_ids(body["machine_ids"], "machine_ids", max_machines)


def _flatten(data: Any) -> list[Any]:
    """Row-major elements of a V2 tensor's ``data`` (the protocol allows nested arrays)."""
    if not isinstance(data, list):
        return [data]
    out: list[Any] = []
    for item in data:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def parse_v2_request(payload: Any, max_machines: int) -> V2Request:
    """The machine ids, request id and requested outputs of a V2 inference request."""
    body = _object(payload, "the inference request")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError(
            422, "wrong_type", f'"id" must be a string, not {_json_type(request_id)}'
        )
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(
            422,
            "missing_field",
            f'"inputs" must be a non-empty array with one tensor named "{V2_INPUT}"',
        )
    tensors = [_object(t, "each input tensor") for t in inputs]
    names = [t.get("name") for t in tensors]
    if names != [V2_INPUT]:
        raise RequestError(
            422,
            "bad_input",
            f'expected exactly one input named "{V2_INPUT}" (BYTES, shape [N]); got {names}',
        )
    tensor = tensors[0]
    if tensor.get("datatype") != "BYTES":
        raise RequestError(
            422,
            "bad_input",
            f'input "{V2_INPUT}" has datatype {tensor.get("datatype")!r}; expected "BYTES"',
        )
    if "data" not in tensor:
        raise RequestError(
            422,
            "bad_input",
            f'input "{V2_INPUT}" has no "data" (binary tensor data is not accepted: send JSON)',
        )
    ids = _flatten(tensor["data"])
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise RequestError(
            422, "bad_input", f'input "{V2_INPUT}" needs a shape of non-negative ints, got {shape}'
        )
    if math.prod(shape) != len(ids) or any(d != 1 for d in shape[1:]):
        raise RequestError(
            422,
            "bad_input",
            f'input "{V2_INPUT}" has shape {shape} but {len(ids)} elements; '
            "send shape [N] (or [N, 1]) for N machine ids",
        )
    machine_ids = check_machine_ids(ids, f'input "{V2_INPUT}" data', max_machines)
    return V2Request(machine_ids, request_id, _requested_outputs(body.get("outputs")))


def _requested_outputs(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise RequestError(
            422, "wrong_type", f'"outputs" must be an array, not {_json_type(outputs)}'
        )
    names = []
    for item in outputs:
        name = _object(item, "each requested output").get("name")
        if name not in OUTPUTS:
            raise RequestError(
                422,
                "bad_output",
                f"unknown output {name!r}; the model answers {', '.join(OUTPUTS)}",
            )
        names.append(name)
    return names


def answer_version(answers: list[dict[str, Any]]) -> str | None:
    """The model version that answered: one version, or a sorted comma list when a canary
    split the batch; None when no machine was scored."""
    versions = sorted({str(a["model_version"]) for a in answers if a.get("model_version")})
    return ",".join(versions) if versions else None


def _element(datatype: str, value: Any) -> Any:
    """A JSON tensor element: unscored FP64 entries are null (NaN in numpy); BOOL never null."""
    if datatype == "BOOL":
        return bool(value)
    if datatype == "BYTES":
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return "" if value is None else str(value)
    if datatype == "INT32":
        return int(value)
    return None if value is None else float(value)


def encode_v2_response(
    answers: list[dict[str, Any]],
    request_id: str,
    outputs: list[str] | None = None,
    model_name: str = MODEL_NAME,
) -> dict[str, Any]:
    """The V2 inference response for the gateway's answers (one element per machine)."""
    tensors = []
    for name in outputs or list(OUTPUTS):
        datatype, key = OUTPUTS[name]
        tensors.append(
            {
                "name": name,
                "shape": [len(answers)],
                "datatype": datatype,
                "data": [_element(datatype, a.get(key)) for a in answers],
            }
        )
    response: dict[str, Any] = {"model_name": model_name, "id": request_id, "outputs": tensors}
    version = answer_version(answers)
    if version is not None:
        response["model_version"] = version
    return response


def parse_search_request(payload: Any, max_k: int = 50) -> tuple[str, int]:
    """``(query, k)`` of a ``/v1/search`` body ``{"query": "...", "k": 5}``."""
    body = _object(payload, "the body")
    query = body.get("query")
    if not isinstance(query, str):
        raise RequestError(422, "wrong_type", f'"query" must be a string, not {_json_type(query)}')
    if not query.strip():
        raise RequestError(422, "empty_query", '"query" is blank')
    k = body.get("k", 5)
    if not isinstance(k, int) or isinstance(k, bool):
        raise RequestError(422, "wrong_type", f'"k" must be an integer, not {_json_type(k)}')
    if not 1 <= k <= max_k:
        raise RequestError(422, "bad_k", f'"k" is {k}; it must be between 1 and {max_k}')
    return query, k
