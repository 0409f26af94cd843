"""Synthetic shop-floor traffic for the demo: machines asking the gateway for their risk.

Each of the plant's machines polls ``POST /v1/predict`` for its own failure risk, as an HMI panel
or a line controller would; arrivals are Poisson at ``rate`` requests per second over all machines.
A few sender threads keep one keep-alive connection each. The driver counts every answer by the
alias and model version that produced it, so the demo can show traffic moving between models
while ``promote_model`` walks its release steps. This is demo load, not a benchmark: the
open-loop load generator with latency percentiles is ``bench/serving.py``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrafficStats:
    """What the driver sent and what came back (thread-safe counters)."""

    sent: int = 0
    errors: int = 0
    by_version: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, answers: list[dict[str, Any]], seconds: float) -> None:
        with self.lock:
            self.sent += 1
            self.by_status[status] += 1
            if status >= 500 or status == 0:
                self.errors += 1
            self.latencies.append(seconds)
            for answer in answers:
                if answer.get("model_version"):
                    self.by_version[f"v{answer['model_version']} @{answer.get('alias')}"] += 1

    def summary(self) -> str:
        with self.lock:
            lat = sorted(self.latencies)
            p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
            versions = ", ".join(f"{k}: {n}" for k, n in sorted(self.by_version.items()))
            statuses = ", ".join(f"{k}: {n}" for k, n in sorted(self.by_status.items()))
            return (
                f"{self.sent} requests ({statuses}), {self.errors} errors; client-side latency "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; answered by {versions or 'nobody'}"
            )


class ShopFloorTraffic:
    """Drive ``/v1/predict`` at ``rate`` requests/s from ``machines`` until :meth:`stop`."""

    def __init__(
        self,
        base_url: str,
        machines: Sequence[str],
        *,
        rate: float = 80.0,
        senders: int = 4,
        seed: int = 11,
    ) -> None:
        if not machines:
            raise ValueError("no machines to drive traffic for")
        self.base_url = base_url.rstrip("/")
        self.machines = list(machines)
        self.rate = rate
        self.senders = senders
        self.seed = seed
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _send_loop(self, index: int) -> None:
        import httpx

        rng = random.Random(self.seed + index)
        per_sender = self.rate / self.senders
        url = f"{self.base_url}/v1/predict"
        next_at = time.perf_counter()
        with httpx.Client(timeout=5.0) as http:
            while not self._stop.is_set():
                next_at += rng.expovariate(per_sender)
                delay = next_at - time.perf_counter()
                if delay > 0 and self._stop.wait(delay):
                    break
                machine = rng.choice(self.machines)
                t0 = time.perf_counter()
                try:
                    response = http.post(url, json={"machine_ids": [machine]})
                    body = response.json()
                    answers = body.get("predictions") or body.get("answers") or []
                    self.stats.record(response.status_code, answers, time.perf_counter() - t0)
                except Exception:  # a refused or timed-out request is an error, never fatal
                    self.stats.record(0, [], time.perf_counter() - t0)

    def take_stats(self) -> TrafficStats:
        """The counts so far; counting starts afresh (one summary per phase of the demo)."""
        old, self.stats = self.stats, TrafficStats()
        return old

    def start(self) -> ShopFloorTraffic:
        for i in range(self.senders):
            thread = threading.Thread(target=self._send_loop, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> TrafficStats:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        return self.stats

    def __enter__(self) -> ShopFloorTraffic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
