"""A real ELT stage, run with a Pushgateway configured, leaves its numbers there: the call
lines at the stages' ends are wired, not just the sample builders."""

from __future__ import annotations

import dataclasses
import urllib.request
from datetime import UTC, date, datetime

from prometheus_client.parser import text_string_to_metric_families

from ml_tasks.elt.pipeline import curate_telemetry, load_machines
from ml_tasks.observability import platform_metrics as pm
from tests.helpers import event, write_landing, write_machines

D1 = date(2026, 10, 1)


def _series(url: str, name: str) -> list[tuple[dict[str, str], float]]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def test_elt_stages_push_rows_share_and_success(platform_home, pushgateway_url: str) -> None:
    settings = dataclasses.replace(platform_home, pushgateway_url=pushgateway_url)
    write_machines(settings.landing_dir)
    load_machines(D1, settings=settings)
    good = [event(f"e{i}", f"2026-10-01T0{i}:00:00Z", machine="M-0001") for i in range(5)]
    unknown = event("x", "2026-10-01T06:00:00Z", machine="M-9999")  # quarantined
    write_landing(settings.landing_dir, "telemetry", D1, [*good, unknown])
    history = curate_telemetry(D1, settings=settings)

    rows = {
        (labels["table"], labels["outcome"]): value
        for labels, value in _series(pushgateway_url, pm.ELT_ROWS)
        if labels["job"] == "elt"
    }
    assert rows[history.table, "read"] == 6
    assert rows[history.table, "quarantined"] == 1
    assert ("machines", "curated") in rows
    shares = {
        labels["table"]: value
        for labels, value in _series(pushgateway_url, pm.ELT_QUARANTINED_SHARE)
    }
    assert abs(shares[history.table] - 1 / 6) < 1e-9
    days = {
        labels["table"]: value
        for labels, value in _series(pushgateway_url, pm.DATA_INTERVAL_TIMESTAMP)
        if labels["job"] == "elt"
    }
    assert days[history.table] == datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    succeeded = {
        labels["table"]
        for labels, _ in _series(pushgateway_url, pm.STAGE_SUCCESS_TIMESTAMP)
        if labels["job"] == "elt"
    }
    assert succeeded >= {"machines", history.table}
