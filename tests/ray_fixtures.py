"""Fixtures for tests that train on Ray: one in-process Ray for the whole session.

Import them into a ``conftest.py`` (``from tests.ray_fixtures import ray_cluster``). Starting
Ray costs seconds; training code reuses an initialised Ray and leaves it running, so every
test shares this one, which is shut down at the end of the session.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    from ml_tasks.training.runner import configure_env

    configure_env(local=True)
    # Ray's OOM killer watches the whole machine's memory: on a shared CI or dev machine another
    # process's peak would kill these workers. The kernel still guards the machine.
    os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
    if ray.is_initialized():
        yield
        return
    # Two CPUs whatever the machine: the tests run two workers of one CPU each.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=True)
    yield
    ray.shutdown()
