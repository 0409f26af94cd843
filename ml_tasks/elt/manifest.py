"""The dataset-version manifest: which Delta version each curated write produced.

Later stages (features, training) read it to record exactly which data they used. It is a small
SQLite file on the embedded default; each record is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dataset_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    interval_start TEXT NOT NULL,
    interval_end TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    stats TEXT NOT NULL,
    run_id TEXT,
    written_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class DatasetVersion:
    """One curated write."""

    table_name: str
    version: int
    interval_start: str
    interval_end: str
    row_count: int
    stats: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    written_at: str = ""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    con.execute(_SCHEMA)
    return con


def record(path: Path, entry: DatasetVersion) -> DatasetVersion:
    """Append one write to the manifest and return it with its timestamp."""
    written = DatasetVersion(**{**asdict(entry), "written_at": datetime.now(UTC).isoformat()})
    with closing(_connect(path)) as con, con:
        con.execute(
            "INSERT INTO dataset_versions (table_name, version, interval_start, interval_end,"
            " row_count, stats, run_id, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                written.table_name,
                written.version,
                written.interval_start,
                written.interval_end,
                written.row_count,
                json.dumps(written.stats, sort_keys=True),
                written.run_id,
                written.written_at,
            ),
        )
    return written


def _rows(path: Path, where: str = "", params: tuple[Any, ...] = ()) -> list[DatasetVersion]:
    if not path.exists():
        return []
    with closing(_connect(path)) as con:
        rows = con.execute(
            "SELECT table_name, version, interval_start, interval_end, row_count, stats, run_id,"
            f" written_at FROM dataset_versions {where} ORDER BY id",
            params,
        ).fetchall()
    return [
        DatasetVersion(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
    ]


def history(path: Path, table_name: str | None = None) -> list[DatasetVersion]:
    """Every recorded write, oldest first (optionally of one table)."""
    if table_name is None:
        return _rows(path)
    return _rows(path, "WHERE table_name = ?", (table_name,))


def latest(path: Path) -> dict[str, DatasetVersion]:
    """The newest recorded version of each table."""
    newest: dict[str, DatasetVersion] = {}
    for entry in _rows(path):
        if entry.table_name not in newest or entry.version >= newest[entry.table_name].version:
            newest[entry.table_name] = entry
    return newest
