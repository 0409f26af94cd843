"""A local Ray head for the embedded default, started once and shared by every training run.

An in-process Ray (``ray.init()`` inside the task) pays its start-up on every run: the GCS,
the raylet, the worker processes. A head started once with ``ray start --head`` keeps them warm;
training connects to it through ``RAY_ADDRESS`` (:attr:`ml_tasks.settings.Settings.ray_address`)
and falls back to an in-process Ray when the variable is unset.

The head runs like the other embedded services (:mod:`ml_platform_demo.services`): in its own
process group, its output in ``<AIRFLOW_HOME>/logs/services/ray-head.log``, its PID, address and
temp folder in ``<PLATFORM_HOME>/ray/head.json``; ``python -m ml_platform_demo stop`` ends it.
It never listens on 6379 (Redis's port in the production stack) and keeps its session files in a
private temp folder, so no other Ray on the machine finds it by accident (``ray.init()`` without
an address connects to the last ``ray start`` recorded in ``/tmp/ray``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from ml_platform_demo.services import _free_port, _tail, log_dir, stop_processes
from ml_tasks.settings import Settings, get_settings

NAME = "ray-head"
REDIS_PORT = 6379
READY_LINE = "Ray runtime started"


@dataclass(frozen=True)
class RayHead:
    """A running head: where to connect, and what to stop."""

    address: str
    pid: int
    create_time: float
    num_cpus: int
    log: str
    temp_dir: str


def record_path(settings: Settings) -> Path:
    return settings.platform_home / "ray" / "head.json"


def _port() -> int:
    port = _free_port()
    while port == REDIS_PORT:  # the OS hands out ephemeral ports; never Redis's
        port = _free_port()
    return port


def _alive(head: RayHead) -> bool:
    """Whether the head's process runs (the create time guards against PID reuse)."""
    try:
        proc = psutil.Process(head.pid)
        same = abs(proc.create_time() - head.create_time) <= 1.0
        return same and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def running_head(settings: Settings | None = None) -> RayHead | None:
    """The recorded head if its process still runs; a stale record is removed."""
    path = record_path(settings or get_settings())
    try:
        head = RayHead(**json.loads(path.read_text()))
        if _alive(head):
            return head
    except (OSError, ValueError, TypeError):
        pass
    path.unlink(missing_ok=True)
    return None


def _ray_command() -> list[str]:
    script = Path(sys.executable).with_name("ray")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ray.scripts.scripts"]


def launch_head(settings: Settings | None = None, *, num_cpus: int | None = None) -> RayHead:
    """Start a head in the background (or return the one running for this ``PLATFORM_HOME``);
    :func:`wait_ready` blocks until it accepts connections."""
    s = settings or get_settings()
    if (head := running_head(s)) is not None:
        return head
    cpus = num_cpus or s.ray_num_cpus or os.cpu_count() or 1
    port = _port()
    # Unix sockets live under the temp folder and their paths are limited to ~107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="ray-head-", dir="/tmp")
    logs = log_dir(s)
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{NAME}.log"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # A private head on loopback, like the in-process Ray it replaces (runner.configure_env).
    env.setdefault("RAY_AUTH_MODE", "disabled")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    command = [
        *_ray_command(),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--num-cpus={cpus}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        # Fixed defaults (10001, 52365) would collide with another Ray on this machine.
        f"--ray-client-server-port={_port()}",
        f"--dashboard-agent-listen-port={_port()}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    head = RayHead(
        address=f"127.0.0.1:{port}",
        pid=process.pid,
        create_time=psutil.Process(process.pid).create_time(),
        num_cpus=cpus,
        log=str(log_path),
        temp_dir=temp_dir,
    )
    record = record_path(s)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(asdict(head)) + "\n")
    print(f"starting ray head at {head.address} ({cpus} CPUs) pid={head.pid} log={log_path}")
    return head


def wait_ready(
    head: RayHead, settings: Settings | None = None, *, timeout_s: float = 90.0
) -> float:
    """Block until the head is up; returns the seconds waited. A head that exits or stays
    down past ``timeout_s`` is stopped and the error carries its log tail."""
    started = time.monotonic()
    log_path = Path(head.log)
    while READY_LINE not in log_path.read_text(errors="replace"):
        alive = _alive(head)
        if not alive or time.monotonic() - started > timeout_s:
            why = "exited" if not alive else f"not ready after {timeout_s:.0f} s"
            stop_head(settings)
            raise RuntimeError(f"ray head {why}; last lines of {log_path}:\n{_tail(log_path)}")
        time.sleep(0.2)
    return time.monotonic() - started


def start_head(
    settings: Settings | None = None, *, num_cpus: int | None = None, timeout_s: float = 90.0
) -> RayHead:
    """Start a head and wait until it is up (or return the one already running)."""
    head = launch_head(settings, num_cpus=num_cpus)
    waited = wait_ready(head, settings, timeout_s=timeout_s)
    print(f"ray head at {head.address} ready after {waited:.1f}s", flush=True)
    return head


def stop_head(settings: Settings | None = None, grace_s: float = 10.0) -> bool:
    """Stop the recorded head, its daemons and workers; returns whether one was running."""
    s = settings or get_settings()
    try:  # read before running_head(), which removes a stale record
        temp_dir = json.loads(record_path(s).read_text()).get("temp_dir")
    except (OSError, ValueError, AttributeError):
        temp_dir = None
    head = running_head(s)
    if head is not None:
        # `ray start --block` stops its daemons on SIGTERM (about 2 s); signalling them all at
        # once instead leaves the raylet's workers waiting for it. What is left gets SIGKILL.
        root = psutil.Process(head.pid)
        tree = [root, *root.children(recursive=True)]
        with contextlib.suppress(psutil.Error):
            root.terminate()
        _gone, alive = psutil.wait_procs(tree, timeout=grace_s)
        if alive:
            stop_processes({NAME: root} if root in alive else {}, grace_s=1.0)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
    if temp_dir and Path(temp_dir).name.startswith("ray-head-"):
        shutil.rmtree(temp_dir, ignore_errors=True)
    record_path(s).unlink(missing_ok=True)
    return head is not None


class HeadLease:
    """A head started for a block of work: :meth:`ready` waits for it and sets ``RAY_ADDRESS``."""

    def __init__(self, settings: Settings, head: RayHead | None) -> None:
        self.settings, self.head = settings, head

    def ready(self) -> str | None:
        """The address training connects to, once the head accepts connections; None when the
        head failed to start (training then starts Ray in-process, the fallback)."""
        if self.head is None:  # RAY_ADDRESS was set before: a cluster of its own
            return self.settings.ray_address
        try:
            waited = wait_ready(self.head, self.settings)
        except RuntimeError as err:
            print(f"WARNING: {err}\ntraining starts Ray in-process instead", flush=True)
            return None
        if waited > 0.5:
            print(f"waited {waited:.1f}s for the ray head at {self.head.address}", flush=True)
        os.environ["RAY_ADDRESS"] = self.head.address
        return self.head.address


@contextlib.contextmanager
def ray_head(
    settings: Settings | None = None, *, wait: bool = True
) -> Generator[HeadLease, None, None]:
    """A local head for the block; ``RAY_ADDRESS`` points at it once :meth:`HeadLease.ready`.

    ``wait=False`` starts it in the background, so its start-up overlaps earlier work; the
    caller calls ``ready()`` before the first Ray user. An address already set (a production
    cluster) is used as is and no head starts. A head started here is stopped at the end (and
    ``RAY_ADDRESS`` unset); one that was already running is left running.
    """
    s = settings or get_settings()
    if s.ray_address:
        yield HeadLease(s, None)
        return
    already = running_head(s)
    lease = HeadLease(s, already or launch_head(s))
    try:
        if wait:
            lease.ready()
        yield lease
    finally:
        head = lease.head
        if head is not None and os.environ.get("RAY_ADDRESS") == head.address:
            os.environ.pop("RAY_ADDRESS")
        if already is None:
            stop_head(s)


__all__ = [
    "HeadLease",
    "RayHead",
    "launch_head",
    "ray_head",
    "running_head",
    "start_head",
    "stop_head",
    "wait_ready",
]
