"""The gateway's long-lived objects are frozen out of the collector's full passes."""

from __future__ import annotations

import gc

from ml_tasks.serving.heap import freeze_startup_heap


def test_freezing_moves_what_lives_now_out_of_full_collections() -> None:
    gc.unfreeze()
    try:
        kept = [[i] for i in range(50_000)]  # long-lived, tracked objects
        frozen = freeze_startup_heap()
        assert frozen >= len(kept)
        assert gc.get_freeze_count() == frozen
        # What a full pass still walks no longer includes them.
        assert len(gc.get_objects()) < frozen
        again = freeze_startup_heap(collect=False)
        assert again >= frozen
    finally:
        gc.unfreeze()
