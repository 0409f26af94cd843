"""The gateway's Prometheus metrics count what was sent; a full mirror queue drops, counted."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ml_tasks.registry.aliases import TRAFFIC_TAG
from ml_tasks.registry.models import client
from ml_tasks.serving.gateway import Gateway
from tests.release_fixtures import MODEL, set_aliases
from tests.serving_fixtures import ListLog

ITEM_6 = {
    "gateway_requests",
    "gateway_request_duration_seconds",
    "model_inference_duration_seconds",
    "feature_fetch_duration_seconds",
    "shadow_requests",
    "shadow_score_delta",
    "shadow_queue_depth",
    "canary_traffic_ratio",
    "active_model",
    "model_swaps",
    "model_load_failures",
}


def _samples(gw: Gateway) -> dict[tuple[str, tuple], float]:
    text = gw.metrics.render().decode()
    families = list(text_string_to_metric_families(text))
    assert ITEM_6 <= {f.name for f in families}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_metrics_parse_and_count_what_was_sent(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.good, canary=reg.better)
    client(stack.settings).set_registered_model_tag(MODEL, TRAFFIC_TAG, "50")
    machines = stack.machines[:30]
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
        answers = []
        for machine in machines:
            started = time.perf_counter()
            answer = gw.predict([machine]).answers[0]
            gw.metrics.observe_request(
                "v1", answer["alias"], answer["model_version"], 200, time.perf_counter() - started
            )
            answers.append(answer)
        gw.predict(["M-9999"])
        gw.close()  # the mirrors are scored before close returns
        got = _samples(gw)
    by_alias = {a: sum(x["alias"] == a for x in answers) for a in ("champion", "canary")}
    assert by_alias["champion"] and by_alias["canary"]
    for alias, version in (("champion", reg.good), ("canary", reg.better)):
        labels = (("alias", alias), ("model_version", version))
        assert got["model_inference_duration_seconds_count", labels] == by_alias[alias]
        request_labels = (*labels, ("route", "v1"), ("status", "200"))
        assert got["gateway_requests_total", tuple(sorted(request_labels))] == by_alias[alias]
        assert got["active_model", labels] == pytest.approx(1.0)
    assert got["gateway_request_duration_seconds_count", (("route", "v1"),)] == len(machines)
    assert got["feature_fetch_duration_seconds_count", (("store", "sqlite"),)] == len(machines) + 1
    assert got["shadow_requests_total", (("outcome", "scored"),)] == len(machines)
    assert got["shadow_requests_total", (("outcome", "dropped"),)] == 0
    assert got["shadow_score_delta_count", ()] == len(machines)
    assert got["canary_traffic_ratio", ()] == pytest.approx(0.5)
    assert got["model_swaps_total", (("reason", "startup"),)] == 1
    assert got["shadow_queue_depth", ()] == 0
    # Buckets from 100 us to 1 s, no per-machine label anywhere.
    bounds = sorted(
        float(dict(labels)["le"])
        for name, labels in got
        if name == "model_inference_duration_seconds_bucket" and dict(labels)["le"] != "+Inf"
    )
    assert (bounds[0], bounds[-1]) == pytest.approx((0.0001, 1.0))
    assert not any("machine_id" in dict(labels) for _, labels in got)


class GatedLog(ListLog):
    """Holds the mirror worker inside its write until released (the queue behind it fills)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def append(self, rows: list[dict[str, Any]]) -> None:
        if threading.current_thread().name == "gateway-shadow":
            self.gate.wait(30)
        super().append(rows)


def test_a_full_shadow_queue_drops_and_counts_without_blocking(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better, shadow=reg.worse)
    plog = GatedLog()
    settings = stack.fresh(tmp_path, gateway_shadow_queue=1)
    machines = stack.machines[:12]
    with Gateway(settings, prediction_log=plog, poll=False) as gw:
        plain = [a for m in machines for a in gw.predict([m]).answers]
        # 1st mirror: held in the worker; wait until it took it off the queue.
        deadline = time.monotonic() + 10
        while gw.status()["shadow_queue_depth"] and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.perf_counter()
        again = [a for m in machines for a in gw.predict([m]).answers]
        took = time.perf_counter() - started
        assert gw.status()["shadow_queue_depth"] == 1
        dropped = gw.metrics.shadow_requests.labels("dropped")._value.get()
        plog.gate.set()
    assert again == plain and took < 5  # answered, not blocked behind the full queue
    outcomes = [r["shadow_outcome"] for r in plog.rows]
    assert len(outcomes) == 2 * len(machines)
    assert outcomes.count("dropped") == dropped >= len(machines) - 1
    assert outcomes.count("scored") == 2 * len(machines) - dropped
    for row in plog.rows:
        if row["shadow_outcome"] == "dropped":
            assert row["shadow_version"] is None and row["score"] is not None
