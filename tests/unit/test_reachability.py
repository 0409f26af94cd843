"""A service not reachable at start: one clear error naming the service, its URL and variable.

Each platform entry point that connects first (the lake on S3, the MLflow tracking server, the
Ray head, Redis for materialization) is checked against a closed loopback port: it must fail at
once with :class:`ServiceUnreachableError`, not after a library's retries with its stack trace.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date

import pytest

from ml_tasks.reachability import (
    ServiceUnreachableError,
    endpoint,
    redact,
    require_reachable,
)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://mlflow:5000", ("mlflow", 5000)),
        ("https://mlflow.example.com", ("mlflow.example.com", 443)),
        ("redis://redis:6380/0", ("redis", 6380)),
        ("redis://:secret@redis/0", ("redis", 6379)),
        ("postgresql+psycopg2://u:p@db:5433/airflow", ("db", 5433)),
        ("127.0.0.1:6380", ("127.0.0.1", 6380)),
        ("ray://head:10001", ("head", 10001)),
        ("sqlite:////tmp/mlflow.db", None),
        ("/tmp/lake", None),
        ("file:///tmp/lake", None),
        ("local", None),
        ("", None),
    ],
)
def test_endpoint_of_each_setting_form(url: str, expected: tuple[str, int] | None) -> None:
    assert endpoint(url) == expected


def test_redact_hides_the_password_only() -> None:
    assert redact("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redact("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"
    assert redact("http://mlflow:5000") == "http://mlflow:5000"


def test_unreachable_names_service_url_and_variable(closed_port: int) -> None:
    url = f"redis://:hunter2@127.0.0.1:{closed_port}/0"
    with pytest.raises(ServiceUnreachableError) as err:
        require_reachable("Redis online store", url, "PLATFORM_REDIS_URL")
    message = str(err.value)
    assert message.startswith(f"Redis online store at redis://:***@127.0.0.1:{closed_port}/0 ")
    assert "connection refused" in message
    assert "PLATFORM_REDIS_URL" in message
    assert "hunter2" not in message


def test_reachable_and_local_pass(open_port: int) -> None:
    require_reachable("MLflow tracking server", f"http://127.0.0.1:{open_port}", "X")
    require_reachable("MLflow tracking server", "sqlite:////nowhere/mlflow.db", "X")


def test_mlflow_client_fails_at_once_on_a_dead_server(
    platform_home, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_tasks.registry import models
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port}")
    started = time.monotonic()
    with pytest.raises(ServiceUnreachableError, match="MLflow tracking server at http://"):
        models.client(get_settings())
    assert time.monotonic() - started < 5


def test_ray_session_fails_at_once_on_a_dead_head(
    platform_home, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_tasks.settings import get_settings
    from ml_tasks.training.runner import ray_session

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{closed_port}")
    with (
        pytest.raises(
            ServiceUnreachableError, match=f"Ray head at 127.0.0.1:{closed_port} .*RAY_ADDRESS"
        ),
        ray_session(get_settings()),
    ):
        pass


def test_lake_on_a_dead_s3_endpoint_fails_at_once(
    platform_home, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_tasks.elt.lake import open_table
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("PLATFORM_LAKE_URI", "s3://lake/curated")
    settings = get_settings()
    started = time.monotonic()
    with pytest.raises(ServiceUnreachableError, match=r"S3 object store at .*AWS_ENDPOINT_URL"):
        open_table(settings.table_uri("telemetry"), settings)
    assert time.monotonic() - started < 5


def test_materialize_to_a_dead_redis_fails_at_once(
    platform_home, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_tasks.features import store
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("PLATFORM_REDIS_URL", f"redis://127.0.0.1:{closed_port}/0")
    monkeypatch.setattr(store, "missing_partitions", lambda *_args: [])
    with pytest.raises(ServiceUnreachableError, match=r"Redis online store .*PLATFORM_REDIS_URL"):
        store.materialize(date(2026, 10, 1), settings=get_settings())
