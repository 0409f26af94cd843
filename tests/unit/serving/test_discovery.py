"""Discovery of a running gateway: the setting, else a live run file, else None."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml_tasks.serving import discovery


class _Live(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == discovery.LIVE_PATH else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def live_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Live)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_setting_wins(platform_home):
    s = dataclasses.replace(platform_home, gateway_url="http://gw.example:8765/")
    assert discovery.gateway_url(s) == "http://gw.example:8765"


def test_no_run_file_no_gateway(platform_home):
    assert discovery.gateway_url(platform_home) is None


def test_a_live_run_file_is_found_and_removed(platform_home, live_server):
    path = discovery.write_run_file(platform_home, live_server + "/")
    record = json.loads(path.read_text())
    assert record["url"] == live_server and record["started_at"]
    assert discovery.gateway_url(platform_home) == live_server
    discovery.remove_run_file(platform_home)
    assert not path.exists() and discovery.gateway_url(platform_home) is None


def test_a_dead_pid_or_a_silent_url_is_ignored(platform_home, live_server):
    discovery.write_run_file(platform_home, live_server, pid=2**22 + 12345)
    assert discovery.gateway_url(platform_home) is None  # no such process
    discovery.write_run_file(platform_home, "http://127.0.0.1:9")
    assert discovery.gateway_url(platform_home, timeout=0.2) is None  # nothing answers


def test_another_servers_run_file_is_left_alone(platform_home):
    path = discovery.write_run_file(platform_home, "http://127.0.0.1:9", pid=1)
    discovery.remove_run_file(platform_home)
    assert path.exists()


def test_a_garbled_run_file_is_no_gateway(platform_home):
    path = discovery.run_file(platform_home)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert discovery.gateway_url(platform_home) is None
