"""Fixtures for the monitoring tests (unit and component): the drift policy as shipped.

Registered for every test in ``tests/conftest.py`` (``pytest_plugins``); a test module that
means another policy (evaluation, release, search) defines its own ``policy`` fixture.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def policy():
    """The monitoring policy from ``include/policies`` (a fresh load per test)."""
    from ml_tasks.monitoring.policy import load_policy

    return load_policy()
