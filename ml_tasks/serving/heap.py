"""Keeps the garbage collector's full passes off the request path.

After start-up the gateway process holds ~350,000 tracked objects (MLflow, SQLAlchemy, pyarrow,
xgboost, the app); a full (generation 2) collection walks all of them and took ~175 ms here,
every time the collector decided to run one. Requests allocate a few short-lived objects each,
so at a few hundred requests a second that happened every few seconds: the serving
benchmark's p99.9 of ~165 ms was these pauses. Objects that live for the whole process are
moved out of the collector's sight with :func:`gc.freeze` once they exist (CPython's documented
use of it), so later full passes only walk what was allocated since.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_startup_heap(*, collect: bool = True) -> int:
    """Collect once (optional), then freeze every object alive now; the number frozen.

    Call it when start-up work is done (models loaded and warmed), before serving; again without
    ``collect`` after a late, large load (the search model), which only moves objects (no pause).
    Garbage that already exists when freezing is kept for the process's life: hence one
    collection first at start-up, when a pause costs nothing.
    """
    began = time.perf_counter()
    if collect:
        gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "gateway heap: %d objects frozen out of the collector's full passes (%.0f ms)",
        frozen,
        (time.perf_counter() - began) * 1e3,
    )
    return frozen
