"""Screenshots of the ML view inside the Airflow UI, taken as a person would see it.

``make screenshots`` (``python -m ml_platform_demo.screenshots``):

1. reuses the Airflow API server ``make ui`` runs for this ``AIRFLOW_HOME``, or starts one
   (:func:`ml_platform_demo.services.running_services`) and stops it afterwards;
2. checks that the view refuses a request without a login (401/403), then logs in through
   Airflow's real login: the SimpleAuthManager user and password the API server generated,
   exchanged for a JWT at ``/auth/token``;
3. drives Debian's ``chromium`` headless over the Chrome DevTools Protocol (its websocket, with
   the ``websockets`` client): sets the token as the ``_token`` cookie the UI itself uses, opens
   the UI's page for the view (``/plugin/ml``: the navigation and the view in its iframe), then
   the view itself, and captures the whole page and each of its sections;
4. writes ``<PLATFORM_HOME>/screenshots/*.png`` and prints their paths.

Fill the stores first (``make run``): on an empty home the view says so in every section.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from pathlib import Path
from typing import Any

from ml_platform_airflow.api_client import login_from_password_file, request
from ml_platform_airflow.ui.app import URL_PREFIX
from ml_tasks.observability.ml_view import SECTIONS
from ml_tasks.settings import Settings, get_settings

WINDOW = (1440, 1000)
UI_ROUTE = "/plugin/ml"
# The UI is a single-page app: after the load event it still fetches, renders and fills the
# iframe; wait until the iframe's document has the view's sections, at most this long.
SETTLE_TIMEOUT_S = 60.0


class DevTools:
    """A minimal Chrome DevTools Protocol client: one page target, calls and awaited events."""

    def __init__(self, websocket: Any) -> None:
        self._ws = websocket
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events meanwhile are kept)."""
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=SETTLE_TIMEOUT_S))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self._events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return (result.get("result") or {}).get("value")

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load in {SETTLE_TIMEOUT_S:.0f} s")
            with contextlib.suppress(TimeoutError):
                self._events.append(json.loads(self._ws.recv(timeout=1.0)))

    def wait_for(self, expression: str, what: str) -> None:
        """Poll a JavaScript condition until it holds."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not there after {SETTLE_TIMEOUT_S:.0f} s")
            time.sleep(0.5)

    def screenshot(self, path: Path, clip: dict[str, Any] | None = None) -> Path:
        """The viewport, the whole page (``clip`` None and a tall page) or a clip, as PNG."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip is None:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            clip = {"x": 0, "y": 0, "width": width, "height": height}
        params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def headless_chromium() -> Generator[DevTools, None, None]:
    """Debian's chromium, headless, with a throw-away profile; a DevTools client on its tab."""
    from websockets.sync.client import connect

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise RuntimeError("chromium not found: apt-get install -y chromium")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="mlp-chromium-") as profile:
        proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",  # containers run this as root, where the sandbox cannot start
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = _page_websocket(port, proc)
            with connect(url, max_size=64 * 1024 * 1024) as websocket:
                tools = DevTools(websocket)
                tools.call("Page.enable")
                tools.call("Network.enable")
                # --window-size includes the window's frame: fix the page's own viewport, or the
                # UI (laid out to the viewport's height) ends above the screenshot's bottom.
                tools.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=WINDOW[0],
                    height=WINDOW[1],
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield tools
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _page_websocket(port: int, proc: subprocess.Popen[bytes]) -> str:
    """The DevTools websocket of chromium's first tab, once it listens."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.loads(r.read()) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except (OSError, ValueError, urllib.error.URLError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"chromium did not open its DevTools port {port}")
        time.sleep(0.3)


def refused_without_login(base_url: str) -> int:
    """The status the view answers without a token (must be 401 or 403)."""
    try:
        urllib.request.urlopen(f"{base_url}{URL_PREFIX}/", timeout=30)
    except urllib.error.HTTPError as err:
        return int(err.code)
    return 200


def take(base_url: str, token: str, out: Path) -> list[Path]:
    """Every screenshot: the UI page with the view, the view, and each of its sections."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with headless_chromium() as tools:
        tools.call("Network.setCookie", name="_token", value=token, url=base_url, path="/")
        tools.navigate(f"{base_url}{UI_ROUTE}")
        # The iframe's document is same-origin: wait until the view's sections are in it.
        tools.wait_for(
            "(() => { const f = document.querySelector('iframe'); const d = f && f.contentDocument;"
            " return !!(d && d.querySelector('#search')); })()",
            "the ML view in the Airflow UI's iframe",
        )
        time.sleep(1.0)  # the UI's own fetches finish painting
        viewport = {"x": 0, "y": 0, "width": WINDOW[0], "height": WINDOW[1]}
        shots.append(tools.screenshot(out / "airflow_ui_ml_view.png", viewport))
        tools.navigate(f"{base_url}{URL_PREFIX}/")
        shots.append(tools.screenshot(out / "ml_view_full.png"))
        for name in SECTIONS:
            box = tools.evaluate(
                f"(() => {{ const r = document.getElementById('{name}').getBoundingClientRect();"
                " return {x: r.left + window.scrollX, y: r.top + window.scrollY,"
                " width: r.width, height: r.height}; })()"
            )
            pad = 8
            clip = {"x": max(0, box["x"] - pad), "y": max(0, box["y"] - pad),
                    "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad}  # fmt: skip
            shots.append(tools.screenshot(out / f"ml_view_{name}.png", clip))
    return shots


def _running_api_url(settings: Settings) -> str | None:
    """The URL of the API server ``make ui`` runs for this AIRFLOW_HOME, if one runs."""
    from ml_platform_demo.services import recorded_services

    proc = recorded_services(settings).get("api-server")
    if proc is None:
        return None
    try:
        port = proc.environ().get("AIRFLOW__API__PORT")
    except Exception:  # psutil.AccessDenied and friends: not ours to read
        return None
    return f"http://localhost:{port}" if port else None


@contextlib.contextmanager
def api_server(settings: Settings) -> Generator[str, None, None]:
    """The base URL of a running API server: ``make ui``'s, or one started for the shots."""
    from ml_platform_demo.orchestration import init_airflow_db
    from ml_platform_demo.services import running_services

    url = _running_api_url(settings)
    if url is not None:
        print(f"using the running API server at {url}", flush=True)
        yield url
        return
    init_airflow_db(settings)
    with running_services(("api-server",), settings) as services:
        yield services.api_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder (default <PLATFORM_HOME>/screenshots)")
    args = parser.parse_args(argv)
    s = get_settings()
    out = args.out or s.platform_home / "screenshots"
    with api_server(s) as base_url:
        status = refused_without_login(base_url)
        print(f"{URL_PREFIX}/ without a login: HTTP {status}", flush=True)
        if status not in (401, 403):
            print("the view answered without a login: refusing to go on", flush=True)
            return 1
        user, password = login_from_password_file(s.airflow_home)
        token = request("POST", base_url, "/auth/token", {"username": user, "password": password})
        shots = take(base_url, str(token["access_token"]), out)
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
