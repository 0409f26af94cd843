"""The Grafana dashboard's panels query metrics that exist, in PromQL that parses, from the
datasource the provisioning defines, and cover the signals the alert rules watch."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_tasks.observability import platform_metrics as pm
from ml_tasks.settings import REPO_ROOT
from tests.promql_names import known_names, metric_names

GRAFANA = REPO_ROOT / "include" / "monitoring" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "ml-platform.json"
# What the dashboard must show (the list): one metric each.
REQUIRED = {
    "gateway_request_duration_seconds_bucket",  # p50 / p99
    "gateway_requests_total",  # error ratio, answers by alias
    "canary_traffic_ratio",
    "shadow_requests_total",
    "model_load_failures_total",
    pm.ELT_QUARANTINED_SHARE,
    pm.DRIFT_SCORE,
    pm.LIVE_ROC_AUC,
    pm.LIVE_PERFORMANCE_ALARM,
    pm.GATE_DECISION,
    "airflow_dagrun_duration_seconds_count",  # DAG failures
}


def _panels() -> list[dict[str, Any]]:
    out = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        out.append(panel)
        out += panel.get("panels", [])  # collapsed rows keep theirs inside
    return out


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p.get("targets", [])]


def test_panels_are_laid_out_and_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    panels = _panels()
    assert len({p["id"] for p in panels}) == len(panels), "panel ids repeat"
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in uids, panel["title"]
            assert panel["targets"], panel["title"]
            assert all(t["datasource"]["uid"] in uids for t in panel["targets"])


def test_the_dashboard_provider_loads_where_compose_mounts_the_json() -> None:
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "ml-platform.yml").read_text()
    )
    compose = (REPO_ROOT / "docker-compose.yaml").read_text()
    [path] = [p["options"]["path"] for p in provider["providers"]]
    assert f"./include/monitoring/grafana/dashboards:{path}:ro" in compose


@pytest.mark.parametrize("expr", _exprs())
def test_every_panel_reads_metrics_that_exist(expr: str) -> None:
    used = metric_names(expr)
    assert used, expr
    assert used - known_names() == set()


def test_the_panels_cover_the_signals() -> None:
    used = set().union(*(metric_names(e) for e in _exprs()))
    assert REQUIRED - used == set()


def test_every_expression_parses(promtool: str, tmp_path: Path) -> None:
    """Checked by Prometheus' own parser: each query as a recording rule for promtool."""
    rules = [
        # Grafana's interval variables are filled in as Grafana would.
        {"record": f"panel:query_{i}", "expr": re.sub(r"\$__\w+", "5m", expr)}
        for i, expr in enumerate(_exprs())
    ]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
