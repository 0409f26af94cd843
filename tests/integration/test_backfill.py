"""End to end: ``python -m ml_platform_demo backfill`` through a real scheduler and API server.

Everything runs in subprocesses with a fresh PLATFORM_HOME: Airflow reads its configuration
once, at first import, so a pytest process that already imported it (another test) could not
be repointed at the temporary metadata DB.
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest

from tests.helpers import clean_env, run_python

pytestmark = pytest.mark.integration

DAYS = ("2026-10-01", "2026-10-02")


def _processes_using(airflow_home: Path) -> list[str]:
    """Live processes whose environment points at ``airflow_home`` (children included)."""
    marker = f"AIRFLOW_HOME={airflow_home}".encode()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if marker in environ.split(b"\0") and proc.status() != psutil.STATUS_ZOMBIE:
            found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])}")
    return found


def _is_live_airflow(pid: int) -> bool:
    """True while ``pid`` is a running Airflow process (a reused PID of another program is not)."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and "airflow" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


@pytest.fixture
def platform_home(tmp_path: Path) -> Path:
    """A fresh PLATFORM_HOME with 2 days x 5 machines of hourly landing data."""
    home = tmp_path / "platform"
    code = (
        "import datetime as d; from ml_platform_demo.generate import generate; "
        "generate(d.date(2026, 10, 1), 2, 5, interval_minutes=60)"
    )
    result = run_python(["-c", code], clean_env(home), timeout=120)
    assert result.returncode == 0, result.stderr
    return home


def _telemetry_state(home: Path) -> tuple[dict[str, int], int, int]:
    """Manifest writes of the telemetry table per landing day, its rows and distinct events."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from ml_tasks.elt import manifest

    writes: dict[str, int] = {}
    for entry in manifest.history(home / "manifest.sqlite", "telemetry"):
        writes[entry.interval_start[:10]] = writes.get(entry.interval_start[:10], 0) + 1
    table = DeltaTable(str(home / "lake" / "telemetry")).to_pyarrow_table()
    return writes, table.num_rows, pc.count_distinct(table["event_id"]).as_py()


def test_backfill_after_make_run_reprocesses_exactly_its_days(tmp_path: Path) -> None:
    """``make run``'s runs and a later backfill agree on which run is which landing day.

    ``make run`` creates one run per landing day with ``dag.test()`` (orchestration helper);
    a backfill over two of those days must re-run exactly those two landing days, once each.
    It used to re-run the day before the first one and skip the last (the runs of ``make run``
    had logical date D+1 for day D, the backfill's logical date D).
    """
    home = tmp_path / "platform"
    env = clean_env(home)
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    make_run = (
        "import datetime as d\n"
        "from ml_platform_demo.generate import generate\n"
        "from ml_platform_demo.orchestration import init_airflow_db, test_dag_for_days\n"
        "days = [d.date(2026, 10, 1) + d.timedelta(days=i) for i in range(3)]\n"
        "generate(days[0], 3, 10, interval_minutes=60)\n"
        "init_airflow_db()\n"
        "for day, state in test_dag_for_days('elt_telemetry', days):\n"
        "    print('RAN', day, state)\n"
    )
    result = run_python(["-c", make_run], env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count(" success") == 3, result.stdout[-3000:]
    before, rows_before, distinct_before = _telemetry_state(home)
    assert before == {"2026-10-01": 1, "2026-10-02": 1, "2026-10-03": 1}

    args = ["-m", "ml_platform_demo", "backfill", "--from", "2026-10-02", "--to", "2026-10-03"]
    result = run_python([*args, "--timeout", "600"], env, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for day in ("2026-10-02", "2026-10-03"):
        pattern = rf"{day}T00:00:00\+00:00\s+\[{day}T00:00, \S+\)\s+success"
        assert re.search(pattern, output), output

    after, rows_after, distinct_after = _telemetry_state(home)
    # Each backfilled landing day processed once more, the other day untouched, none skipped.
    assert after == {"2026-10-01": 1, "2026-10-02": 2, "2026-10-03": 2}
    # The days' partitions were replaced, not appended to.
    assert (rows_after, distinct_after) == (rows_before, distinct_before)
    assert rows_after == distinct_after


def test_backfill_runs_both_days_and_leaves_nothing_running(platform_home: Path) -> None:
    airflow_home = platform_home / "airflow"
    args = ["-m", "ml_platform_demo", "backfill", "--from", DAYS[0], "--to", DAYS[-1]]
    result = run_python([*args, "--timeout", "300"], clean_env(platform_home), timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    # One successful run per landing day, each covering exactly that day.
    for day in DAYS:
        pattern = rf"{day}T00:00:00\+00:00\s+\[{day}T00:00, \S+\)\s+success"
        assert re.search(pattern, output), output

    import pyarrow.compute as pc
    from deltalake import DeltaTable

    telemetry = DeltaTable(str(platform_home / "lake" / "telemetry")).to_pyarrow_table()
    event_dates = {d.isoformat() for d in pc.unique(telemetry["event_date"]).to_pylist()}
    assert set(DAYS) <= event_dates
    assert pc.count_distinct(telemetry["event_id"]).as_py() == telemetry.num_rows

    # Every service it started is gone: the recorded PIDs, and anything else on this home.
    pids = [int(p) for p in re.findall(r"started airflow \S+ pid=(\d+)", output)]
    assert len(pids) >= 2, output
    assert [pid for pid in pids if _is_live_airflow(pid)] == []
    assert not list((airflow_home / "pids").glob("*.pid"))
    assert _processes_using(airflow_home) == []
