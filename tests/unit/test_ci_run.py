"""``.ci/run`` stops with a clear message when redis-server cannot be installed.

The script runs in a sandbox PATH holding only stand-ins: an ``apt-get`` that fails (or that
"installs" a redis-server), a ``make`` that records it was called, and ``dirname``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ml_tasks.settings import REPO_ROOT

SCRIPT = REPO_ROOT / ".ci" / "run"
BASH = shutil.which("bash")


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def _run(tmp_path: Path, apt_installs: bool) -> tuple[subprocess.CompletedProcess, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    called = tmp_path / "make-called"
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))
    _stub(bin_dir, "make", f'echo "$CI" > {called}')
    # The stand-in "installs" the Debian packages .ci/run asks for: redis-server, postgresql,
    # prometheus (promtool), prometheus-pushgateway.
    install = "; ".join(
        f'printf "#!{BASH}\\n" > {bin_dir}/{name}; chmod +x {bin_dir}/{name}'
        for name in ("redis-server", "initdb", "promtool", "prometheus-pushgateway")
    )
    _stub(bin_dir, "apt-get", install if apt_installs else "exit 100")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return result, called


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_ci_fails_when_redis_server_cannot_be_installed(tmp_path):
    result, called = _run(tmp_path, apt_installs=False)
    assert result.returncode != 0
    assert "redis-server could not be installed" in result.stderr
    assert not called.exists()  # no test ran: a silent skip of the Redis tests is impossible


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_ci_runs_the_tests_with_ci_set_once_redis_server_is_there(tmp_path):
    result, called = _run(tmp_path, apt_installs=True)
    assert result.returncode == 0, result.stderr
    assert called.read_text().strip() == "true"  # the Redis fixture fails instead of skipping
