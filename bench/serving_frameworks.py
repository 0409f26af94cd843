"""Starlette vs FastAPI on the gateway's hot-path shape, to choose the HTTP framework.

One request shape: ``POST /v1/predict`` with a one-machine JSON body, parsed with orjson and
answered with a fixed orjson body (the gateway itself left out, so only the framework's cost is
compared). Each app is called in-process as an ASGI callable on uvloop (no sockets: the server,
uvicorn with httptools, is the same for all of them), ``--calls`` calls per run after a warm-up,
``--runs`` runs interleaved so load on a shared machine hits all alike; median microseconds a
request. FastAPI twice: with the raw ``Request`` (same parsing as Starlette) and with a pydantic
body model (its usual style).

    .venv/bin/python bench/serving_frameworks.py [--calls 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import orjson
import uvloop
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = {
    "request_id": "r",
    "answers": [{"machine_id": "M-0001", "status": 200, "probability": 0.12, "alert": False}],
}
BODY = orjson.dumps({"machine_ids": ["M-0001"]})
SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/v1/predict",
    "raw_path": b"/v1/predict",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))],
    "server": ("127.0.0.1", 8765),
    "client": ("127.0.0.1", 50000),
}


class Body(BaseModel):
    machine_ids: list[str]


def apps() -> dict[str, Any]:
    async def raw(request: Request) -> Response:
        orjson.loads(await request.body())
        return Response(orjson.dumps(ANSWER), media_type="application/json")

    fastapi_raw = FastAPI()
    fastapi_raw.post("/v1/predict")(raw)
    fastapi_model = FastAPI()

    @fastapi_model.post("/v1/predict")
    async def modelled(body: Body) -> Response:
        return Response(orjson.dumps(ANSWER), media_type="application/json")

    return {
        "starlette": Starlette(routes=[Route("/v1/predict", raw, methods=["POST"])]),
        "fastapi (raw Request)": fastapi_raw,
        "fastapi (pydantic body)": fastapi_model,
    }


async def call(app: Any) -> None:
    sent: list[dict[str, Any]] = []

    # ASGI wants coroutines for both, though these two have nothing to wait for.
    async def receive() -> dict[str, Any]:  # ruff: ignore[unused-async]
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:  # ruff: ignore[unused-async]
        sent.append(message)

    await app(dict(SCOPE), receive, send)
    assert sent[0]["status"] == 200, sent


async def per_request_us(app: Any, calls: int) -> float:
    for _ in range(min(calls, 500)):
        await call(app)
    started = time.perf_counter()
    for _ in range(calls):
        await call(app)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, runs: int) -> None:
    built = apps()
    times: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(runs):
        for name, app in built.items():
            times[name].append(await per_request_us(app, calls))
    floor = statistics.median(times["starlette"])
    print(f"load average {os.getloadavg()[0]:.2f}; {runs} runs x {calls} calls, median")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median:6.1f} us a request  ({median / floor:.2f}x starlette)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per run")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per app")
    args = parser.parse_args()
    uvloop.run(main(args.calls, args.runs))
