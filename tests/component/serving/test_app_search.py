"""``POST /v1/search`` on the real embedding model and a small LanceDB index.

The gateway keeps the model loaded, so only the first search pays for it; each answer names
the index version it searched, and a move of the ``live`` alias is followed without a restart.
``python -m ml_tasks search`` asks the running gateway and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pyarrow as pa
import pytest
from starlette.testclient import TestClient

from ml_tasks.serving.app import create_app
from ml_tasks.serving.gateway import Gateway

CHUNKS = {
    "pump-a": ("Pump A", "Seal leak", "Water dripping at the shaft seal means the seal is worn."),
    "press-b": (
        "Press B",
        "Vibration",
        "Strong vibration after a bearing change: check alignment.",
    ),
    "oven-c": ("Oven C", "Overheating", "The oven overheats when the fan filter is blocked."),
}


def _publish(settings: Any, version: int, docs: list[str]) -> None:
    """Write ``docs`` as index version ``version`` and point ``live`` at it."""
    from ml_tasks.search import embedder
    from ml_tasks.search.index import ManualIndex, vectors_array

    texts = [CHUNKS[d][2] for d in docs]
    rows = pa.table(
        {
            "chunk_id": [f"{d}-v{version}" for d in docs],
            "doc_id": docs,
            "title": [CHUNKS[d][0] for d in docs],
            "section": [CHUNKS[d][1] for d in docs],
            "part": pa.array([0] * len(docs), pa.int32()),
            "text": texts,
            "vector": vectors_array(embedder.encode(texts)),
        }
    )
    index = ManualIndex(settings)
    build = {
        "interval": f"v{version}",
        "run_id": "test",
        "fingerprint": f"f{version}",
        "model_id": embedder.model_id(),
        "documents": len(docs),
        "embedded": len(docs),
        "reused": 0,
    }
    index.write_version(version, rows, build)
    index.set_alias(version, reason="test")


@pytest.fixture
def searchable(platform_home: Any):
    """An app over a not-started gateway (search needs no model slot) and a v1 index."""
    _publish(platform_home, 1, ["pump-a", "press-b"])
    gateway = Gateway(platform_home, poll=False)
    with TestClient(create_app(gateway, platform_home, manage_gateway=False)) as client:
        yield platform_home, client


def test_search_names_the_live_version_and_follows_an_alias_move(searchable):
    settings, client = searchable
    answer = client.post("/v1/search", json={"query": "shaft seal is leaking", "k": 2}).json()
    assert (answer["index_version"], answer["alias"], answer["k"]) == (1, "live", 2)
    assert answer["hits"][0]["doc_id"] == "pump-a"
    assert len(answer["hits"]) == 2 and answer["hits"][0]["score"] > answer["hits"][1]["score"]

    _publish(settings, 2, ["pump-a", "press-b", "oven-c"])
    moved = client.post("/v1/search", json={"query": "oven too hot, filter blocked"}).json()
    assert moved["index_version"] == 2
    assert moved["hits"][0]["doc_id"] == "oven-c"


def test_no_live_index_is_a_503_naming_it(platform_home):
    gateway = Gateway(platform_home, poll=False)
    with TestClient(create_app(gateway, platform_home, manage_gateway=False)) as client:
        response = client.post("/v1/search", json={"query": "anything"})
    assert response.status_code == 503
    assert response.json()["error"] == "no_live_index"


def test_the_search_cli_uses_the_running_gateway_and_says_so(searchable):
    from ml_tasks.serving.server import build_server

    settings, _ = searchable
    server = build_server(settings, "127.0.0.1", 0, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        env = {**os.environ, "PLATFORM_HOME": str(settings.platform_home)}
        env.pop("PLATFORM_GATEWAY_URL", None)
        done = subprocess.run(
            [sys.executable, "-m", "ml_tasks", "search", "seal leaking", "--k", "1", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["via"] == f"gateway {server.url}"
    assert out["version"] == 1 and out["hits"][0]["doc_id"] == "pump-a"
