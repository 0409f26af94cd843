"""Online feature reads for one or many machines (the serving path and ``features get``).

:class:`OnlineFeatureReader` serves lookups straight from the online store in Feast's own
layout: on SQLite one ``UNION ALL`` query over the service's view tables, on Redis one ``HMGET``
per machine in a single pipeline, with entity keys serialized and values decoded exactly as
Feast does. ``fast=False`` (and every store other than these two) goes through Feast's
``get_online_features`` instead, and the tests hold the fast path to the same answers. Why a fast
path at all: Feast's generic response assembly costs several times the storage lookup itself
(``bench/features.py`` prints both beside a raw lookup).

Without Feast: which views and features the service serves is recorded in the feature repo's
``online_layout.json`` (:mod:`ml_tasks.features.online_layout`) whenever the definitions are
applied (:func:`ml_tasks.features.store.apply_definitions`).
:meth:`OnlineFeatureReader.from_settings` reads it and the store directly, so a reader
(``python -m ml_tasks features get``) never imports Feast, which costs seconds (it imports
torch); without the file it asks Feast's registry.

A machine the online store has never seen comes back as ``None`` ("not found"), never as an
exception. Like Feast's online reads, values are the latest materialized, whatever their age.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ml_tasks.features.online_layout import (
    OnlineLayout,
    OnlineStoreUnavailable,
)
from ml_tasks.features.store import (
    FEATURE_SERVICE,
    REDIS_STORE,
    SQLITE_STORE,
    get_store,
    render_config,
)
from ml_tasks.settings import Settings, get_settings

ENTITY = "machine_id"
# feast.value_type.ValueType.STRING, the type tag of a string join key and of its value.
_STRING = 2


_DOUBLE = struct.Struct("<d")
# Raw rows of a lookup: entity key -> feature name -> serialized value.
_Rows = dict[bytes, dict[str, bytes]]
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

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes whenever another connection commits to the
        file (a materialization), so a result read under the same value is still exact."""
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def read_stamped(self, keys: list[bytes]) -> tuple[_Rows, dict[bytes, float]]:
        """Like :meth:`read`, plus each entity's newest ``event_ts`` (epoch seconds)."""
        n = len(keys)
        if -n not in self._sql:  # the stamped query of n keys (negative: apart from read's)
            marks = ", ".join("?" * n)
            self._sql[-n] = " UNION ALL ".join(
                f'SELECT entity_key, feature_name, value, event_ts FROM "{t}" '
                f"WHERE entity_key IN ({marks})"
                for t in self._tables
            )
        found: _Rows = {}
        stamps: dict[bytes, float] = {}
        for key, feature, value, event_ts in self._con.execute(
            self._sql[-n], keys * len(self._tables)
        ):
            found.setdefault(key, {})[feature] = value
            ts = _epoch_seconds(event_ts)
            if ts is not None and ts > stamps.get(key, float("-inf")):
                stamps[key] = ts
        return found, stamps


def _mmh3(key: str) -> bytes:
    """Feast's Redis field name of ``view:feature``: murmur3_32, little-endian (its ``_mmh3``)."""
    import mmh3

    return struct.pack("<I", mmh3.hash(key, signed=False))


def entity_key(machine_id: str, version: int = 3) -> bytes:
    """Feast's serialized entity key of one string join key (``serialize_entity_key``, v3).

    Count of keys, then per key its type, length and name, then per value its type, length and
    bytes, all little-endian uint32; the tests compare it with Feast's own on many ids.
    """
    if version != 3:
        raise ValueError(f"entity key serialization version {version}: only 3 is supported")
    name, value = ENTITY.encode(), machine_id.encode()
    return b"".join(
        (
            struct.pack("<III", 1, _STRING, len(name)),
            name,
            struct.pack("<II", _STRING, len(value)),
            value,
        )
    )


def _parse_value(raw: bytes) -> Any:
    from feast.protos.feast.types.Value_pb2 import Value

    return Value.FromString(raw)


def _python_value(value: Any) -> Any:
    from feast.type_map import feast_value_type_to_python_type

    return feast_value_type_to_python_type(value)


class _RedisLookup:
    """Reads Feast's Redis layout (one hash per entity, a field per view and feature)."""

    def __init__(self, client: Any, project: str, features: Sequence[tuple[str, str]]) -> None:
        self._client = client
        self._project = project.encode()
        self._fields = [_mmh3(f"{view}:{feature}") for view, feature in features]
        self._names = [feature for _, feature in features]
        # Feast writes each view's event time beside its values, unhashed: ``_ts:<view>``.
        self._ts_fields = [f"_ts:{view}".encode() for view in dict.fromkeys(v for v, _ in features)]

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

    def read_stamped(self, keys: list[bytes]) -> tuple[_Rows, dict[bytes, float]]:
        """Like :meth:`read`, plus each entity's newest view timestamp (epoch seconds)."""
        fields = self._fields + self._ts_fields
        width = len(self._fields)
        with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key + self._project, fields)
            replies = pipe.execute()
        found: _Rows = {}
        stamps: dict[bytes, float] = {}
        for key, values in zip(keys, replies, strict=True):
            row = {
                name: v
                for name, v in zip(self._names, values[:width], strict=True)
                if v is not None
            }
            if row:
                found[key] = row
                seen = [_timestamp_seconds(v) for v in values[width:] if v]
                if seen:
                    stamps[key] = max(seen)
        return found, stamps


def _epoch_seconds(value: Any) -> float | None:
    """Feast's SQLite ``event_ts`` (epoch seconds; an ISO string in older stores) -> seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    from datetime import UTC, datetime

    stamp = datetime.fromisoformat(str(value))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _timestamp_seconds(raw: bytes) -> float:
    """A serialized ``google.protobuf.Timestamp`` (seconds: field 1, nanos: field 2) -> seconds."""
    fields = {1: 0, 2: 0}
    i = 0
    while i < len(raw):
        tag = raw[i]
        i += 1
        value = shift = 0
        while True:
            byte = raw[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        fields[tag >> 3] = value
    return fields[1] + fields[2] / 1e9


def _sqlite_lookup(layout: OnlineLayout, path: str) -> _SqliteLookup:
    views = list(dict.fromkeys(view for view, _ in layout.features))
    return _SqliteLookup(path, [f"{layout.project}_{view}" for view in views])


def _direct_lookup(settings: Settings, layout: OnlineLayout) -> _SqliteLookup | _RedisLookup | None:
    """A lookup on the settings' online store without Feast (None: only Feast can read it)."""
    online = render_config(settings)["online_store"]  # the store feature_store.yaml names
    if online["type"] == SQLITE_STORE:
        return _sqlite_lookup(layout, online["path"])
    if online["type"] == REDIS_STORE and settings.redis_url and "://" in settings.redis_url:
        import redis

        # Timeouts: a hung Redis must fail a read (the gateway answers 503 and recovers)
        # instead of blocking the caller, and the gateway's event loop with it, forever.
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        return _RedisLookup(client, layout.project, layout.features)
    return None  # e.g. Feast's own connection-string form: Feast connects


class OnlineFeatureReader:
    """Reads the feature service's features for machine ids from the online store.

    Build with :meth:`from_settings`; ``store`` is the Feast store where one was opened (the
    ``fast=False`` path and stores without a direct lookup), else None.
    """

    def __init__(
        self,
        layout: OnlineLayout,
        lookup: _SqliteLookup | _RedisLookup | None,
        store: Any = None,
        *,
        cache_entries: int = 0,
    ) -> None:
        if lookup is None and store is None:
            raise ValueError("a reader needs a direct lookup or a Feast store")
        self.layout = layout
        self.feature_service = layout.feature_service
        self.features = list(layout.features)
        self.feature_names = [name for _, name in self.features]
        self.store = store
        self._lookup = lookup
        self._version = layout.entity_key_serialization_version
        # Decoded rows per machine, each with the store's data version it was read under (see
        # get_stamped); only for a store that reports one (SQLite), and only when asked.
        self._cache_entries = cache_entries if isinstance(lookup, _SqliteLookup) else 0
        self._cache: dict[str, tuple[int, dict[str, Any], datetime | None]] = {}

    @classmethod
    def from_store(
        cls, store: Any, feature_service: str = FEATURE_SERVICE, *, fast: bool = True
    ) -> OnlineFeatureReader:
        """A reader on an open Feast store (the registry resolves the service)."""
        layout = OnlineLayout.from_store(store, feature_service)
        return cls(layout, _feast_lookup(store, layout) if fast else None, store)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, fast: bool = True, cache_entries: int = 0
    ) -> OnlineFeatureReader:
        """The recorded layout and the store read directly (no Feast import) where possible.

        ``cache_entries`` > 0 keeps that many machines' decoded rows between calls on a SQLite
        store (the gateway's hot path; see :meth:`get_stamped`).
        """
        s = settings or get_settings()
        if fast:
            try:
                layout = OnlineLayout.load(s, FEATURE_SERVICE)
            except (OSError, ValueError, KeyError, TypeError):
                layout = None
            lookup = _direct_lookup(s, layout) if layout is not None else None
            if layout is not None and lookup is not None:
                return cls(layout, lookup, cache_entries=cache_entries)
        return cls.from_store(get_store(s), fast=fast)

    @property
    def fast(self) -> bool:
        return self._lookup is not None

    def entity_key(self, machine_id: str) -> bytes:
        """The machine's key in the online store (Feast's serialization)."""
        return entity_key(machine_id, self._version)

    def get(self, machine_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Features per machine id, in request order; ``None`` for a machine not online."""
        ids = list(dict.fromkeys(str(m).strip() for m in machine_ids))
        if not ids or any(not m for m in ids):
            raise ValueError("machine ids must be non-empty strings")
        if self._lookup is None:
            return self._get_with_feast(ids)
        keys = [entity_key(m, self._version) for m in ids]
        rows = self._lookup.read(keys)
        unpack = _DOUBLE.unpack_from
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
                    features[name] = decode_value(raw, _parse_value, _python_value)
            out[machine] = features
        return out

    def get_stamped(
        self, machine_ids: Sequence[str]
    ) -> dict[str, tuple[dict[str, Any] | None, datetime | None]]:
        """Like :meth:`get`, with each machine's feature timestamp: the newest event time among
        the service's views (None when unknown, e.g. through Feast's read path)."""
        ids = list(dict.fromkeys(str(m).strip() for m in machine_ids))
        if not ids or any(not m for m in ids):
            raise ValueError("machine ids must be non-empty strings")
        if self._lookup is None:
            return {m: (f, None) for m, f in self._get_with_feast(ids).items()}
        out: dict[str, tuple[dict[str, Any] | None, datetime | None]] = {}
        version = -1
        if self._cache_entries:
            # Exact, not time-based: a row read under the store's current data version is what
            # a read now would return; any commit (a materialization) changes the version.
            # Callers must not mutate the returned dicts (they are shared).
            version = self._lookup.data_version()  # type: ignore[union-attr]
            for machine in ids:
                hit = self._cache.get(machine)
                if hit is not None and hit[0] == version:
                    out[machine] = (hit[1], hit[2])
            if len(out) == len(ids):
                return out
        todo = [m for m in ids if m not in out]
        keys = [entity_key(m, self._version) for m in todo]
        rows, stamps = self._lookup.read_stamped(keys)
        for machine, key in zip(todo, keys, strict=True):
            row = rows.get(key)
            if row is None:
                out[machine] = (None, None)
                continue
            ts = stamps.get(key)
            features = self._decode(row)
            stamp = None if ts is None else datetime.fromtimestamp(ts, UTC)
            out[machine] = (features, stamp)
            if self._cache_entries:
                if len(self._cache) >= self._cache_entries:
                    self._cache.clear()  # bounded; refills from the store
                self._cache[machine] = (version, features, stamp)
        return {m: out[m] for m in ids}  # request order

    def _decode(self, row: dict[str, bytes]) -> dict[str, Any]:
        unpack = _DOUBLE.unpack_from
        features: dict[str, Any] = {}
        for name in self.feature_names:
            raw = row.get(name)
            if raw is None:
                features[name] = None
            elif len(raw) == 9 and raw[0] == _TAG_DOUBLE:
                features[name] = unpack(raw, 1)[0]
            else:
                features[name] = decode_value(raw, _parse_value, _python_value)
        return features

    def _get_with_feast(self, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        response = self.store.get_online_features(
            features=self.store.get_feature_service(self.feature_service),
            entity_rows=[{ENTITY: m} for m in ids],
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


def _feast_lookup(store: Any, layout: OnlineLayout) -> _SqliteLookup | _RedisLookup | None:
    """A direct lookup on an open Feast store's online store (None: read through Feast)."""
    config = store.config
    online = store._get_provider().online_store
    kind = type(online).__name__
    if config.registry.enable_online_feature_view_versioning:
        return None
    if kind.endswith("SqliteOnlineStore"):
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        return _sqlite_lookup(layout, SqliteOnlineStore._get_db_path(config))
    if kind.endswith("RedisOnlineStore"):
        return _RedisLookup(
            online._get_client(config.online_store), layout.project, layout.features
        )
    return None


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
