"""The platform CLI answers at once: building its parser imports no heavy library (each command
imports what it needs when it runs)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "feast", "ray", "mlflow", "evidently", "pandas")

PROBE = """
import json, sys
from ml_tasks.cli import build_parser
build_parser().parse_args(["features", "get", "--machine-id", "M-0001"])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])))
"""


def test_importing_the_cli_and_building_the_parser_loads_no_heavy_library():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
