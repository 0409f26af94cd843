"""The statsd_exporter mapping rules (``include/monitoring/statsd/mapping.yml``) applied in
Python, for the tests that check Airflow's metric names against them.

Follows statsd_exporter's rules for what the mapping uses: regex rules in file order, the first
match wins, the pattern searched (Go's ``MatchString``, unanchored: the rules anchor
themselves), ``$n`` / ``${n}`` in the name and labels replaced by the groups, ``action: drop``
discards; an unmatched name is kept with its dots turned into underscores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ml_tasks.settings import REPO_ROOT

MAPPING = REPO_ROOT / "include" / "monitoring" / "statsd" / "mapping.yml"
DROPPED = "<dropped>"


@dataclass(frozen=True)
class Mapped:
    """Where one StatsD name ends up: the Prometheus name and labels, and whether a rule
    matched it (False: kept as is, dots as underscores)."""

    name: str
    labels: dict[str, str]
    matched: bool


def load_rules(path: Path = MAPPING) -> list[dict[str, Any]]:
    rules = yaml.safe_load(path.read_text())["mappings"]
    for rule in rules:
        assert rule.get("match_type") == "regex", f"only regex rules are emulated: {rule}"
    return list(rules)


def _expand(template: str, match: re.Match[str]) -> str:
    return re.sub(r"\$\{(\d+)\}|\$(\d+)", lambda m: match.group(int(m[1] or m[2])), template)


def map_name(statsd_name: str, rules: list[dict[str, Any]]) -> Mapped:
    """The Prometheus metric ``statsd_name`` becomes under ``rules``."""
    for rule in rules:
        match = re.search(rule["match"], statsd_name)
        if match is None:
            continue
        if rule.get("action") == "drop":
            return Mapped(DROPPED, {}, True)
        labels = {k: _expand(str(v), match) for k, v in (rule.get("labels") or {}).items()}
        return Mapped(_expand(rule["name"], match), labels, True)
    return Mapped(re.sub(r"[^a-zA-Z0-9_]", "_", statsd_name), {}, False)
