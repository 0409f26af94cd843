"""Which Ray addresses name a head on this machine (treated like an in-process Ray)."""

from __future__ import annotations

import pytest

from ml_tasks.training.runner import is_loopback


@pytest.mark.parametrize(
    ("address", "local"),
    [("127.0.0.1:6380", True), ("localhost:1", True), ("ray://head:10001", False), (None, False)],
)
def test_loopback_addresses_count_as_local(address, local):
    assert is_loopback(address) is local
