"""Fixtures of the monitoring unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def policy():
    from ml_tasks.monitoring.policy import load_policy

    return load_policy()
