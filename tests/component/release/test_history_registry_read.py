"""``history`` reads the embedded SQLite registry without MLflow: the same registration, aliases
and audit events as MLflow's own client, and the command imports no MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ml_tasks.registry import history
from ml_tasks.registry.aliases import ReleaseContext
from ml_tasks.registry.models import aliases, client
from ml_tasks.release import flip
from ml_tasks.release.cli import sqlite_registry
from tests.release_fixtures import MODEL, reset

PROBE = """
import json, sys
from ml_tasks.cli import main
code = main(["history", "--model", sys.argv[1], "--json"])
print(json.dumps({"code": code, "mlflow": "mlflow" in sys.modules}))
"""


def test_the_direct_read_matches_mlflow_and_skips_its_import(
    release_registry, tmp_path, monkeypatch
):
    reset(release_registry)
    s = release_registry.for_test(tmp_path)
    monkeypatch.setenv("PLATFORM_HOME", str(s.platform_home))
    monkeypatch.setenv("PLATFORM_RELEASE_HISTORY_URI", s.release_history_uri)
    try:
        flip.promote(MODEL, release_registry.good, context=ReleaseContext.cli(), settings=s)
        c = client(s)
        registered, current, tags = sqlite_registry(MODEL)
        assert registered and current == aliases(c, MODEL) and "champion" in current
        assert history.events_from_tags(tags) == history.registry_events(c, MODEL)
        assert history.events_from_tags(tags)  # the promotion was recorded in the tags
        assert sqlite_registry("nope") == (False, {}, {})

        done = subprocess.run(
            [sys.executable, "-c", PROBE, MODEL],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            check=True,
        )
        *printed, probe = done.stdout.strip().splitlines()
        assert json.loads(probe) == {"code": 0, "mlflow": False}
        answer = json.loads("\n".join(printed))
        assert answer["aliases"] == current and answer["problems"] == []
    finally:
        reset(release_registry)
