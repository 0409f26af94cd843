"""Online feature reads for one or many machines (the serving path).

:class:`OnlineFeatureReader` resolves the feature service once, then serves lookups straight
from the online store in Feast's own layout: on SQLite one ``UNION ALL`` query over the service's
view tables, on Redis one ``HMGET`` per machine in a single pipeline. Values are decoded from
Feast's ``Value`` protos exactly as Feast does; ``fast=False`` (and every store other than these
two) goes through Feast's ``get_online_features`` instead, and the tests hold the fast path to the
same answers. Why a fast path at all: Feast's generic response assembly costs several times the
storage lookup itself (``bench/features.py`` prints both beside a raw lookup).

A machine the online store has never seen comes back as ``None`` ("not found"), never as an
exception. Like Feast's online reads, values are the latest materialized, whatever their age.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ml_tasks.features.store import FEATURE_SERVICE, get_store
from ml_tasks.settings import Settings, get_settings

ENTITY = "machine_id"


class OnlineStoreUnavailable(RuntimeError):
    """The online store has not been created yet (nothing materialized) or cannot be reached."""


_DOUBLE = struct.Struct("<d")
# Protobuf wire tags of ``feast.types.Value``'s scalar fields (field number << 3 | wire type).
_TAG_DOUBLE, _TAG_INT64, _TAG_STRING = 0x29, 0x20, 0x12


def decode_value(raw: bytes, parse: Any, fallback: Any) -> Any:
    """A serialized Feast ``Value`` -> Python, like ``feast_value_type_to_python_type``.

    Doubles, non-negative int64s and short strings (all but a few of the values served) are
    read straight off the protobuf wire format; anything else is parsed by protobuf. The unit
    tests check both paths against protobuf on edge cases.
    """
    if not raw:
        return None  # an empty Value: null
    tag = raw[0]
    if tag == _TAG_DOUBLE and len(raw) == 9:
        return _DOUBLE.unpack_from(raw, 1)[0]
    if tag == _TAG_INT64 and len(raw) <= 10 and raw[-1] < 0x80:
        result = shift = 0
        for byte in raw[1:]:
            result |= (byte & 0x7F) << shift
            shift += 7
        if result < 1 << 63:
            return result
    elif tag == _TAG_STRING and len(raw) > 1 and raw[1] < 0x80 and len(raw) == raw[1] + 2:
        return raw[2:].decode()
    value = parse(raw)
    kind = value.WhichOneof("val")
    if kind is None or kind == "null_val":
        return None
    if kind in ("double_val", "int64_val", "string_val", "float_val", "int32_val", "bool_val"):
        return getattr(value, kind)
    return fallback(value)


class _SqliteLookup:
    """Reads Feast's SQLite online tables (one row per entity and feature) in one query."""

    def __init__(self, path: str, tables: list[str]) -> None:
        if not Path(path).exists():
            raise OnlineStoreUnavailable(
                f"no online store at {path}: materialize features first "
                "(python -m ml_tasks features materialize --start ... --end ...)"
            )
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._tables = tables
        self._sql: dict[int, str] = {}

    def _query(self, n: int) -> str:
        if n not in self._sql:
            marks = ", ".join("?" * n)
            self._sql[n] = " UNION ALL ".join(
                f'SELECT entity_key, feature_name, value FROM "{t}" WHERE entity_key IN ({marks})'
                for t in self._tables
            )
        return self._sql[n]

    def read(self, keys: list[bytes]) -> dict[bytes, dict[str, bytes]]:
        found: dict[bytes, dict[str, bytes]] = {}
        for key, feature, value in self._con.execute(
            self._query(len(keys)), keys * len(self._tables)
        ):
            found.setdefault(key, {})[feature] = value
        return found


class _RedisLookup:
    """Reads Feast's Redis layout (one hash per entity, a field per view and feature)."""

    def __init__(self, client: Any, project: str, features: list[tuple[str, str]]) -> None:
        from feast.infra.online_stores.helpers import _mmh3

        self._client = client
        self._project = project.encode()
        self._fields = [_mmh3(f"{view}:{feature}") for view, feature in features]
        self._names = [feature for _, feature in features]

    def read(self, keys: list[bytes]) -> dict[bytes, dict[str, bytes]]:
        with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key + self._project, self._fields)
            replies = pipe.execute()
        found: dict[bytes, dict[str, bytes]] = {}
        for key, values in zip(keys, replies, strict=True):
            row = {name: v for name, v in zip(self._names, values, strict=True) if v is not None}
            if row:
                found[key] = row
        return found


class OnlineFeatureReader:
    """Reads the feature service's features for machine ids from the online store."""

    def __init__(self, store: Any, feature_service: str = FEATURE_SERVICE, *, fast: bool = True):
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.type_map import feast_value_type_to_python_type

        self.store = store
        self.feature_service = feature_service
        from feast.errors import FeatureServiceNotFoundException

        try:
            self.service = store.get_feature_service(feature_service)
        except FeatureServiceNotFoundException as err:
            raise OnlineStoreUnavailable(
                f"feature service {feature_service} is not registered: materialize features first "
                "(python -m ml_tasks features materialize --start ... --end ...)"
            ) from err
        self._entity_key, self._value, self._serialize = EntityKey, Value, serialize_entity_key
        self._fallback = feast_value_type_to_python_type
        self._version = store.config.entity_key_serialization_version
        projections = self.service.feature_view_projections
        self.features = [(p.name, f.name) for p in projections for f in p.features]
        self.feature_names = [name for _, name in self.features]
        self._lookup = self._make_lookup() if fast else None

    def _make_lookup(self) -> _SqliteLookup | _RedisLookup | None:
        config = self.store.config
        kind = type(self.store._get_provider().online_store).__name__
        if config.registry.enable_online_feature_view_versioning:
            return None
        if kind.endswith("SqliteOnlineStore"):
            from feast.infra.online_stores.sqlite import SqliteOnlineStore

            views = list(dict.fromkeys(view for view, _ in self.features))
            path = SqliteOnlineStore._get_db_path(config)
            return _SqliteLookup(path, [f"{config.project}_{view}" for view in views])
        if kind.endswith("RedisOnlineStore"):
            online = self.store._get_provider().online_store
            return _RedisLookup(
                online._get_client(config.online_store), config.project, self.features
            )
        return None

    @property
    def fast(self) -> bool:
        return self._lookup is not None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, fast: bool = True):
        return cls(get_store(settings or get_settings()), fast=fast)

    def get(self, machine_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Features per machine id, in request order; ``None`` for a machine not online."""
        ids = list(dict.fromkeys(str(m).strip() for m in machine_ids))
        if not ids or any(not m for m in ids):
            raise ValueError("machine ids must be non-empty strings")
        if self._lookup is None:
            return self._get_with_feast(ids)
        keys = [
            self._serialize(
                self._entity_key(join_keys=[ENTITY], entity_values=[self._value(string_val=m)]),
                entity_key_serialization_version=self._version,
            )
            for m in ids
        ]
        rows = self._lookup.read(keys)
        parse, fallback, unpack = self._value.FromString, self._fallback, _DOUBLE.unpack_from
        out: dict[str, dict[str, Any] | None] = {}
        for machine, key in zip(ids, keys, strict=True):
            row = rows.get(key)
            if row is None:
                out[machine] = None
                continue
            features: dict[str, Any] = {}
            for name in self.feature_names:
                raw = row.get(name)
                if raw is None:
                    features[name] = None
                elif len(raw) == 9 and raw[0] == _TAG_DOUBLE:
                    features[name] = unpack(raw, 1)[0]  # most values: inline, no call
                else:
                    features[name] = decode_value(raw, parse, fallback)
            out[machine] = features
        return out

    def _get_with_feast(self, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        response = self.store.get_online_features(
            features=self.service, entity_rows=[{ENTITY: m} for m in ids]
        )
        columns = response.to_dict()
        out: dict[str, dict[str, Any] | None] = {}
        for row, machine in enumerate(ids):
            features = {name: columns[name][row] for name in self.feature_names}
            # Feast's Redis store answers an unknown entity with empty values rather than a
            # NOT_FOUND status, so "found" means: some feature has a value.
            found = any(value is not None for value in features.values())
            out[machine] = features if found else None
        return out

    def get_one(self, machine_id: str) -> dict[str, Any] | None:
        """Features of one machine, ``None`` when it is not in the online store."""
        return self.get([machine_id])[machine_id]


@lru_cache(maxsize=4)
def _reader(feature_repo: str, online_store: str, redis_url: str | None) -> OnlineFeatureReader:
    return OnlineFeatureReader.from_settings(get_settings())


def get_online_features(
    machine_ids: str | Sequence[str], *, settings: Settings | None = None
) -> dict[str, dict[str, Any] | None]:
    """Online features of one or many machines: ``{machine_id: {feature: value} | None}``.

    Without explicit settings the reader is created once per configuration and reused.
    """
    ids = [machine_ids] if isinstance(machine_ids, str) else list(machine_ids)
    if settings is not None:
        return OnlineFeatureReader.from_settings(settings).get(ids)
    s = get_settings()
    return _reader(str(s.feature_repo_dir), s.online_store, s.redis_url).get(ids)
