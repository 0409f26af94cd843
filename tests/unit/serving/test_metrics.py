"""The metric names of issue 15 item 6, on a private registry per gateway."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ml_tasks.serving.metrics import DURATION_BUCKETS, GatewayMetrics


def _families(m: GatewayMetrics) -> dict:
    return {f.name: f for f in text_string_to_metric_families(m.render().decode())}


def test_names_types_and_buckets():
    m = GatewayMetrics()
    families = _families(m)
    expected = {
        "gateway_requests": "counter",
        "gateway_request_duration_seconds": "histogram",
        "model_inference_duration_seconds": "histogram",
        "feature_fetch_duration_seconds": "histogram",
        "shadow_requests": "counter",
        "shadow_score_delta": "histogram",
        "shadow_queue_depth": "gauge",
        "canary_traffic_ratio": "gauge",
        "active_model": "gauge",
        "model_swaps": "counter",
        "model_load_failures": "counter",
    }
    assert {name: families[name].type for name in expected} == expected
    assert (DURATION_BUCKETS[0], DURATION_BUCKETS[-1]) == (0.0001, 1.0)


def test_registries_are_private_and_swaps_replace_the_active_slots():
    a, b = GatewayMetrics(), GatewayMetrics()
    a.observe_request("v1", "champion", "3", 200, 0.002)
    a.set_slots({"champion": "3", "canary": "4"}, 0.25)
    a.set_slots({"champion": "4"}, 0.0)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in _families(a).values()
        for s in f.samples
    }
    assert (
        samples[
            "gateway_requests_total",
            (("alias", "champion"), ("model_version", "3"), ("route", "v1"), ("status", "200")),
        ]
        == 1
    )
    active = {labels for name, labels in samples if name == "active_model"}
    assert active == {(("alias", "champion"), ("model_version", "4"))}
    assert not [
        s for f in _families(b).values() for s in f.samples if s.name == "gateway_requests_total"
    ]
