"""Push a batch task's metrics to the Prometheus Pushgateway (the Prometheus way for batch jobs).

A push replaces the whole group (HTTP PUT): a rerun of the same DAG and day overwrites its numbers
instead of adding stale series next to them. Pushing never fails a task: without a configured
Pushgateway (the embedded default) it does nothing, and a push error is logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

# A batch task waits at most this long for the Pushgateway before giving up (and warning).
PUSH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Sample:
    """One gauge value to push, e.g. ``ml_platform_live_roc_auc{model=...} 0.91``."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    help: str = ""


class _SamplesCollector(Collector):
    """Exposes fixed samples as gauge families: one family per name, label names unioned (a
    sample missing a label gets it empty, as Prometheus treats an absent label)."""

    def __init__(self, samples: list[Sample]) -> None:
        self._samples = samples

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_name: dict[str, list[Sample]] = {}
        for sample in self._samples:
            by_name.setdefault(sample.name, []).append(sample)
        for name, group in by_name.items():
            label_names = sorted({key for sample in group for key in sample.labels})
            help_text = next((s.help for s in group if s.help), name)
            family = GaugeMetricFamily(name, help_text, labels=label_names)
            for sample in group:
                family.add_metric(
                    [str(sample.labels.get(key, "")) for key in label_names], float(sample.value)
                )
            yield family


def push_metrics(
    job: str,
    samples: Iterable[Sample],
    *,
    grouping: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> bool:
    """PUT ``samples`` to the Pushgateway as group ``job`` (+ ``grouping``, e.g. dag and day).

    Returns True when the Pushgateway accepted them; False when none is configured
    (``PLATFORM_PUSHGATEWAY_URL`` unset) or the push failed (logged as a warning, never raised:
    metrics must not fail the task that produced them).
    """
    s = settings or get_settings()
    if not s.pushgateway_url:
        return False
    batch = list(samples)
    registry = CollectorRegistry()
    registry.register(_SamplesCollector(batch))
    try:
        push_to_gateway(
            s.pushgateway_url,
            job=job,
            registry=registry,
            grouping_key=dict(grouping or {}),
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        # Any failure (refused, timeout, HTTP 4xx/5xx) is a warning, by contract.
        log.warning(
            "Pushgateway push of %d samples (job %s) to %s failed: %s",
            len(batch),
            job,
            s.pushgateway_url,
            exc,
        )
        return False
    return True
