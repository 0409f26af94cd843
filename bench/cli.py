"""CLI latency: ``python -m ml_tasks`` commands against their floor, side by side.

Each command runs as a person types it: a fresh process, wall time from start to exit, median of
``--repeats`` runs, interleaved with the floor so load on a shared machine hits both alike. The
floor is ``python -c pass`` plus the store read itself: a stdlib-only process that opens the
online store (SQLite) and reads one machine's rows. ``python -X importtime`` of each command says
where the rest goes (self time summed per top-level package). Goal: ``features get``,
``status`` and ``history`` under 1.5 s wall.

The home is built first in a temporary folder: 2 days x 5 machines through the ELT, features
computed and materialized into the SQLite online store, a registered model with a champion.

    .venv/bin/python bench/cli.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

START = date(2026, 10, 1)
COMMANDS = {
    "features get": ["features", "get", "--machine-id", "M-0001"],
    "status": ["status"],
    "history": ["history", "--model", "failure_model"],
}
GOAL_S = 1.5

# The floor: the interpreter plus the read, with nothing but the standard library.
FLOOR = """
import sqlite3, struct, sys
key = struct.pack("<III", 1, 2, 10) + b"machine_id" + struct.pack("<II", 2, 6) + b"M-0001"
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = con.execute(
    'SELECT feature_name, value FROM "predictive_maintenance_telemetry_stats"'
    " WHERE entity_key = ?", (key,)
).fetchall()
assert rows, "M-0001 not in the online store"
"""


def build_home(home: Path) -> None:
    """A small platform home: curated days, online features, a registered champion."""
    os.environ["PLATFORM_HOME"] = str(home)
    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.features.pipeline import refresh
    from ml_tasks.registry.models import client
    from ml_tasks.settings import get_settings

    s = get_settings()
    generate(START, 2, 5, seed=3, bad_rate=0.0, interval_minutes=30, landing_dir=s.landing_dir)
    for i in range(2):
        run_elt(START + timedelta(days=i), settings=s, run_id="bench")
    refresh(START + timedelta(days=1), START + timedelta(days=1), run_id="bench")
    mlflow = client(s)
    mlflow.create_registered_model("failure_model")
    version = mlflow.create_model_version("failure_model", source=str(home / "model"))
    mlflow.set_registered_model_alias("failure_model", "champion", version.version)


def wall(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return took


def import_profile(argv: list[str], env: dict[str, str], top: int = 6) -> str:
    """Import self time per top-level package of one run, the largest first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    per_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|", 2)
        per_package[name.strip().split(".")[0]] += int(self_us)
    total = sum(per_package.values()) / 1e6
    parts = ", ".join(f"{name} {us / 1e6:.2f}" for name, us in per_package.most_common(top))
    return f"imports {total:.2f} s: {parts}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="bench-cli-")) / "platform"
    try:
        t0 = time.perf_counter()
        build_home(home)
        print(f"home built in {time.perf_counter() - t0:.1f} s: {home}")
        env = {**os.environ, "PLATFORM_HOME": str(home)}
        store = home / "feature_repo" / "online_store.db"
        load = os.getloadavg()
        print(
            f"CLI wall time, median of {args.repeats} fresh processes"
            f" (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
        )
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "floor: python + store read": [sys.executable, "-c", FLOOR, str(store)],
        }
        runs |= {name: [sys.executable, "-m", "ml_tasks", *cmd] for name, cmd in COMMANDS.items()}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, command in runs.items():
                times[name].append(wall(command, env))
        floor = statistics.median(times["floor: python + store read"])
        for name, values in times.items():
            median = statistics.median(values)
            line = f"  {name:<28} {median:6.2f} s  (runs {', '.join(f'{v:.2f}' for v in values)})"
            if name in COMMANDS:
                verdict = "met" if median < GOAL_S else "NOT met"
                line += f"  {median / floor:4.1f}x the floor; goal < {GOAL_S} s {verdict}"
            print(line)
        print("Where the time goes (python -X importtime, one run each):")
        for name in COMMANDS:
            print(f"  {name:<28} {import_profile(runs[name], env)}")
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
