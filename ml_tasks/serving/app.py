"""The gateway's HTTP API: a Starlette app around a :class:`~ml_tasks.serving.gateway.Gateway`.

Endpoints (curl examples in the README, "Inference gateway"):

- ``POST /v2/models/failure_model/infer``: the Open Inference Protocol (KServe V2);
  ``GET /v2``, ``/v2/models/failure_model``: server and model metadata;
- ``POST /v1/predict`` ``{"machine_ids": [...]}``: one answer per machine;
- ``GET /v2/health/live``, ``/v2/health/ready``, ``/v2/models/failure_model/ready``;
- ``GET /metrics`` (Prometheus text), ``GET /v1/status``, ``POST /v1/admin/reload``;
- ``POST /v1/search`` ``{"query": ..., "k": 5}``: the maintenance-manual search on the live index.

Starlette rather than FastAPI, by measurement (``bench/serving_frameworks.py``, in-process ASGI
calls of a 1-machine JSON POST, uvloop, 5 x 20,000 calls): Starlette 23 us a request, FastAPI
59 us with a raw ``Request`` and 81 us with a pydantic body model. Bodies are parsed and written
with orjson; validation is :mod:`.protocol`'s plain functions.

Errors are JSON ``{"error": <code>, "detail": <sentence>}``: 4xx for a bad request, 404 for an
unknown machine in a one-machine request (a batch answers 200 with a status per machine), 503
with the reason while the gateway is unavailable, 500 for anything unexpected (its traceback
goes to the log, never into the body).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_tasks.serving.heap import freeze_startup_heap
from ml_tasks.serving.protocol import (
    BINARY_HEADER,
    MODEL_NAME,
    OUTPUTS,
    V2_INPUT,
    RequestError,
    answer_version,
    check_content_length,
    encode_v2_response,
    parse_json,
    parse_search_request,
    parse_v1_request,
    parse_v2_request,
    refuse_binary_tensors,
)

if TYPE_CHECKING:
    from ml_tasks.serving.gateway import Gateway
    from ml_tasks.settings import Settings

log = logging.getLogger(__name__)

_JSON = "application/json"
_DUMPS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload, option=_DUMPS), status_code=status, media_type=_JSON)


def error_body(error: str, detail: str, *, oip: bool = False) -> dict[str, str]:
    """``{"error": <code>, "detail": <sentence>}``; on the V2 routes ``error`` carries the
    sentence too, since KServe and Triton clients show only the protocol's ``error`` field."""
    return {"error": f"{error}: {detail}" if oip else error, "detail": detail}


def error_response(status: int, error: str, detail: str, *, oip: bool = False) -> Response:
    return json_response(error_body(error, detail, oip=oip), status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes: the announced Content-Length is
    checked first, then the bytes actually streamed (a chunked or lying client)."""
    check_content_length(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                413, "body_too_large", f"the body is over {limit} bytes; the limit is {limit}"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def http_status(answers: list[dict[str, Any]]) -> int:
    """One machine: its own status (404 unknown); a batch: 200, each answer has its status."""
    if len(answers) == 1:
        return int(answers[0]["status"])
    return 200


def _labels(answers: list[dict[str, Any]]) -> tuple[str, str]:
    """(alias, model_version) labels of a request: the one that answered, a sorted comma list
    when a canary split a batch, "" when nothing was scored (bounded: a few slots)."""
    aliases = sorted({str(a["alias"]) for a in answers if a.get("alias")})
    return ",".join(aliases), answer_version(answers) or ""


class ManualSearch:
    """The maintenance-manual search, kept open in the gateway process.

    The embedding model loads once per process (torch and MiniLM: seconds), on the first search
    or from :meth:`warm_in_background`; each search reads the live alias (milliseconds) and
    reopens the table only when the live version moved, so an index swap needs no restart.
    """

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._searcher: Any = None

    def warm_in_background(self) -> threading.Thread:
        """Load the model on a daemon thread (predictions are served meanwhile)."""

        def warm() -> None:
            try:
                from ml_tasks.search import embedder

                embedder.load_model()
                freeze_startup_heap(collect=False)  # torch and the model: long-lived too
            except Exception:
                log.exception("search: loading the embedding model failed")

        thread = threading.Thread(target=warm, name="search-warm-up", daemon=True)
        thread.start()
        return thread

    def search(self, query: str, k: int) -> dict[str, Any]:
        """Top ``k`` chunks of the live index; the answer names the index version searched."""
        from ml_tasks.search.index import LIVE
        from ml_tasks.search.retrieval import Searcher

        with self._lock:
            searcher = self._searcher
            if searcher is None or searcher.index.live_version() != searcher.version:
                searcher = self._searcher = Searcher(self.settings)
        hits = searcher.search(query, k)
        return {
            "index_version": searcher.version,
            "alias": LIVE,
            "query": query,
            "k": k,
            "hits": hits,
        }


Handler = Callable[[Request], Awaitable[Response]]
# Cheap endpoints are plain functions run on the event loop (a thread hop would cost more).
AnyHandler = Callable[[Request], Response | Awaitable[Response]]


def create_app(
    gateway: Gateway,
    settings: Settings | None = None,
    *,
    manage_gateway: bool = True,
    preload_search: bool = False,
) -> Starlette:
    """The Starlette app serving ``gateway``.

    ``manage_gateway``: the app's lifespan starts the gateway (loading the slot table) before
    the first request and closes it on shutdown (draining the shadow queue and flushing the
    prediction log); False when the caller owns it. ``preload_search``: load the embedding model
    in the background at start instead of on the first ``/v1/search``.
    """
    from ml_tasks.serving.gateway import GatewayUnavailable
    from ml_tasks.settings import get_settings

    settings = settings or get_settings()
    max_body = settings.gateway_max_body_bytes
    max_machines = settings.gateway_max_machines
    manuals = ManualSearch(settings)
    metrics = gateway.metrics

    def guarded(route: str, handler: AnyHandler, *, oip: bool = False) -> Handler:
        """Turn every failure of ``handler`` into a JSON error; unexpected ones are logged.
        ``oip``: an Open Inference Protocol route (see :func:`error_body`)."""

        async def run(request: Request) -> Response:
            try:
                response = handler(request)
                return await response if inspect.isawaitable(response) else response
            except RequestError as err:
                return error_response(err.status, err.error, err.detail, oip=oip)
            except GatewayUnavailable as err:
                return error_response(503, "unavailable", str(err), oip=oip)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                detail = f"{route} failed unexpectedly; the gateway log has why"
                return error_response(500, "internal_error", detail, oip=oip)

        return run

    def predict_route(
        route: str,
        parse: Callable[[Any], tuple[list[str], str | None, Any]],
        encode: Callable[[list[dict[str, Any]], str, Any], dict[str, Any]],
    ) -> Handler:
        """A predict endpoint: parse, score, encode; one ``gateway_requests_total`` a request."""
        oip = route == "v2"

        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            status, alias, version = 500, "", ""
            try:
                if oip:
                    refuse_binary_tensors(request.headers.get(BINARY_HEADER))
                ids, request_id, options = parse(parse_json(await read_body(request, max_body)))
                # On the event loop, not in a thread: a prediction is ~0.4 ms of CPU (SQLite
                # lookup, one booster call) that holds the GIL either way, and a thread hop per
                # request adds its own cost. The price: a store that hangs stalls the loop
                # (health checks included) until the store client's own timeout gives up.
                result = gateway.predict(
                    ids, route=route, request_id=request_id or request.headers.get("x-request-id")
                )
                alias, version = _labels(result.answers)
                status = http_status(result.answers)
                payload = encode(result.answers, result.request_id, options)
                if status != 200:  # one machine, not scored (404: unknown)
                    code = "unknown_machine" if status == 404 else "not_scored"
                    detail = f"{ids[0]}: {result.answers[0].get('error')}"
                    payload = {**error_body(code, detail, oip=oip), **payload}
                return json_response(payload, status)
            except RequestError as err:
                status = err.status
                raise
            except GatewayUnavailable:
                status = 503
                raise
            finally:
                metrics.observe_request(
                    route, alias, version, status, time.perf_counter() - started
                )

        return guarded(f"POST /{route} predict", handler, oip=oip)

    def parse_v1(payload: Any) -> tuple[list[str], str | None, Any]:
        return parse_v1_request(payload, max_machines), None, None

    def encode_v1(answers: list[dict[str, Any]], request_id: str, _: Any) -> dict[str, Any]:
        return {"request_id": request_id, "model_name": MODEL_NAME, "answers": answers}

    def parse_v2(payload: Any) -> tuple[list[str], str | None, Any]:
        req = parse_v2_request(payload, max_machines)
        return req.machine_ids, req.request_id, req.outputs

    def encode_v2(answers: list[dict[str, Any]], request_id: str, outputs: Any) -> dict[str, Any]:
        return encode_v2_response(answers, request_id, outputs)

    def live(_: Request) -> Response:
        return json_response({"live": True})

    def ready(_: Request) -> Response:
        ok, reason = gateway.readiness()
        return json_response({"ready": ok, "reason": reason}, 200 if ok else 503)

    def model_ready(_: Request) -> Response:
        ok, reason = gateway.readiness()
        body = {"name": MODEL_NAME, "ready": ok, "reason": reason}
        return json_response(body, 200 if ok else 503)

    def server_metadata(_: Request) -> Response:
        from importlib.metadata import version

        body = {"name": "ml-platform-gateway", "version": version("ml-platform"), "extensions": []}
        return json_response(body)

    def model_metadata(_: Request) -> Response:
        slots = gateway.status().get("slots", {})
        versions = sorted({str(s["version"]) for s in slots.values() if s and s.get("version")})
        return json_response(
            {
                "name": MODEL_NAME,
                "versions": versions,
                "platform": "xgboost",
                "inputs": [{"name": V2_INPUT, "datatype": "BYTES", "shape": [-1]}],
                "outputs": [
                    {"name": name, "datatype": datatype, "shape": [-1]}
                    for name, (datatype, _) in OUTPUTS.items()
                ],
            }
        )

    def prometheus(_: Request) -> Response:
        from ml_tasks.serving.metrics import CONTENT_TYPE

        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def status(_: Request) -> Response:
        ok, reason = gateway.readiness()
        return json_response({"ready": ok, "reason": reason, **gateway.status()})

    async def reload(_: Request) -> Response:
        return json_response(await run_in_threadpool(gateway.reload, "admin"))

    async def search(request: Request) -> Response:
        from ml_tasks.search.index import NoLiveIndex

        query, k = parse_search_request(parse_json(await read_body(request, max_body)))
        try:
            return json_response(await run_in_threadpool(manuals.search, query, k))
        except NoLiveIndex as err:
            return error_response(503, "no_live_index", str(err))

    def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncGenerator[None]:
        if manage_gateway:
            await run_in_threadpool(gateway.start)
        # Before the first request: full collections would otherwise pause it (heap.py).
        freeze_startup_heap()
        if preload_search:
            manuals.warm_in_background()
        try:
            yield
        finally:
            if manage_gateway:
                await run_in_threadpool(gateway.close)

    model = f"/v2/models/{MODEL_NAME}"
    routes = [
        Route(f"{model}/infer", predict_route("v2", parse_v2, encode_v2), methods=["POST"]),
        Route("/v1/predict", predict_route("v1", parse_v1, encode_v1), methods=["POST"]),
        Route("/v2/health/live", guarded("live", live), methods=["GET"]),
        Route("/v2/health/ready", guarded("ready", ready), methods=["GET"]),
        Route(f"{model}/ready", guarded("model ready", model_ready), methods=["GET"]),
        Route("/v2", guarded("server metadata", server_metadata), methods=["GET"]),
        Route(model, guarded("model metadata", model_metadata), methods=["GET"]),
        Route("/metrics", guarded("metrics", prometheus), methods=["GET"]),
        Route("/v1/status", guarded("status", status), methods=["GET"]),
        Route("/v1/admin/reload", guarded("reload", reload), methods=["POST"]),
        Route("/v1/search", guarded("search", search), methods=["POST"]),
    ]
    handlers = {HTTPException: http_error}
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
