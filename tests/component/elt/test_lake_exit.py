"""Reading a Delta table must not abort the process at exit.

Arrow's reader threads calling back into deltalake's Python filesystem died at interpreter
shutdown ("terminate called without an active exception", exit code 134) in a third of short
CLI runs with a threaded scan (``drift --status``) and still in 1-2 % on one thread, after all
output was written: a task process would be reported failed. ``lake.read_table`` reads a local
table through Arrow's native filesystem.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import pyarrow as pa

from ml_tasks.elt import lake

READ = textwrap.dedent(
    """
    import sys
    from datetime import date
    from ml_tasks.elt import lake
    from ml_tasks.settings import get_settings
    rows = lake.read_table(sys.argv[1], get_settings(), filters=[("day", ">=", date(2026, 10, 3))])
    print(rows.num_rows)
    """
)


def test_a_process_that_read_a_delta_table_exits_cleanly(platform_home):
    uri = str(platform_home.platform_home / "lake" / "exit_check")
    for day in range(1, 9):  # several partitions and files, so the scan has work for threads
        data = pa.table(
            {
                "day": pa.array([date(2026, 10, day)] * 500, pa.date32()),
                "value": pa.array(range(500), pa.int64()),
            }
        )
        lake.append(uri, data, platform_home, partition_by=["day"])
    codes = []
    for _ in range(20):
        done = subprocess.run(
            [sys.executable, "-c", READ, uri], capture_output=True, text=True, timeout=120
        )
        assert done.stdout.strip() == "3000", done.stderr[-2000:]
        codes.append(done.returncode)
    assert codes == [0] * len(codes), codes
