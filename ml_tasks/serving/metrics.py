"""The gateway's Prometheus metrics (issue 15, item 6) on a registry of its own.

Names follow Prometheus conventions: durations in seconds, counters end in ``_total``, no
per-machine label (a label per machine id would be a time series per machine). Duration
histograms have buckets from 100 us to 1 s. A private :class:`CollectorRegistry` per gateway
keeps tests and several gateways in one process apart; ``/metrics`` renders :meth:`render`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as _values

# 100 us .. 1 s, about three per decade.
DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
# |shadow score - answered score|: probabilities, so 0..1.
DELTA_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class GatewayMetrics:
    """Every metric of the gateway; the HTTP layer observes requests through
    :meth:`observe_request`, the gateway the rest."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        _in_memory_values()
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests_total",
            "Requests answered, by route, answering alias and version, and HTTP status.",
            ("route", "alias", "model_version", "status"),
            registry=r,
        )
        self.request_duration = Histogram(
            "gateway_request_duration_seconds",
            "Server-side time per request, parsing to response.",
            ("route",),
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.inference_duration = Histogram(
            "model_inference_duration_seconds",
            "Time of one booster call (one batch of machines of one request).",
            ("alias", "model_version"),
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.feature_fetch_duration = Histogram(
            "feature_fetch_duration_seconds",
            "Time of one online-store lookup (all machines of one request).",
            ("store",),
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.shadow_requests = Counter(
            "shadow_requests_total",
            "Mirrored requests by outcome: scored, dropped (queue full) or error.",
            ("outcome",),
            registry=r,
        )
        self.shadow_score_delta = Histogram(
            "shadow_score_delta",
            "Absolute difference between the mirror's score and the answered score, per machine.",
            buckets=DELTA_BUCKETS,
            registry=r,
        )
        self.shadow_queue_depth = Gauge(
            "shadow_queue_depth", "Mirrored requests waiting to be scored.", registry=r
        )
        self.canary_traffic_ratio = Gauge(
            "canary_traffic_ratio",
            "Share of machines routed to the canary (0 when no canary is loaded).",
            registry=r,
        )
        self.active_model = Gauge(
            "active_model",
            "1 for each loaded slot: alias and the model version it holds.",
            ("alias", "model_version"),
            registry=r,
        )
        self.model_swaps = Counter(
            "model_swaps_total",
            "Slot-table swaps by what triggered them: poll, admin or startup.",
            ("reason",),
            registry=r,
        )
        self.model_load_failures = Counter(
            "model_load_failures_total",
            "Model versions refused or not loadable, by reason.",
            ("reason",),
            registry=r,
        )
        self._active: set[tuple[str, str]] = set()
        for outcome in ("scored", "dropped", "error"):
            self.shadow_requests.labels(outcome)  # present at 0 before the first mirror

    def observe_request(
        self,
        route: str,
        alias: str | None,
        version: str | None,
        status: int,
        seconds: float,
    ) -> None:
        """One HTTP request: counted by answering alias/version and status, and timed."""
        self.requests.labels(route, alias or "", version or "", str(status)).inc()
        self.request_duration.labels(route).observe(seconds)

    def set_slots(self, slots: Mapping[str, str], canary_ratio: float) -> None:
        """The loaded slots (alias -> version) and the canary's share, after a swap."""
        wanted = set(slots.items())
        with warnings.catch_warnings():
            # It warns whenever PROMETHEUS_MULTIPROC_DIR is set; values here are in memory.
            warnings.simplefilter("ignore", UserWarning)
            for labels in self._active - wanted:
                self.active_model.remove(*labels)
        for alias, version in wanted:
            self.active_model.labels(alias, version).set(1)
        self._active = wanted
        self.canary_traffic_ratio.set(canary_ratio)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def _in_memory_values() -> None:
    """Keep metric values in this process's memory, whatever the environment says.

    ``import feast`` sets ``PROMETHEUS_MULTIPROC_DIR`` for its own feature server
    (``feast/metrics.py``); if ``prometheus_client`` is imported after that, every metric keeps
    its value in a per-process file keyed by name and labels, so two gateways in one process
    (tests) would share counts and files pile up in a temporary folder. The gateway is one
    process (one uvicorn worker; Ray Serve replicas are processes with their own registries).
    """
    if _values.ValueClass is not _values.MutexValue:
        _values.ValueClass = _values.MutexValue
