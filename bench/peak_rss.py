"""Peak resident memory of this process, sampled in a background thread (for the benchmarks)."""

from __future__ import annotations

import gc
import threading
import time

import psutil


class PeakRss:
    """Sample this process's RSS every few ms; ``peak`` since the last ``reset``."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self._proc = psutil.Process()
        self._interval = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self._interval)

    def reset(self) -> int:
        """Collect garbage, restart the peak at the current RSS and return it."""
        gc.collect()
        self.peak = self._proc.memory_info().rss
        return self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
