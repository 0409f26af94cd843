"""Samples pushed to a real Prometheus Pushgateway arrive with their labels and grouping."""

from __future__ import annotations

import dataclasses
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from ml_tasks.observability.pushgateway import Sample, push_metrics
from ml_tasks.settings import get_settings


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
        if family.name.startswith("ml_platform_")
    }


def test_push_arrives_with_job_grouping_and_labels(pushgateway_url: str) -> None:
    settings = dataclasses.replace(get_settings(), pushgateway_url=pushgateway_url)
    samples = [
        Sample("ml_platform_test_rows", 120, {"table": "sensor_readings"}, "Rows read."),
        Sample("ml_platform_test_rows", 7, {"table": "work_orders"}),
        Sample("ml_platform_test_duration_seconds", 3.5),
    ]

    assert push_metrics(
        "test_elt", samples, grouping={"dag": "ingest", "day": "2026-01-05"}, settings=settings
    )

    metrics = _scrape(pushgateway_url)
    # The Pushgateway adds an empty ``instance`` to every pushed series.
    group = {"job": "test_elt", "dag": "ingest", "day": "2026-01-05", "instance": ""}
    assert sorted(metrics["ml_platform_test_rows"], key=lambda s: s[1]) == [
        ({**group, "table": "work_orders"}, 7.0),
        ({**group, "table": "sensor_readings"}, 120.0),
    ]
    assert metrics["ml_platform_test_duration_seconds"] == [(group, 3.5)]


def test_a_second_push_replaces_the_group(pushgateway_url: str) -> None:
    """PUT semantics: a rerun of the same DAG and day leaves no stale series of the first run."""
    settings = dataclasses.replace(get_settings(), pushgateway_url=pushgateway_url)
    grouping = {"dag": "train", "day": "2026-01-06"}
    assert push_metrics(
        "test_replace",
        [Sample("ml_platform_test_gate", 1, {"gate": "a"})],
        grouping=grouping,
        settings=settings,
    )
    assert push_metrics(
        "test_replace",
        [Sample("ml_platform_test_gate", 0, {"gate": "b"})],
        grouping=grouping,
        settings=settings,
    )

    series = [
        (labels["gate"], value)
        for labels, value in _scrape(pushgateway_url)["ml_platform_test_gate"]
        if labels.get("job") == "test_replace"
    ]
    assert series == [("b", 0.0)]
