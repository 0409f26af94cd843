"""Training test fixtures: a small synthetic training set and the shared Ray session."""

from __future__ import annotations

import pytest

from tests.ray_fixtures import ray_cluster  # ruff: ignore[unused-import]  (fixture)


@pytest.fixture(scope="module")
def training_set(tmp_path_factory):
    """20k machine-hours with a learnable label, in row groups of 4k rows (5 per file)."""
    from ml_platform_demo.synthetic_training import write_training_set

    path = tmp_path_factory.mktemp("training_set") / "data.parquet"
    return write_training_set(path, 20_000, machines=40, seed=3, row_group_size=4_000)
