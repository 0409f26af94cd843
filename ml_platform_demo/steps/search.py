"""The search step of the demo (`make run`): nightly index refreshes, then example searches.

Runs the real ``refresh_embeddings`` DAG with ``dag.test()``: a full build from the first day's
manual export, then the last nights of the range (incremental: only changed chunks are
embedded), and prints what each night embedded and reused, the gate's scores, and the answers
to a few shop-floor questions from the live version.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from ml_tasks.settings import Settings, get_settings

EXAMPLE_QUERIES = (
    "vibration alarm on the press after a bearing change",
    "pump is leaking fluid at the shaft",
    "spindle runs hot after an hour of cutting",
    "how do I isolate the hydraulic press before working on it",
)


def run_search_demo(start: date, days: int, settings: Settings | None = None) -> int:
    """Refresh the index for the first day and the last three; search. Returns an exit code."""
    from ml_platform_demo.orchestration import interval_run_time, load_dag, run_dag_test
    from ml_tasks.search.index import ManualIndex
    from ml_tasks.search.retrieval import Searcher

    s = settings or get_settings()
    dag = load_dag("refresh_embeddings", s)
    end = start + timedelta(days=days - 1)
    nights = sorted({start, *(end - timedelta(days=i) for i in range(min(2, days - 1), -1, -1))})
    index = ManualIndex(s)
    for day in nights:
        t0 = time.perf_counter()
        run = run_dag_test(dag, interval_run_time(day))
        state = str(run.state)
        builds = index.builds()
        build = builds[-1] if builds else None
        gate = (build.gate or {}) if build else {}
        quality = gate.get("quality", {})
        print(
            f"      {day}  refresh_embeddings  {state:<8} {time.perf_counter() - t0:5.1f} s  "
            + (
                f"v{build.version}: {build.rows} chunks, embedded {build.embedded}, reused "
                f"{build.reused}, skipped {len(build.stats.get('skipped', {}))}; "
                f"recall@5 {quality.get('recall_at_k')} MRR {quality.get('mrr')}; "
                f"live v{index.live_version()}"
                if build
                else ""
            )
        )
        for doc_id, reason in sorted((build.stats.get("skipped", {}) if build else {}).items()):
            print(f"            skipped {doc_id}: {reason}")
        if state != "success":
            return 1
    searcher = Searcher(s)
    for query in EXAMPLE_QUERIES:
        hits = searcher.search(query, k=3)
        print(f"      search {query!r} (live v{searcher.version})")
        for hit in hits:
            print(f"        {hit['score']:.3f}  {hit['doc_id']} # {hit['section']}")
    return 0
