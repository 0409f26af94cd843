"""The metric names a PromQL expression reads, and the names this platform exports, for the
tests that keep alert rules and dashboard panels pointed at metrics that exist.

The extraction is lexical, enough for the expressions this repository writes: strings, label
matchers, ``by``/``without`` lists and range selectors are removed, then every identifier that
is not a function call, keyword or number is a metric name.
"""

from __future__ import annotations

import re
from functools import cache

import yaml

from ml_tasks.settings import REPO_ROOT

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "le",
}  # fmt: skip
# Series every Prometheus has, or that the Pushgateway adds to each pushed group.
BUILT_IN = {"up", "push_time_seconds", "push_failure_time_seconds"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors and subqueries
    text = re.sub(r"\boffset\s+\w+", " ", text)
    text = re.sub(r"\$\w+|\$\{[^}]*\}", " ", text)  # Grafana variables ($__rate_interval)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        after = text[match.end() :].lstrip()
        name = match.group(0)
        if after.startswith("(") or name.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


def gateway_names() -> set[str]:
    """Every series name the gateway's /metrics exposes (``ml_tasks.serving.metrics``)."""
    from ml_tasks.serving.metrics import GatewayMetrics

    names = set()
    for family in GatewayMetrics().registry.collect():
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in HISTOGRAM_SUFFIXES}
        if family.type == "counter":
            names.add(family.name + "_total")
    return names


def statsd_names() -> set[str]:
    """The labelled Airflow metrics the statsd mapping produces (timers as histograms), and the
    id-less names Airflow sends that pass through unmapped."""
    mapping = yaml.safe_load((REPO_ROOT / "include/monitoring/statsd/mapping.yml").read_text())
    names = set()
    for rule in mapping["mappings"]:
        if rule.get("action") == "drop" or "$" in rule["name"]:
            continue
        names.add(rule["name"])
        if rule["name"].endswith("_seconds"):
            names |= {rule["name"] + suffix for suffix in HISTOGRAM_SUFFIXES}
    # The task-duration rule names its metric from a group: its three outcomes.
    for kind in ("duration", "scheduled_duration", "queued_duration"):
        names |= {f"airflow_task_{kind}_seconds{s}" for s in ("", *HISTOGRAM_SUFFIXES)}
    names |= {
        "airflow_ti_failures", "airflow_ti_successes", "airflow_scheduler_heartbeat",
        "airflow_dag_processing_import_errors", "airflow_dag_processing_total_parse_time",
    }  # fmt: skip
    return names


@cache
def known_names() -> frozenset[str]:
    """Every metric name an alert rule or a dashboard panel may use."""
    from ml_tasks.observability.platform_metrics import PUSHED_METRICS

    return frozenset(gateway_names() | statsd_names() | set(PUSHED_METRICS) | BUILT_IN)
