"""Training on the embedded default's local Ray head: started once, connected to through
``RAY_ADDRESS``, stopped with its whole process tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

# Runs in a fresh process: the test session may already hold an in-process Ray, which training
# would reuse instead of connecting.
TRAIN = """
import json, sys
import ray
from ml_tasks.training import pipeline, runner
from ml_tasks.training.spec import TrainingSetRef

ref = TrainingSetRef.from_dict(json.loads(sys.argv[1]))
plan = pipeline.plan_training(ref, run_id="head", storage_path=sys.argv[2], rounds=3,
                              workers=1, cpus_per_worker=1, early_stopping_rounds=0)
with runner.ray_session() as started_here:
    gcs = ray.get_runtime_context().gcs_address
    result = runner.fit(plan)
print(json.dumps({"gcs": gcs, "started_here": started_here, "rounds": result.rounds_trained}))
"""


def test_training_connects_to_a_running_head(training_set, tmp_path: Path, monkeypatch):
    from ml_platform_demo import ray_head

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    from ml_tasks.settings import get_settings

    s = get_settings()
    head = ray_head.start_head(s, num_cpus=2)
    try:
        assert ray_head.running_head(s) == head
        assert ray_head.start_head(s) == head  # started once: a second call reuses it
        port = int(head.address.rsplit(":", 1)[1])
        assert port != ray_head.REDIS_PORT
        tree = [psutil.Process(head.pid), *psutil.Process(head.pid).children(recursive=True)]
        env = {**os.environ, "RAY_ADDRESS": head.address, "RAY_memory_monitor_refresh_ms": "0"}
        done = subprocess.run(
            [sys.executable, "-c", TRAIN, json.dumps(training_set.to_dict()), str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        # Connected (not started in-process) to this head, and trained on it.
        assert out["started_here"] is True and out["rounds"] == 3
        assert out["gcs"].rsplit(":", 1)[1] == str(port)
    finally:
        assert ray_head.stop_head(s)
    assert ray_head.running_head(s) is None
    assert not ray_head.record_path(s).exists()
    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert not Path(head.temp_dir).exists()


def test_the_demo_lease_sets_and_clears_ray_address(tmp_path: Path, monkeypatch):
    from ml_platform_demo import ray_head

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with ray_head.ray_head(wait=False) as lease:
        assert "RAY_ADDRESS" not in os.environ  # not before the head is up
        address = lease.ready()
        assert os.environ["RAY_ADDRESS"] == address
    assert "RAY_ADDRESS" not in os.environ
    assert ray_head.running_head() is None


def test_an_address_already_set_starts_no_head(tmp_path: Path, monkeypatch):
    from ml_platform_demo import ray_head

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "platform"))
    monkeypatch.setenv("RAY_ADDRESS", "ray://cluster:10001")
    with ray_head.ray_head() as lease:
        assert lease.ready() == "ray://cluster:10001"
        assert ray_head.running_head() is None
