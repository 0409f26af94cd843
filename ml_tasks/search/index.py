"""The versioned vector index of the manuals, in LanceDB (a local folder or ``s3://``).

Layout of the LanceDB database at ``settings.search_index_uri``:

- ``manuals_v000012``: one table per build (a *version*): chunk rows with their vectors. A build
  is written whole under its own name and only then registered, so a killed build is never seen
  by search; an unregistered table is garbage that :meth:`ManualIndex.clean` drops.
- ``index_builds``: the registry, one row per version (interval, run id, corpus fingerprint,
  counts, skipped documents, gate decision).
- ``index_alias``: one row per alias: ``live`` -> the version search reads, with the previous
  live version (the instant rollback target). Moving it is a single atomic Lance commit.
- ``index_events``: the audit log of alias moves, gate decisions and clean-ups.

Blue/green: the live version is *blue*; a nightly build is *green* beside it; the gate compares
the two; only then does the alias move. Nothing writes to a version after it is registered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from ml_tasks.search.embedder import DIMENSION
from ml_tasks.settings import Settings, get_settings

LIVE = "live"
_VERSION_TABLE = re.compile(r"^manuals_v(\d{6})$")

CHUNK_SCHEMA = pa.schema(
    [
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("section", pa.string(), nullable=False),
        pa.field("part", pa.int32()),
        pa.field("text", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), DIMENSION), nullable=False),
    ]
)
BUILD_SCHEMA = pa.schema(
    [
        pa.field("version", pa.int64(), nullable=False),
        pa.field("interval", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("fingerprint", pa.string()),
        pa.field("model_id", pa.string()),
        pa.field("rows", pa.int64()),
        pa.field("documents", pa.int64()),
        pa.field("embedded", pa.int64()),
        pa.field("reused", pa.int64()),
        pa.field("stats", pa.string()),
        pa.field("gate", pa.string()),
    ]
)
ALIAS_SCHEMA = pa.schema(
    [
        pa.field("alias", pa.string(), nullable=False),
        pa.field("version", pa.int64()),
        pa.field("previous", pa.int64()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
        pa.field("reason", pa.string()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("action", pa.string()),
        pa.field("version", pa.int64()),
        pa.field("previous", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("details", pa.string()),
    ]
)


def version_table(version: int) -> str:
    return f"manuals_v{version:06d}"


def vectors_array(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """``(n, 384)`` float32 -> the Arrow column Lance stores."""
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, DIMENSION)


@dataclass(frozen=True)
class Build:
    """A registered version of the index."""

    version: int
    interval: str
    run_id: str
    created_at: datetime
    fingerprint: str
    model_id: str
    rows: int
    documents: int
    embedded: int
    reused: int
    stats: dict[str, Any]
    gate: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Build:
        return cls(
            version=int(row["version"]),
            interval=row["interval"] or "",
            run_id=row["run_id"] or "",
            created_at=row["created_at"],
            fingerprint=row["fingerprint"] or "",
            model_id=row["model_id"] or "",
            rows=int(row["rows"] or 0),
            documents=int(row["documents"] or 0),
            embedded=int(row["embedded"] or 0),
            reused=int(row["reused"] or 0),
            stats=json.loads(row["stats"] or "{}"),
            gate=json.loads(row["gate"]) if row["gate"] else None,
        )


@dataclass(frozen=True)
class Alias:
    version: int | None
    previous: int | None
    updated_at: datetime | None
    reason: str


class NoLiveIndex(LookupError):
    """Search or rollback asked for a live version before any was promoted."""


class ManualIndex:
    """Versions, alias and audit log of the manual search index."""

    def __init__(self, settings: Settings | None = None) -> None:
        import lancedb

        self.settings = settings or get_settings()
        uri = self.settings.search_index_uri
        options = self.settings.storage_options if "://" in uri else None
        self.db = lancedb.connect(uri, storage_options=options or None)

    # --- small tables ------------------------------------------------------------------

    def _table(self, name: str, schema: pa.Schema) -> Any:
        try:
            return self.db.open_table(name)
        except (FileNotFoundError, ValueError):
            return self.db.create_table(name, schema=schema, exist_ok=True)

    def _table_names(self) -> list[str]:
        names: list[str] = []
        token = None
        while True:  # list_tables pages its answer
            page = self.db.list_tables(page_token=token)
            names.extend(page.tables)
            token = page.page_token
            if not token:
                return names

    # --- versions ------------------------------------------------------------------------

    def builds(self) -> list[Build]:
        """Every registered version, oldest first."""
        rows = self._table("index_builds", BUILD_SCHEMA).to_arrow().to_pylist()
        return sorted((Build.from_row(r) for r in rows), key=lambda b: b.version)

    def build(self, version: int) -> Build:
        for b in self.builds():
            if b.version == version:
                return b
        raise KeyError(f"no index version {version}")

    def find_build(self, fingerprint: str, model_id: str) -> Build | None:
        """A kept version with exactly this corpus (same chunk ids) and model, if any."""
        names = set(self._table_names())
        for b in reversed(self.builds()):
            if (
                b.fingerprint == fingerprint
                and b.model_id == model_id
                and version_table(b.version) in names
            ):
                return b
        return None

    def next_version(self) -> int:
        used = [b.version for b in self.builds()]
        for name in self._table_names():
            m = _VERSION_TABLE.match(name)
            if m:
                used.append(int(m.group(1)))
        return max(used, default=0) + 1

    def write_version(self, version: int, rows: pa.Table, build: dict[str, Any]) -> Build:
        """Write the whole table of a new version, then register it (in that order)."""
        table = rows.select(CHUNK_SCHEMA.names).cast(CHUNK_SCHEMA)
        self.db.create_table(version_table(version), data=table, mode="overwrite")
        record = {
            "version": version,
            "created_at": datetime.now(UTC),
            "rows": table.num_rows,
            **{k: build[k] for k in ("interval", "run_id", "fingerprint", "model_id")},
            **{k: int(build[k]) for k in ("documents", "embedded", "reused")},
            "stats": json.dumps(build.get("stats", {}), sort_keys=True, default=str),
            "gate": None,
        }
        self._table("index_builds", BUILD_SCHEMA).add(
            pa.Table.from_pylist([record], schema=BUILD_SCHEMA)
        )
        return Build.from_row(record)

    def record_gate(self, version: int, decision: dict[str, Any], run_id: str = "") -> None:
        """Store the gate decision on the version and in the audit log."""
        payload = json.dumps(decision, sort_keys=True, default=str)
        builds = self._table("index_builds", BUILD_SCHEMA)
        builds.update(where=f"version = {int(version)}", values={"gate": payload})
        action = "gate_passed" if decision.get("passed") else "gate_failed"
        self.log_event(action, version=version, run_id=run_id, details=decision)

    def open_version(self, version: int) -> Any:
        """The LanceDB table of one version (read it, never write it)."""
        return self.db.open_table(version_table(version))

    def version_vectors(self, version: int) -> tuple[list[str], np.ndarray]:
        """Chunk ids and their vectors of one version."""
        data = self.open_version(version).to_arrow().select(["chunk_id", "vector"])
        vectors = data.column("vector").combine_chunks().flatten().to_numpy()
        return data.column("chunk_id").to_pylist(), vectors.reshape(-1, DIMENSION)

    # --- alias ---------------------------------------------------------------------------

    def alias(self, name: str = LIVE) -> Alias:
        table = self._table("index_alias", ALIAS_SCHEMA)
        rows = table.search().where(f"alias = '{name}'").to_arrow().to_pylist()
        if not rows:
            return Alias(None, None, None, "")
        row = rows[0]
        return Alias(row["version"], row["previous"], row["updated_at"], row["reason"] or "")

    def live_version(self) -> int | None:
        return self.alias(LIVE).version

    def set_alias(
        self,
        version: int,
        *,
        reason: str,
        run_id: str = "",
        name: str = LIVE,
        action: str = "promote",
        previous: int | None = None,
    ) -> Alias:
        """Point ``name`` at ``version`` in one commit; the old target becomes ``previous``."""
        if version_table(version) not in set(self._table_names()):
            raise KeyError(f"index version {version} is not kept (cleaned or never built)")
        current = self.alias(name)
        if previous is None:
            previous = current.version if current.version != version else current.previous
        updated_at = datetime.now(UTC)
        row = {
            "alias": name,
            "version": version,
            "previous": previous,
            "updated_at": updated_at,
            "reason": reason,
        }
        table = self._table("index_alias", ALIAS_SCHEMA)
        (
            table.merge_insert("alias")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(pa.Table.from_pylist([row], schema=ALIAS_SCHEMA))
        )
        self.log_event(
            action,
            version=version,
            previous=current.version,
            run_id=run_id,
            details={"alias": name, "reason": reason},
        )
        return Alias(version, previous, updated_at, reason)

    # --- audit ---------------------------------------------------------------------------

    def log_event(
        self,
        action: str,
        *,
        version: int | None = None,
        previous: int | None = None,
        run_id: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        row = {
            "at": datetime.now(UTC),
            "action": action,
            "version": version,
            "previous": previous,
            "run_id": run_id,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        }
        self._table("index_events", EVENT_SCHEMA).add(
            pa.Table.from_pylist([row], schema=EVENT_SCHEMA)
        )

    def events(self) -> list[dict[str, Any]]:
        rows = self._table("index_events", EVENT_SCHEMA).to_arrow().to_pylist()
        for row in rows:
            row["details"] = json.loads(row["details"] or "{}")
        return sorted(rows, key=lambda r: r["at"])

    # --- retention -----------------------------------------------------------------------

    def clean(self, keep: int) -> list[int]:
        """Drop versions beyond the newest ``keep`` (never live or its rollback target).

        Also drops tables of builds that never registered (a killed build). Returns the
        versions dropped.
        """
        alias = self.alias(LIVE)
        protected = {v for v in (alias.version, alias.previous) if v is not None}
        registered = [b.version for b in self.builds()]
        kept = set(sorted(registered)[-keep:]) | protected if keep > 0 else protected
        dropped = []
        for name in self._table_names():
            m = _VERSION_TABLE.match(name)
            if m and int(m.group(1)) not in kept:
                self.db.drop_table(name)
                dropped.append(int(m.group(1)))
        if dropped:
            self.log_event("clean", details={"dropped": sorted(dropped), "keep": keep})
        return sorted(dropped)

    def kept_versions(self) -> list[int]:
        found = (_VERSION_TABLE.match(n) for n in self._table_names())
        return sorted(int(m.group(1)) for m in found if m)
