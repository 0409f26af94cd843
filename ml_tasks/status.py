"""Platform status: the current version of every dataset the manifest records.

The manifest holds three kinds of entries, each stored differently:

- curated tables (``telemetry``, ``work_orders_history``, ...): Delta tables in the lake, whose
  version and row count are read from the Delta log now;
- feature views (``features_<view>``): day partitions in the offline store, versioned by the
  manifest's own counter;
- training sets (``training_set``): immutable ``v<NNNN>/`` folders under the training-set root.

Only curated tables have a Delta version; the others report the manifest's version, so the
status works in every state: an empty home, after the ELT only, and after the full pipeline.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ml_tasks.elt import lake, manifest
from ml_tasks.settings import Settings, get_settings

FEATURE_PREFIX = "features_"
TRAINING_SET = "training_set"


def _storage(name: str, entry: manifest.DatasetVersion, s: Settings) -> dict[str, Any]:
    """Kind, location and current version of one manifest entry's data."""
    if name == TRAINING_SET:
        return {
            "kind": "training_set",
            "uri": entry.stats.get("path"),
            "delta_version": None,
            "current_version": entry.version,
            "total_rows": entry.row_count,  # a training set is written once, whole
        }
    if name.startswith(FEATURE_PREFIX):
        view = name.removeprefix(FEATURE_PREFIX)
        return {
            "kind": "feature_view",
            "uri": f"{s.offline_store_uri.rstrip('/')}/{view}",
            "delta_version": None,
            "current_version": entry.version,
            # Counting every partition would read them all; the last write's rows are shown.
            "total_rows": None,
        }
    uri = s.table_uri(name)
    delta_version = lake.table_version(uri, s)
    return {
        "kind": "delta",
        "uri": uri,
        "delta_version": delta_version,
        "current_version": delta_version,
        "total_rows": lake.row_count(uri, s),
    }


def current_status(settings: Settings | None = None) -> dict[str, Any]:
    """Per dataset: latest recorded write, and the version and rows its store reports now."""
    s = settings or get_settings()
    tables = {
        name: {**asdict(entry), **_storage(name, entry, s)}
        for name, entry in sorted(manifest.latest(s.manifest_path).items())
    }
    return {"platform_home": str(s.platform_home), "tables": tables}


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def format_status(status: dict[str, Any]) -> str:
    """Human-readable status: one line per dataset (a missing Delta table says so)."""
    lines = [f"PLATFORM_HOME {status['platform_home']}"]
    if not status["tables"]:
        lines.append("no curated datasets yet (run `make run` or `python -m ml_tasks elt`)")
    for name, t in status["tables"].items():
        version = t["current_version"]
        shown = "missing" if version is None else f"v{version}"
        lines.append(
            f"  {name:<26} {t['kind']:<13} {shown:<8} {_or_dash(t['total_rows']):>10} rows"
            f"   last write: interval {t['interval_start']}, {t['row_count']} rows"
        )
    return "\n".join(lines)
