"""The local Ray head's lease when the head cannot start: training falls back to in-process Ray."""

from __future__ import annotations

import os
from pathlib import Path


def test_a_head_that_fails_to_start_leaves_training_in_process(tmp_path: Path, monkeypatch):
    from ml_platform_demo import ray_head

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray_head, "_ray_command", lambda: ["false"])  # exits at once
    with ray_head.ray_head(wait=False) as lease:
        assert lease.head is not None
        temp_dir = Path(lease.head.temp_dir)
        assert lease.ready() is None
        assert "RAY_ADDRESS" not in os.environ
    assert ray_head.running_head() is None
    assert not ray_head.record_path(ray_head.get_settings()).exists()
    assert not temp_dir.exists()
