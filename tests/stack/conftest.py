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
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        # Feast's DuckDB offline store reads s3:// through DuckDB's httpfs extension, which DuckDB
        # downloads on first use: this machine has no network, so the offline features stay in
        # the local PLATFORM_HOME here (an image installs httpfs at build time).
        "PLATFORM_TRAINING_SETS_URI": "s3://lake/training_sets",
        "PLATFORM_REDIS_URL": started["redis"].url,
        "MLFLOW_TRACKING_URI": started["mlflow"].url,
        # Experiments created by the platform put their artifacts behind the server's proxy
        # (--serve-artifacts), which stores them under s3://mlflow/artifacts.
        "PLATFORM_MLFLOW_ARTIFACT_ROOT": "mlflow-artifacts:/",
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
        # Failures already carry the servers' and tasks' log tails.
        shutil.rmtree(root, ignore_errors=True)


# The components docker-compose runs, as separate processes (not `airflow standalone`).
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@pytest.fixture(scope="session")
def airflow(stack: Stack) -> Iterator[Any]:
    """A Ray head and Airflow's four components on the stack's Postgres, LocalExecutor.

    Yields an authenticated REST client (``AirflowApi``). The scheduler creates no scheduled
    runs (``use_job_schedule = False``): the test triggers each run through the REST API, so a
    paused-then-unpaused daily DAG does not also start "yesterday" of the real calendar.
    """
    from ml_platform_airflow.api_client import login_from_password_file
    from ml_platform_demo import ray_head
    from ml_platform_demo.airflow_api import AirflowApi
    from ml_platform_demo.backfill import airflow_cli
    from ml_platform_demo.orchestration import init_airflow_db
    from ml_platform_demo.services import running_services
    from ml_tasks.settings import airflow_env, get_settings

    os.environ["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    os.environ["PLATFORM_LANDING_WAIT_SECONDS"] = "120"
    settings = get_settings()
    t0 = time.monotonic()
    head = ray_head.start_head(settings, num_cpus=2)
    try:
        os.environ["RAY_ADDRESS"] = head.address
        settings = get_settings()
        init_airflow_db(settings)
        # Serialized now, so every DAG is known before the first trigger (the dag-processor
        # parses the folder again in the background, as in production).
        airflow_cli(["dags", "reserialize"], {**os.environ, **airflow_env(settings)})
        with running_services(AIRFLOW_COMPONENTS, settings) as services:
            stack.versions["ray"] = f"Ray {_version('ray')} (head {head.address})"
            stack.versions["airflow"] = f"Apache Airflow {_version('apache-airflow')}"
            print(f"ray head and airflow up in {time.monotonic() - t0:.1f}s", flush=True)
            api = AirflowApi.login(
                services.api_url, *login_from_password_file(settings.airflow_home)
            )
            api.services = services  # type: ignore[attr-defined]
            yield api
    finally:
        ray_head.stop_head(settings)


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)
