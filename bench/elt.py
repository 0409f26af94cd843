"""ELT benchmark: curated events per second against a plain read-and-write baseline.

Both run in this process on the same landing files, day by day:
- baseline: ``pyarrow.json.read_json`` of the day's file, ``pyarrow.parquet.write_table``; no
  validation, no dedup, no transaction (it cannot even read a file with a malformed line);
- ELT: :func:`ml_tasks.elt.pipeline.curate_telemetry` (parse, contract checks, quarantine,
  dedup against curated rows, one Delta MERGE commit).

Peak memory is sampled (RSS) per day: bounded means the last days peak like the first ones, i.e.
by one day's data and not by the table's history.

    .venv/bin/python bench/elt.py [--days 30] [--machines 200] [--interval-minutes 1]

The first configuration uses clean files (so the baseline can read them); the second adds 2 %
faults of every kind, which only the ELT can process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from peak_rss import PeakRss


def _baseline(day_files: list[Path], out: Path) -> tuple[int, float]:
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    rows, elapsed = 0, 0.0
    for i, path in enumerate(day_files):
        t0 = time.perf_counter()
        table = pj.read_json(path)
        pq.write_table(table, out / f"day-{i}.parquet")
        elapsed += time.perf_counter() - t0
        rows += table.num_rows
    return rows, elapsed


def _elt(days: list[date], sampler: PeakRss) -> tuple[int, int, float, list[int]]:
    from ml_tasks.elt.pipeline import curate_telemetry, load_machines
    from ml_tasks.settings import get_settings

    settings = get_settings()
    load_machines(days[0], settings=settings)
    curated, read, elapsed, peaks = 0, 0, 0.0, []
    for day in days:
        sampler.reset()
        t0 = time.perf_counter()
        result = curate_telemetry(day, settings=settings)
        elapsed += time.perf_counter() - t0
        peaks.append(sampler.peak)
        curated += result.rows_curated
        read += result.rows_read
    return read, curated, elapsed, peaks


def run(days: int, machines: int, interval: int, bad_rate: float, work: Path) -> dict:
    from ml_platform_demo.generate import generate

    home = work / f"home-{bad_rate}"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["PLATFORM_HOME"] = str(home)
    os.environ.setdefault("PLATFORM_PSEUDONYM_KEY", "bench")
    start = date(2026, 10, 1)
    t0 = time.perf_counter()
    generate(
        start,
        days,
        machines,
        seed=1,
        bad_rate=bad_rate,
        interval_minutes=interval,
        landing_dir=home / "landing",
    )
    gen_s = time.perf_counter() - t0
    day_list = [start + timedelta(days=i) for i in range(days)]
    files = [home / "landing" / "telemetry" / f"date={d}" / "events.jsonl" for d in day_list]

    sampler = PeakRss()
    result = {"bad_rate": bad_rate, "generate_s": gen_s}
    if bad_rate == 0:
        out = work / "baseline"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        rows, secs = _baseline(files, out)
        result |= {"baseline_rows": rows, "baseline_s": secs, "baseline_eps": rows / secs}
    read, curated, secs, peaks = _elt(day_list, sampler)
    sampler.stop()
    result |= {
        "read": read,
        "curated": curated,
        "elt_s": secs,
        "elt_eps": curated / secs,
        "peak_rss_first5_mb": max(peaks[:5]) / 2**20,
        "peak_rss_last5_mb": max(peaks[-5:]) / 2**20,
        "day_file_mb": sum(f.stat().st_size for f in files) / len(files) / 2**20,
    }
    shutil.rmtree(home, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--interval-minutes", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-elt-"))
    work.mkdir(parents=True, exist_ok=True)

    clean = run(args.days, args.machines, args.interval_minutes, 0.0, work)
    faulty = run(args.days, args.machines, args.interval_minutes, 0.02, work)
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"ELT benchmark: {args.days} days x {args.machines} machines, "
        f"1 reading / {args.interval_minutes} min, {clean['day_file_mb']:.0f} MB JSON per day"
    )
    print(
        f"  baseline (pyarrow read_json + write parquet): {clean['baseline_rows']:,} rows "
        f"in {clean['baseline_s']:.1f} s = {clean['baseline_eps']:,.0f} rows/s"
    )
    for r in (clean, faulty):
        label = "clean files" if r["bad_rate"] == 0 else f"{r['bad_rate']:.0%} faulty"
        print(
            f"  ELT, {label:<12}: {r['read']:,} read, {r['curated']:,} curated in "
            f"{r['elt_s']:.1f} s = {r['elt_eps']:,.0f} curated events/s, "
            f"ratio to baseline {r['elt_eps'] / clean['baseline_eps']:.2f} (goal >= 0.5)"
        )
        print(
            f"      peak RSS per day: first 5 days {r['peak_rss_first5_mb']:.0f} MB, "
            f"last 5 days {r['peak_rss_last5_mb']:.0f} MB (bounded by a day, not history)"
        )


if __name__ == "__main__":
    main()
