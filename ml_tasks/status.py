"""Platform status: the current version of every curated dataset."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ml_tasks.elt import lake, manifest
from ml_tasks.settings import Settings, get_settings


def current_status(settings: Settings | None = None) -> dict[str, Any]:
    """Per table: latest recorded version and interval, and the version Delta reports now."""
    s = settings or get_settings()
    tables = {}
    for name, entry in sorted(manifest.latest(s.manifest_path).items()):
        tables[name] = {
            **asdict(entry),
            "delta_version": lake.table_version(s.table_uri(name), s),
            "total_rows": lake.row_count(s.table_uri(name), s),
            "uri": s.table_uri(name),
        }
    return {"platform_home": str(s.platform_home), "tables": tables}


def format_status(status: dict[str, Any]) -> str:
    lines = [f"PLATFORM_HOME {status['platform_home']}"]
    if not status["tables"]:
        lines.append("no curated datasets yet (run `make run` or `python -m ml_tasks elt`)")
    for name, t in status["tables"].items():
        lines.append(
            f"  {name:<22} v{t['delta_version']:<5} {t['total_rows']:>10} rows"
            f"   last write: interval {t['interval_start']}, {t['row_count']} rows"
        )
    return "\n".join(lines)
