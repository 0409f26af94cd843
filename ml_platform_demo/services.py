"""Run the embedded Airflow's long-lived services: the UI, and the services a backfill needs.

Airflow 3 splits into separate processes: the **scheduler** (creates task instances and runs
them with the LocalExecutor), the **dag-processor** (parses ``dags/`` into serialized DAGs),
the **triggerer** (deferred tasks) and the **api-server** (UI, REST API and the *Execution
API* that every task process reports to). A backfill therefore needs at least the api-server
and the scheduler (:mod:`ml_platform_demo.backfill`); ``airflow backfill create`` only writes
queued runs.

Every service starts in its own process group (session) with its output in
``<AIRFLOW_HOME>/logs/services/<name>.log`` and a PID file in ``<AIRFLOW_HOME>/pids/``; stopping
sends SIGTERM to the group and to every descendant (task processes move to their own groups),
waits, then SIGKILLs what is left, because LocalExecutor workers ignore SIGTERM. This module
reads Airflow's state only through the API server's health endpoint and ``airflow jobs check``.

Usage::

    python -m ml_platform_demo backfill --from 2026-10-01 --to 2026-10-03
    python -m ml_platform_demo ui
    python -m ml_platform_demo stop      # only after a hard crash left services behind
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from ml_platform_airflow.api_client import PASSWORD_FILE
from ml_tasks.settings import Settings, airflow_env, get_settings

UI_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Components whose liveness the API server's health endpoint reports (by its JSON key).
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
# Stop the producers of work before the API server their task processes report to.
STOP_ORDER = ("scheduler", "triggerer", "dag-processor", "api-server")
PREFERRED_UI_PORT = 8080


# --------------------------------------------------------------------------- processes


@dataclass
class Service:
    """One started Airflow component."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pid_file: Path
    create_time: float

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Services:
    """What :func:`running_services` started: the processes and how to reach the API server."""

    settings: Settings
    env: dict[str, str]
    api_port: int
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://localhost:{self.api_port}"

    @property
    def pids(self) -> dict[str, int]:
        return {name: svc.pid for name, svc in self.services.items()}

    def check_alive(self) -> None:
        """Raise with the log tail of any service that exited on its own."""
        for svc in self.services.values():
            if svc.process.poll() is not None:
                raise RuntimeError(
                    f"airflow {svc.name} exited with code {svc.process.returncode}; "
                    f"last lines of {svc.log_path}:\n{_tail(svc.log_path)}"
                )


def pid_dir(settings: Settings) -> Path:
    return settings.airflow_home / "pids"


def log_dir(settings: Settings) -> Path:
    return settings.airflow_home / "logs" / "services"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens there, else a port the OS hands out."""
    candidates = ([preferred] if preferred else []) + [0]
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free TCP port")


def service_env(settings: Settings, api_port: int) -> dict[str, str]:
    """Environment shared by every service: the embedded settings plus consistent ports.

    The task processes find the API server through ``execution_api_server_url`` (default
    ``http://localhost:8080/execution/``), so the port must agree everywhere. The scheduler's
    and triggerer's log servers default to 8793/8794 and would collide with another instance
    on the same machine, so they get free ports too. Anything already set in the environment
    wins, like in :func:`ml_tasks.settings.airflow_env`.
    """
    defaults = {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
    }
    env = {**os.environ, **airflow_env(settings)}
    for key, value in defaults.items():
        env[key] = os.environ.get(key) or value
    env["AIRFLOW__API__PORT"] = str(api_port)  # the caller already honoured the variable
    return env


def _write_pid_file(path: Path, name: str, pid: int, create_time: float, log: Path) -> None:
    record = {"component": name, "pid": pid, "create_time": create_time, "log": str(log)}
    path.write_text(json.dumps(record) + "\n")


def _recorded_process(pid_file: Path) -> psutil.Process | None:
    """The live process a PID file names, or None (the create time guards against PID reuse)."""
    try:
        record = json.loads(pid_file.read_text())
        proc = psutil.Process(int(record["pid"]))
        if abs(proc.create_time() - float(record["create_time"])) > 1.0:
            return None
        return proc if proc.status() != psutil.STATUS_ZOMBIE else None
    except (OSError, ValueError, KeyError, psutil.Error):
        return None


def recorded_services(settings: Settings | None = None) -> dict[str, psutil.Process]:
    """Services whose PID files exist and whose processes still run; stale files are removed."""
    s = settings or get_settings()
    alive = {}
    for pid_file in sorted(pid_dir(s).glob("*.pid")):
        proc = _recorded_process(pid_file)
        if proc is None:
            pid_file.unlink(missing_ok=True)
        else:
            alive[pid_file.stem] = proc
    return alive


def ensure_not_running(settings: Settings) -> None:
    """Raise while services recorded for this AIRFLOW_HOME still run (one scheduler per DB)."""
    if alive := recorded_services(settings):
        listing = ", ".join(f"{name} pid={proc.pid}" for name, proc in alive.items())
        raise RuntimeError(
            f"Airflow services already running for {settings.airflow_home}: {listing}. "
            "Stop them (Ctrl-C the `ui`), or after a crash: python -m ml_platform_demo stop"
        )


def start_service(name: str, env: dict[str, str], settings: Settings) -> Service:
    """Start ``airflow <name>`` in a new session so its whole group can be signalled."""
    logs, pids = log_dir(settings), pid_dir(settings)
    logs.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", name],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    create_time = psutil.Process(process.pid).create_time()
    pid_file = pids / f"{name}.pid"
    _write_pid_file(pid_file, name, process.pid, create_time, log_path)
    print(f"started airflow {name} pid={process.pid} log={log_path}", flush=True)
    return Service(name, process, log_path, pid_file, create_time)


def _signal_tree(root: psutil.Process, pgid: int, sig: signal.Signals) -> list[psutil.Process]:
    """Send ``sig`` to the process group and to every descendant; return all of them."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = [root]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for proc in procs:
        # Task processes call setpgid() and leave the group, so signal them one by one too.
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)
    return procs


def _describe(procs: list[psutil.Process]) -> str:
    """``pid (name)`` of each process, for the console line that says who was killed."""
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid} ({proc.name()})")
        except psutil.Error:
            out.append(str(proc.pid))
    return ", ".join(out)


def stop_processes(roots: dict[str, psutil.Process], grace_s: float = 20.0) -> None:
    """SIGTERM each root's group and descendants, wait ``grace_s``, SIGKILL the survivors."""
    ordered = sorted(roots.items(), key=lambda kv: _stop_rank(kv[0]))
    tracked: list[psutil.Process] = []
    groups: list[int] = []
    for _name, root in ordered:
        groups.append(root.pid)  # started with start_new_session: pgid == pid
        tracked.extend(_signal_tree(root, root.pid, signal.SIGTERM))
    _gone, alive = psutil.wait_procs(tracked, timeout=grace_s)
    if alive:
        print(
            f"SIGKILL after {grace_s:g} s to what did not stop on SIGTERM: {_describe(alive)}",
            flush=True,
        )
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def _stop_rank(name: str) -> int:
    return STOP_ORDER.index(name) if name in STOP_ORDER else -1


def stop_services(services: Services, grace_s: float = 20.0) -> None:
    """Stop everything :func:`running_services` started and remove the PID files."""
    roots = {}
    for name, svc in services.services.items():
        try:
            roots[name] = psutil.Process(svc.pid)
        except psutil.NoSuchProcess:
            continue
    if roots:
        stop_processes(roots, grace_s)
    for svc in services.services.values():
        svc.process.poll()  # reap, so no zombie is left behind
        svc.pid_file.unlink(missing_ok=True)
    print(f"stopped airflow {', '.join(services.services)}", flush=True)


def stop_recorded(settings: Settings | None = None, grace_s: float = 20.0) -> list[str]:
    """Stop services recorded in the PID files (left behind by a crashed run)."""
    s = settings or get_settings()
    alive = recorded_services(s)
    if alive:
        stop_processes(alive, grace_s)
    for pid_file in pid_dir(s).glob("*.pid"):
        pid_file.unlink(missing_ok=True)
    return sorted(alive)


# --------------------------------------------------------------------------- health


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _health(services: Services) -> dict[str, Any] | None:
    """The API server's health document, or None while it (or its execution API) is not up."""
    base = f"http://127.0.0.1:{services.api_port}"
    try:
        health = _get_json(f"{base}/api/v2/monitor/health")
        _get_json(f"{base}/execution/health")
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return health if isinstance(health, dict) else None


def _component_ready(health: dict[str, Any], name: str, since: datetime) -> bool:
    """Healthy with a heartbeat from this start (a crashed predecessor may still look alive)."""
    key = HEALTH_KEYS[name]
    info = health.get(key) or {}
    beat = info.get(f"latest_{key}_heartbeat")
    if info.get("status") != "healthy" or not beat:
        return False
    return datetime.fromisoformat(beat) >= since


def _jobs_check(name: str, env: dict[str, str]) -> bool:
    """Liveness without an API server: ``airflow jobs check`` reads the job table."""
    job_type = {
        "scheduler": "SchedulerJob",
        "dag-processor": "DagProcessorJob",
        "triggerer": "TriggererJob",
    }[name]
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "jobs", "check", "--job-type", job_type],
        env=env,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def wait_until_healthy(services: Services, since: datetime, timeout_s: float = 180.0) -> float:
    """Block until every started component reports healthy; returns the seconds it took."""
    start = time.monotonic()
    pending = set(services.services)
    while pending:
        services.check_alive()
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(
                f"airflow {', '.join(sorted(pending))} not healthy after {timeout_s}s"
            )
        if "api-server" in services.services:
            health = _health(services)
            if health is not None:
                pending.discard("api-server")
                pending -= {n for n in pending if _component_ready(health, n, since)}
        else:
            pending -= {n for n in pending if _jobs_check(n, services.env)}
        if pending:
            time.sleep(1.0)
    return time.monotonic() - start


# --------------------------------------------------------------------------- lifecycle


@contextlib.contextmanager
def _sigterm_as_exit() -> Generator[None, None, None]:
    """Turn SIGTERM into SystemExit so ``finally`` blocks stop the services (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _uninterruptible() -> Generator[None, None, None]:
    """Ignore Ctrl-C and SIGTERM meanwhile: a second one must not cut the stopping short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def running_services(
    components: Sequence[str] = ("api-server", "scheduler", "dag-processor"),
    settings: Settings | None = None,
    *,
    api_port: int | None = None,
    startup_timeout_s: float = 180.0,
    grace_s: float = 20.0,
) -> Generator[Services, None, None]:
    """Start ``components``, wait until they are healthy, yield, and always stop them.

    Refuses to start while services recorded for the same AIRFLOW_HOME still run: two
    schedulers on one SQLite database would fight over it.
    """
    s = settings or get_settings()
    ensure_not_running(s)
    env_port = os.environ.get("AIRFLOW__API__PORT")
    port = api_port or (int(env_port) if env_port else _free_port())
    services = Services(settings=s, env=service_env(s, port), api_port=port)
    with _sigterm_as_exit():
        try:
            since = datetime.now(UTC)
            # The API server first, and up before anything else starts: a task the scheduler
            # launches earlier fails on "connection refused" to the Execution API and waits
            # out its retry delay (runs already queued start within seconds).
            first = [n for n in components if n == "api-server"]
            for stage in (first, [n for n in components if n != "api-server"]):
                for name in stage:
                    services.services[name] = start_service(name, services.env, s)
                wait_until_healthy(services, since, startup_timeout_s)
            took = (datetime.now(UTC) - since).total_seconds()
            print(f"airflow {', '.join(components)} healthy after {took:.1f}s", flush=True)
            yield services
        finally:
            with _uninterruptible():
                stop_services(services, grace_s)


@contextlib.contextmanager
def more_services(
    services: Services,
    components: Sequence[str],
    *,
    env_overrides: dict[str, str] | None = None,
    startup_timeout_s: float = 180.0,
    grace_s: float = 20.0,
) -> Generator[Services, None, None]:
    """Start ``components`` next to the running ones, wait until healthy, yield; stop just them.

    ``env_overrides`` configure only these components (e.g. a scheduler that creates no
    scheduled runs).
    """
    env = {**services.env, **(env_overrides or {})}
    added = Services(settings=services.settings, env=env, api_port=services.api_port)
    try:
        since = datetime.now(UTC)
        for name in components:
            service = start_service(name, env, services.settings)
            added.services[name] = services.services[name] = service
        wait_until_healthy(services, since, startup_timeout_s)
        yield services
    finally:
        with _uninterruptible():
            stop_services(added, grace_s)
            for name in added.services:
                services.services.pop(name, None)


# --------------------------------------------------------------------------- UI


def _login_hint(settings: Settings) -> str:
    """The SimpleAuthManager login the API server generated (``admin`` / password)."""
    password_file = settings.airflow_home / PASSWORD_FILE
    try:
        passwords = json.loads(password_file.read_text())
    except (OSError, ValueError):
        return f"login: see {password_file} (not generated: custom auth settings?)"
    return "login: " + ", ".join(f"{user} / {pw}" for user, pw in passwords.items())


def run_ui(settings: Settings | None = None, *, port: int | None = None) -> int:
    """Serve the Airflow UI for the project's DAGs on localhost until Ctrl-C.

    The same components as ``airflow standalone`` (api-server, scheduler, dag-processor,
    triggerer), started through :func:`running_services` so that every process, executor
    workers and running tasks included, is stopped on exit.
    """
    from ml_platform_demo.orchestration import init_airflow_db

    s = settings or get_settings()
    ensure_not_running(s)
    init_airflow_db(s)
    env_port = os.environ.get("AIRFLOW__API__PORT")
    chosen = port or (int(env_port) if env_port else _free_port(PREFERRED_UI_PORT))
    try:
        with running_services(UI_COMPONENTS, s, api_port=chosen) as services:
            print(f"\nAirflow UI: {services.api_url}  ({_login_hint(s)})")
            print("DAGs start paused: unpause them in the UI. Ctrl-C stops everything.\n")
            while True:
                services.check_alive()
                time.sleep(1.0)
    except KeyboardInterrupt:
        return 0


# --------------------------------------------------------------------------- CLI glue


def add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``ui`` command."""
    parser.add_argument("--port", type=int, help="API server/UI port (default 8080, else free)")


def main_ui(args: argparse.Namespace) -> int:
    """``ui`` command."""
    try:
        return run_ui(port=getattr(args, "port", None))
    except (RuntimeError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def main_stop(_args: argparse.Namespace) -> int:
    """``stop`` command: stop services a crashed run left behind (by their PID files), and the
    local Ray head (:mod:`ml_platform_demo.ray_head`)."""
    from ml_platform_demo import ray_head

    stopped = stop_recorded()
    if ray_head.stop_head():
        stopped.append(ray_head.NAME)
    print(f"stopped: {', '.join(stopped)}" if stopped else "no recorded services running")
    return 0


__all__ = [
    "add_ui_arguments",
    "main_stop",
    "main_ui",
    "more_services",
    "run_ui",
    "running_services",
]
