"""The inference gateway as a child process of the demo (``python -m ml_tasks serve``).

``make run`` starts it once a champion exists, points ``promote_model`` at it through
``PLATFORM_GATEWAY_URL`` (so the release acts on live traffic) and stops it at the end with
SIGTERM, which lets the gateway flush its prediction log (a graceful stop loses nothing).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ml_tasks.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Until ``/v2/health/ready`` answers 200; raises when the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {process.returncode}: {last}")
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except Exception as err:  # not up yet, or not ready (503): keep polling
            last = str(err)
        time.sleep(0.5)
    raise TimeoutError(f"the gateway at {url} was not ready after {timeout:.0f} s: {last}")


@contextmanager
def gateway_process(
    settings: Settings, log_path: Path, env: Mapping[str, str] | None = None
) -> Generator[str, None, None]:
    """Start ``python -m ml_tasks serve`` on a free port; yield its URL; stop it gracefully.

    While it runs, ``PLATFORM_GATEWAY_URL`` names it in this process's environment, which is
    where the ``dag.test()`` tasks read their settings. ``env`` adds to the child's environment
    (the demo's replay gateway reads an online store of its own).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ml_tasks", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PLATFORM_HOME": str(settings.platform_home), **(env or {})},
        )
    previous = os.environ.get("PLATFORM_GATEWAY_URL")
    try:
        wait_ready(url, process)
        os.environ["PLATFORM_GATEWAY_URL"] = url
        yield url
    finally:
        if previous is None:
            os.environ.pop("PLATFORM_GATEWAY_URL", None)
        else:
            os.environ["PLATFORM_GATEWAY_URL"] = previous
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful: the prediction log is flushed
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
