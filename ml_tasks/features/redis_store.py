"""A Feast Redis online store that also replaces values written at the same timestamp.

Feast's Redis store already skips writes older than the stored value, so a backfill never
overwrites newer online values; but it also skips a rewrite at the *same* timestamp, so
recomputing an interval after late data arrived would leave stale values online. This store
applies the rule of :mod:`ml_tasks.features.sqlite_store`: newer wins, the same timestamp
replaces, older is skipped. Layout and reads are Feast's own, unchanged.

Needs the ``redis`` client package. Selected in ``feature_store.yaml`` by class path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from feast.feature_view import FeatureView
from feast.infra.online_stores.helpers import _mmh3, _redis_key
from feast.infra.online_stores.redis import RedisOnlineStore, RedisOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.utils import make_tzaware
from google.protobuf.timestamp_pb2 import Timestamp

Rows = Sequence[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]]

REDIS_TYPE = "ml_tasks.features.redis_store.GuardedRedisOnlineStore"


class GuardedRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    """Feast's Redis online store settings; only the type differs."""

    type: Literal["ml_tasks.features.redis_store.GuardedRedisOnlineStore"] = REDIS_TYPE  # type: ignore[assignment]


def _nanos(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


class GuardedRedisOnlineStore(RedisOnlineStore):
    """Redis online store that also replaces values written at the same timestamp.

    Layout and reads are Feast's: one hash per entity, a ``_ts:<view>`` field per feature view.
    Like Feast's store it reads the stored timestamps in one pipeline and writes in a second, so
    two concurrent writers of the same entity could interleave; the features DAG runs one
    materialization at a time (``max_active_runs=1``).
    """

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: Rows,
        progress: Callable[[int], Any] | None,
    ) -> None:
        store = config.online_store
        client = self._get_client(store)
        view = table.name
        if config.registry.enable_online_feature_view_versioning:
            raise NotImplementedError("the guarded Redis store does not version feature views")
        ts_field = f"_ts:{view}"
        version = config.entity_key_serialization_version
        keys = [
            _redis_key(config.project, ek, entity_key_serialization_version=version)
            for ek, *_ in data
        ]
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, ts_field)
            stored = pipe.execute()
        newest: dict[bytes, int] = {}
        for key, previous in zip(keys, stored, strict=True):
            if previous:
                prev = Timestamp()
                prev.ParseFromString(previous)
                newest[key] = _nanos(prev)
        with client.pipeline(transaction=False) as pipe:
            for key, (_, values, timestamp, _) in zip(keys, data, strict=True):
                ts = Timestamp()
                ts.FromDatetime(make_tzaware(timestamp))
                if _nanos(ts) < newest.get(key, 0):
                    continue  # an older value (a backfill): the newer one online stays
                newest[key] = _nanos(ts)
                mapping: dict[Any, bytes] = {ts_field: ts.SerializeToString()}
                for feature, value in values.items():
                    mapping[_mmh3(f"{view}:{feature}")] = value.SerializeToString()
                pipe.hset(key, mapping=mapping)
                if store.key_ttl_seconds:
                    pipe.expire(name=key, time=store.key_ttl_seconds)
            pipe.execute()
        if progress:
            progress(len(data))
