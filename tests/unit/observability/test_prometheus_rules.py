"""The Prometheus config and alert rules pass the real promtool, every alert has a unit test
that makes it fire and one that keeps it silent, and every rule reads metrics that exist."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_tasks.settings import REPO_ROOT
from tests.promql_names import known_names, metric_names

PROMETHEUS = REPO_ROOT / "include" / "monitoring" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))
# What the issue asks the rules to cover.
REQUIRED_ALERTS = {
    "GatewayP99OverSLA", "GatewayErrorRatioHigh", "CanaryBreach", "ModelRefused",
    "ModelLoadFailed", "ShadowMirrorsDropped", "EltQuarantineShareHigh", "DriftAlarm",
    "LivePerformanceDrop", "DagRunFailed", "NightlyRunMissing", "NightlyRunNeverSeen",
}  # fmt: skip


def _promtool(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> None:
    result = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_check_config(promtool: str) -> None:
    """The scrape config, and the rule files it names (promtool checks them too)."""
    _promtool(promtool, "check", "config", "prometheus.yml")


def test_check_rules(promtool: str) -> None:
    _promtool(promtool, "check", "rules", *(str(p) for p in RULE_FILES))


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_rule_unit_tests_pass(promtool: str, test_file: Path) -> None:
    _promtool(promtool, "test", "rules", test_file.name, cwd=test_file.parent)


def test_every_alert_is_tested_firing_and_silent() -> None:
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert REQUIRED_ALERTS <= alerts
    firing, silent = set(), set()
    tested_files = set()
    for path in TEST_FILES:
        spec = yaml.safe_load(path.read_text())
        tested_files |= {(path.parent / f).resolve() for f in spec["rule_files"]}
        for case in spec["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert {p.resolve() for p in RULE_FILES} <= tested_files
    assert alerts - firing == set(), "alerts no test makes fire"
    assert alerts - silent == set(), "alerts no test shows silent"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.get("alert") or r.get("record"))
def test_rules_read_metrics_that_exist(rule: dict[str, Any]) -> None:
    """A renamed metric must not leave a rule that can never fire."""
    used = metric_names(rule["expr"])
    assert used, rule["expr"]
    assert used - known_names() == set()


def test_the_name_extraction_sees_through_promql() -> None:
    expr = (
        'sum by (le) (rate(gateway_request_duration_seconds_bucket{route="v1"}[5m])) > 0.01 '
        'or absent(ml_platform_drift_alarm{job="drift"}) unless up offset 1h'
    )
    assert metric_names(expr) == {
        "gateway_request_duration_seconds_bucket",
        "ml_platform_drift_alarm",
        "up",
    }
    assert "no_such_metric_total" not in known_names()
