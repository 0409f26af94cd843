"""The feature-store step of the demo (`make run`), after the ELT has curated the demo range.

One manual run of the real ``features_materialize`` DAG (``dag.test``) with the whole range as
its Params, then the online features of a few machines, read the way serving reads them.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from ml_tasks.settings import Settings

SHOWN = (
    ("plant_id", "plant", "{}"),
    ("machine_model", "model", "{}"),
    ("temperature_c_mean_24h", "temp 24h", "{:.1f}"),
    ("vibration_mm_s_mean_1h", "vib 1h", "{:.2f}"),
    ("vibration_mm_s_max_24h", "vib max 24h", "{:.2f}"),
    ("failures_30d", "fail 30d", "{}"),
    ("hours_since_last_maintenance", "h since maint", "{:.1f}"),
    ("open_work_orders", "open WOs", "{}"),
)


def format_online(features: dict[str, dict[str, Any] | None]) -> str:
    """A small table of a few features per machine (``not found`` rows included)."""
    header = f"{'machine':<10}" + "".join(f"{label:>15}" for _, label, _ in SHOWN)
    lines = [header, "-" * len(header)]
    for machine, values in features.items():
        if values is None:
            lines.append(f"{machine:<10}  not found in the online store")
            continue
        cells = []
        for name, _, fmt in SHOWN:
            value = values.get(name)
            cells.append(f"{'-' if value is None else fmt.format(value):>15}")
        lines.append(f"{machine:<10}" + "".join(cells))
    return "\n".join(lines)


def run_features_demo(start: date, end: date, settings: Settings, machines: int = 5) -> int:
    """Materialize ``[start, end]`` through the DAG and print a few machines' online features."""
    from ml_platform_demo.orchestration import as_of_run_time, load_dag, run_dag_test

    dag = load_dag("features_materialize", settings)
    t0 = time.perf_counter()
    run = run_dag_test(
        dag,
        as_of_run_time(end),
        run_conf={"start": start.isoformat(), "end": end.isoformat()},
    )
    state = str(run.state)
    print(
        f"      {start}..{end}  features_materialize  {state:<8} {time.perf_counter() - t0:5.1f} s"
    )
    if state != "success":
        return 1

    from ml_tasks.features.online import OnlineFeatureReader

    reader = OnlineFeatureReader.from_settings(settings)
    ids = [f"M-{i:04d}" for i in range(1, machines + 1)] + ["M-9999"]
    t0 = time.perf_counter()
    features = reader.get(ids)
    took = (time.perf_counter() - t0) * 1000
    as_of = end + timedelta(days=1)
    print()
    print(
        f"Online features (failure_model_v1, latest as of {as_of} 00:00 UTC; read in {took:.2f} ms)"
    )
    print(format_online(features))
    print("      all features: python -m ml_tasks features get --machine-id M-0001")
    return 0
