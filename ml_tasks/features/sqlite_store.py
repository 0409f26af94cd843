"""A Feast SQLite online store that never lets an older value overwrite a newer one.

Materializing an old interval (a backfill) after a newer one must leave the newer online values
in place, but Feast's SQLite store overwrites unconditionally. This one writes a row only when its
event timestamp is at least the stored one: newer wins, the same timestamp replaces (a recomputed
interval after late data), older is skipped. Reads are Feast's own, unchanged.

Selected in ``feature_store.yaml`` by class path (``ml_tasks.features.store`` renders it). This
module imports Feast: import it only where Feast is needed (never from a DAG file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from feast.feature_view import FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.sqlite import (
    SqliteOnlineStore,
    SqliteOnlineStoreConfig,
    _quote_id,
    _table_id,
)
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.utils import to_naive_utc

Rows = Sequence[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]]

SQLITE_TYPE = "ml_tasks.features.sqlite_store.GuardedSqliteOnlineStore"


class GuardedSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Feast's SQLite online store settings; only the type differs."""

    type: Literal["ml_tasks.features.sqlite_store.GuardedSqliteOnlineStore"] = SQLITE_TYPE  # type: ignore[assignment]


class GuardedSqliteOnlineStore(SqliteOnlineStore):
    """SQLite online store whose upsert only replaces a row with one at least as new.

    The timestamp check runs inside SQLite (``ON CONFLICT ... DO UPDATE ... WHERE``), so it holds
    for concurrent writers too; the whole batch is one transaction and one ``executemany``.
    """

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: Rows,
        progress: Callable[[int], Any] | None,
    ) -> None:
        store = config.online_store
        if store.vector_enabled or getattr(store, "enable_openai_compatible_store", False):
            raise NotImplementedError("the guarded SQLite store does not write vector columns")
        conn = self._get_conn(config)
        name = _quote_id(
            _table_id(config.project, table, config.registry.enable_online_feature_view_versioning)
        )
        # Same columns and value encoding as Feast's store, so Feast's reads are unchanged.
        sql = (
            f"INSERT INTO {name}"
            " (entity_key, feature_name, value, value_text, event_ts, created_ts)"
            " VALUES (?, ?, ?, NULL, ?, ?)"
            " ON CONFLICT(entity_key, feature_name) DO UPDATE SET"
            " value = excluded.value, value_text = NULL, event_ts = excluded.event_ts,"
            f" created_ts = excluded.created_ts WHERE excluded.event_ts >= {name}.event_ts"
        )
        version = config.entity_key_serialization_version
        rows: list[tuple[bytes, str, bytes, datetime, datetime | None]] = []
        for entity_key, values, timestamp, created_ts in data:
            key = serialize_entity_key(entity_key, entity_key_serialization_version=version)
            ts = to_naive_utc(timestamp)
            created = to_naive_utc(created_ts) if created_ts is not None else None
            rows.extend(
                (key, feature, value.SerializeToString(), ts, created)
                for feature, value in values.items()
            )
        with conn:
            conn.executemany(sql, rows)
        if progress:
            progress(len(data))
