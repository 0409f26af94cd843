"""Embedding-refresh benchmark: pipeline throughput, incremental refresh, search latency.

Generates a manual library of several hundred documents (``--extra-models`` synthetic machine
models on top of the four of the demo fleet), loads all-MiniLM-L6-v2 once (its load time is
reported, not counted), then in this process:

1. **Throughput**: the build stages of the refresh (chunk -> embed every chunk -> write the
   LanceDB version) against raw ``model.encode`` of the very same chunk texts with the same batch
   size, alternating (raw, ours, raw, ours, ...) and comparing medians. Ratio = our chunks/s over
   raw chunks/s (goal >= 0.9).
2. **Incremental**: the next night's export with ``--changed`` of the documents edited (one
   section each). The incremental build (reuses every stored vector) against a full rebuild of
   the same export (``full_rebuild``: re-embeds everything), both up to a registered green
   version. Goal: the incremental build >= 20x faster. The gate (golden set + drift) runs after
   either and costs the same; it is timed separately and reported.
3. **Search**: p50/p99 latency of the live version over the golden queries (repeated), for the
   index scan alone (pre-computed query vector) and end to end (encode the query + scan).

    .venv/bin/python bench/embeddings.py [--extra-models 40] [--changed 0.01] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from peak_rss import PeakRss  # bench/ is the script directory

DAY0 = date(2026, 10, 1)
DAY1 = DAY0 + timedelta(days=1)


def _edit(folder: Path, share: float, seed: int = 1) -> list[str]:
    """Append a sentence to one section of ``share`` of the documents; returns their ids."""
    import numpy as np

    docs = sorted(folder.glob("*.md"))
    n = max(1, round(share * len(docs)))
    picked = [docs[i] for i in np.random.default_rng(seed).choice(len(docs), n, replace=False)]
    for path in picked:
        text = path.read_text(encoding="utf-8")
        head, sep, rest = text.partition("\n## ")
        name, nl, body = rest.partition("\n")
        path.write_text(
            f"{head}{sep}{name}{nl}Revised: check the torque again after the first shift.\n{body}",
            encoding="utf-8",
        )
    return [p.stem for p in picked]


def _build(day: date, settings, *, full: bool) -> tuple[dict, float]:
    from ml_tasks.search.pipeline import build_green, chunk_manuals, embed_changes

    t0 = time.perf_counter()
    chunked = chunk_manuals(day, settings=settings)
    embedded = embed_changes(chunked, settings=settings, full_rebuild=full)
    built = build_green(
        embedded, run_id=f"bench_{day}_{'full' if full else 'inc'}", settings=settings
    )
    return {"chunked": chunked, "embedded": embedded, "built": built}, time.perf_counter() - t0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    import numpy as np

    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-models", type=int, default=40)
    parser.add_argument("--changed", type=float, default=0.01, help="share of documents edited")
    parser.add_argument("--repeats", type=int, default=3, help="alternating throughput rounds")
    parser.add_argument("--search-rounds", type=int, default=10, help="passes over the queries")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench-embeddings-"))
    os.environ["PLATFORM_HOME"] = str(work / "platform")
    from ml_platform_demo.manuals import write_manuals
    from ml_tasks.search import embedder
    from ml_tasks.search.pipeline import gate_green, swap_live
    from ml_tasks.search.retrieval import Searcher, load_golden, search_table
    from ml_tasks.settings import get_settings

    s = get_settings()
    sampler = PeakRss()
    write_manuals(s.landing_dir, start=DAY0, days=1, seed=7, extra_models=args.extra_models)
    day0 = s.landing_dir / "manuals" / f"date={DAY0}"
    docs = len(list(day0.glob("*.md")))

    t0 = time.perf_counter()
    model = embedder.load_model()
    load_s = time.perf_counter() - t0
    import torch

    print(
        f"library: {docs} documents; model load {load_s:.1f} s; torch threads "
        f"{torch.get_num_threads()}; batch {s.embedding_batch_size}"
    )

    # --- 1. throughput ---------------------------------------------------------------------
    import pyarrow.parquet as pq

    from ml_tasks.search.pipeline import chunk_manuals

    # the same texts the pipeline embeds (chunked once, outside the raw timing)
    table = pq.read_table(chunk_manuals(DAY0, settings=s)["chunks_path"])
    columns = (table.column(c).to_pylist() for c in ("title", "section", "text"))
    texts = [f"{t}\n{sec}\n{body}" for t, sec, body in zip(*columns, strict=True)]
    chunks = len(texts)
    ours, raw = [], []
    for r in range(args.repeats):
        shutil.rmtree(s.platform_home / "search", ignore_errors=True)
        t0 = time.perf_counter()
        model.encode(
            texts,
            batch_size=s.embedding_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        raw.append(time.perf_counter() - t0)
        _, elapsed = _build(DAY0, s, full=True)
        ours.append(elapsed)
        print(f"  round {r + 1}: raw encode {raw[-1]:.2f} s, pipeline {ours[-1]:.2f} s")
    raw_s, ours_s = statistics.median(raw), statistics.median(ours)
    print(
        f"throughput: {chunks} chunks; raw model.encode {chunks / raw_s:.1f} chunks/s, pipeline "
        f"{chunks / ours_s:.1f} chunks/s -> ratio {raw_s / ours_s:.3f} (goal >= 0.9)"
    )

    # --- 2. incremental vs full ---------------------------------------------------------------
    shutil.rmtree(s.platform_home / "search", ignore_errors=True)
    first, _ = _build(DAY0, s, full=True)
    t0 = time.perf_counter()
    decision = gate_green(first["built"], settings=s)
    gate_first = time.perf_counter() - t0
    swap_live(decision, settings=s)
    shutil.copytree(day0, s.landing_dir / "manuals" / f"date={DAY1}")
    edited = _edit(s.landing_dir / "manuals" / f"date={DAY1}", args.changed)
    inc, inc_s = _build(DAY1, s, full=False)
    t0 = time.perf_counter()
    decision = gate_green(inc["built"], settings=s)
    gate_inc = time.perf_counter() - t0
    # the full rebuild of the same export, to a registered version as well: into a database of
    # its own, else it would find the incremental build's identical version and reuse it
    _, full_s = _build(DAY1, replace(s, search_index_uri=str(work / "full_index")), full=True)
    e = inc["embedded"]
    print(
        f"incremental: {len(edited)} of {docs} documents edited; embedded {e['embedded']} of "
        f"{e['chunks']} chunks, reused {e['reused']}"
    )
    print(
        f"  build to a green version: incremental {inc_s:.2f} s, full rebuild {full_s:.2f} s -> "
        f"{full_s / inc_s:.1f}x faster (goal >= 20x)"
    )
    print(
        f"  gate (golden set + drift), the same for both: {gate_inc:.2f} s "
        f"(first build's gate {gate_first:.2f} s); whole night incremental "
        f"{inc_s + gate_inc:.2f} s vs full {full_s + gate_inc:.2f} s -> "
        f"{(full_s + gate_inc) / (inc_s + gate_inc):.1f}x; gate passed: {decision['passed']}"
    )
    swap_live(decision, settings=s)

    # --- 3. search latency ------------------------------------------------------------------
    searcher = Searcher(s)
    queries = [q.query for q in load_golden(s.golden_queries_path)]
    vectors = embedder.encode(queries)
    for v in vectors[:5]:  # warm-up
        search_table(searcher.table, v, 5)
    scan, end_to_end = [], []
    for _ in range(args.search_rounds):
        for q, v in zip(queries, vectors, strict=True):
            t0 = time.perf_counter()
            search_table(searcher.table, v, 5)
            scan.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            searcher.search(q, 5)
            end_to_end.append(time.perf_counter() - t0)
    p50, p99 = _percentiles(scan)
    e50, e99 = _percentiles(end_to_end)
    print(
        f"search over live v{searcher.version} ({searcher.table.count_rows()} chunks), "
        f"{len(scan)} queries: index scan p50 {p50:.2f} ms p99 {p99:.2f} ms; with query "
        f"encoding p50 {e50:.2f} ms p99 {e99:.2f} ms"
    )
    print(f"peak RSS {sampler.peak / 2**20:.0f} MB")
    sampler.stop()
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
