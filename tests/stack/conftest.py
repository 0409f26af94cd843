"""The production stack on loopback: real servers started once for the stack tests.

PostgreSQL (Airflow's metadata and MLflow's backend store, two databases), SeaweedFS (S3: the
lake, MLflow's artifacts, Ray's checkpoints, the search index), Redis (Feast's online store), an
MLflow tracking server, a Ray head, and Airflow's api-server, scheduler, dag-processor and
triggerer on Postgres with the LocalExecutor. The platform is pointed at them through the
settings' environment variables only, the same names docker-compose sets. Every server is stopped
by its PID when the session ends, pass or fail.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import servers
from tests.stack.servers import Stack

BUCKETS = ("lake", "mlflow", "ray", "search")


def stack_env(root: Path, started: dict[str, servers.Server]) -> dict[str, str]:
    """Every setting the production stack switches, by its environment variable."""
    s3 = started["seaweedfs"].url
    return {
        **servers.s3_env(s3),
        "PLATFORM_HOME": str(root / "platform"),
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": servers.postgres_uri(started["postgres"], "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "PLATFORM_LAKE_URI": "s3://lake/curated",
        "PLATFORM_OFFLINE_STORE_URI": "s3://lake/offline",
        "PLATFORM_TRAINING_SETS_URI": "s3://lake/training_sets",
        "PLATFORM_REDIS_URL": started["redis"].url,
        "MLFLOW_TRACKING_URI": started["mlflow"].url,
        "PLATFORM_RAY_STORAGE_PATH": "s3://ray/checkpoints",
        "PLATFORM_SEARCH_INDEX_URI": "s3://search/index",
    }


def _stop_all(stack: Stack) -> None:
    for server in reversed(list(stack.servers.values())):
        server.stop()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Start the servers (about a minute here), point the environment at them, stop them all."""
    root = Path(tempfile.mkdtemp(prefix="mlp-stack-", dir="/tmp"))
    root.chmod(0o755)  # Postgres runs as its own user and must reach its folder below
    stack = Stack(root=root, env={})
    saved = dict(os.environ)
    t0 = time.monotonic()
    try:
        stack.servers["postgres"] = servers.start_postgres(root / "pg", ["airflow", "mlflow"])
        stack.servers["seaweedfs"] = servers.start_seaweedfs(root / "s3", BUCKETS)
        stack.servers["redis"] = servers.start_redis(root / "redis")
        s3 = servers.s3_env(stack.servers["seaweedfs"].url)
        stack.servers["mlflow"] = servers.start_mlflow(
            root / "mlflow",
            servers.postgres_uri(stack.servers["postgres"], "mlflow"),
            "s3://mlflow/artifacts",
            s3,
        )
        stack.env = stack_env(root, stack.servers)
        os.environ.update(stack.env)
        stack.versions = {name: srv.version for name, srv in stack.servers.items()}
        print(f"stack servers up in {time.monotonic() - t0:.1f}s: {stack.versions}", flush=True)
        yield stack
    finally:
        _stop_all(stack)
        os.environ.clear()
        os.environ.update(saved)
