"""Fixtures for the observability tests: a real Prometheus Pushgateway, the binaries' look-up.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``); only the tests that ask
for ``pushgateway_url`` start the server; ``promtool`` only looks the binary up.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest


def required_binary(name: str, package: str, what: str) -> str:
    """The path of ``name``; skip without it, but fail in CI, where a skip would hide that
    ``what`` was never tested (``.ci/run`` installs the Debian ``package`` and sets ``CI``)."""
    from tests.redis_fixtures import in_ci  # lazily: tests.redis_fixtures is a plugin too

    binary = shutil.which(name)
    if binary is not None:
        return binary
    reason = f"{name} not installed (apt-get install -y {package})"
    if in_ci():
        pytest.fail(f"{reason}: {what} must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def promtool() -> str:
    """Prometheus' promtool (Debian's prometheus package): checks and unit-tests rules."""
    return required_binary("promtool", "prometheus", "the promtool checks of rules and panels")


@pytest.fixture(scope="session")
def pushgateway_url() -> Iterator[str]:
    """A real Prometheus Pushgateway on a free loopback port for the session; its URL."""
    binary = required_binary(
        "prometheus-pushgateway", "prometheus-pushgateway", "the Pushgateway push tests"
    )
    from tests.redis_fixtures import _free_port

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus-pushgateway did not start on port {port}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
