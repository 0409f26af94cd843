"""Fixtures for the training tests: a small training set and one in-process Ray per session.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``). Starting Ray costs
seconds; training code reuses an initialised Ray and leaves it running, so every test that asks
for ``ray_cluster`` shares this one, which is shut down at the end of the session.
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


@pytest.fixture(scope="module")
def training_set(tmp_path_factory):
    """20k machine-hours with a learnable label, in row groups of 4k rows (5 per file)."""
    from ml_platform_demo.synthetic_training import write_training_set

    path = tmp_path_factory.mktemp("training_set") / "data.parquet"
    return write_training_set(path, 20_000, machines=40, seed=3, row_group_size=4_000)
