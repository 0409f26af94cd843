"""Feast wiring: ``feature_store.yaml`` from the settings, the definitions, apply, materialize.

- :func:`render_config` / :func:`write_feature_store_yaml`: the embedded default is a file
  registry, the guarded SQLite online store and parquet files under ``PLATFORM_HOME`` read by
  Feast's DuckDB offline store; with ``PLATFORM_REDIS_URL`` (production) the online store is the
  guarded Redis store, and ``PLATFORM_OFFLINE_STORE_URI`` / ``PLATFORM_FEAST_REGISTRY`` move the
  offline files and the registry to object storage (or the registry to Postgres).
  ``PLATFORM_OFFLINE_ENGINE=ray`` selects Feast's Ray offline store on the cluster at
  ``RAY_ADDRESS`` instead of DuckDB (the scale path).
- :func:`load_definitions`: imports ``include/feature_repo`` afresh and binds every file
  source's relative path to the offline store root.
- :func:`apply_definitions`: registers the definitions only when they differ from the registry
  (Feast's plan), so re-applying is a no-op that keeps the views' materialization intervals and
  lifecycle state (feast-dev/feast#2905).
- :func:`materialize`: loads whole days into the online store. The guarded online stores keep a
  newer value when an older interval is materialized after it (backfills).

Feast is imported inside the functions: importing this module is cheap and side-effect free.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ml_tasks.features.layout import (
    VIEWS,
    feature_rows,
    interval_bounds,
    missing_partitions,
    view_uri,
)
from ml_tasks.reachability import require_reachable
from ml_tasks.settings import REPO_ROOT, Settings, get_settings

PROJECT = "predictive_maintenance"
FEATURE_SERVICE = "failure_model_v1"
DEFINITIONS_DIR = REPO_ROOT / "include" / "feature_repo"
DEFINITION_MODULES = ("entities", "data_sources", "feature_views", "feature_services")
SQLITE_STORE = "ml_tasks.features.sqlite_store.GuardedSqliteOnlineStore"
REDIS_STORE = "ml_tasks.features.redis_store.GuardedRedisOnlineStore"
# Registry cache of long-lived readers (serving): new definitions show up within a minute.
REGISTRY_CACHE_TTL_S = 60
_PACKAGE = "_platform_feature_repo"

log = logging.getLogger(__name__)


class MissingFeatures(RuntimeError):
    """Materialization was asked for days whose offline partitions have not been computed."""


@contextlib.contextmanager
def offline_session() -> Generator[None, None, None]:
    """Around Feast offline-store calls (retrieval, materialization) on the DuckDB engine.

    Silences the deprecation warning ibis 12 raises on every result under duckdb 2
    (``fetch_arrow_table``: library internals), and closes ibis's default DuckDB connection
    afterwards: held in a global, it would outlive the call and its objects are reported as
    leaks by duckdb's bindings when the process exits.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*fetch_arrow_table", category=DeprecationWarning
        )
        try:
            yield
        finally:
            ibis = sys.modules.get("ibis")
            if ibis is not None and ibis.options.default_backend is not None:
                ibis.options.default_backend.disconnect()
                ibis.options.default_backend = None


def offline_store_config(settings: Settings) -> dict[str, Any]:
    """Feast's offline engine: DuckDB in-process by default, Ray on a cluster as the scale path.

    DuckDB runs the point-in-time join as one query over the parquet partitions (the 23-day x
    100-machine training set in seconds, see BENCHMARKS.md). The Ray store spreads the same join
    over the Ray cluster's workers and stages its results under the Ray storage path.
    """
    if settings.offline_engine == "duckdb":
        return {"type": "duckdb"}
    if settings.offline_engine == "ray":
        config: dict[str, Any] = {
            "type": "ray",
            "storage_path": f"{settings.ray_storage_path.rstrip('/')}/feast_staging",
        }
        if settings.ray_address:
            config["ray_address"] = settings.ray_address
        return config
    raise ValueError(f"PLATFORM_OFFLINE_ENGINE must be duckdb or ray: {settings.offline_engine}")


def redis_connection_string(url: str) -> str:
    """Feast's ``host:port,db=N,password=...,ssl=true`` form of a ``redis://`` URL.

    A value that is not a URL is taken to be in Feast's form already.
    """
    if "://" not in url:
        return url
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise ValueError(f"PLATFORM_REDIS_URL must be redis:// or rediss://, got {url!r}")
    parts = [f"{parsed.hostname or 'localhost'}:{parsed.port or 6379}"]
    db = parsed.path.strip("/")
    if db:
        parts.append(f"db={int(db)}")
    if parsed.password:
        parts.append(f"password={parsed.password}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


def render_config(settings: Settings) -> dict[str, Any]:
    """The content of ``feature_store.yaml`` for these settings."""
    if settings.online_store == "redis":
        if not settings.redis_url:
            raise ValueError("PLATFORM_ONLINE_STORE=redis needs PLATFORM_REDIS_URL")
        online: dict[str, Any] = {
            "type": REDIS_STORE,
            "connection_string": redis_connection_string(settings.redis_url),
        }
    elif settings.online_store == "sqlite":
        online = {"type": SQLITE_STORE, "path": str(settings.feature_repo_dir / "online_store.db")}
    else:
        raise ValueError(f"PLATFORM_ONLINE_STORE must be sqlite or redis: {settings.online_store}")
    registry: dict[str, Any] = {
        "registry_type": "sql" if settings.feast_registry.startswith("postgresql") else "file",
        "path": settings.feast_registry,
        "cache_ttl_seconds": REGISTRY_CACHE_TTL_S,
    }
    if registry["registry_type"] == "sql":
        # Servers sharing a SQL registry keep serving the last values while a view is being
        # materialized (feast-dev/feast#6780): materialization is routine here, not an outage.
        registry["serve_features_while_materializing"] = True
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": registry,
        "online_store": online,
        "offline_store": offline_store_config(settings),
        "entity_key_serialization_version": 3,
        "auth": {"type": "no_auth"},
    }


_HEADER = """\
# Rendered by ml_tasks.features.store from the platform settings: do not edit, it is rewritten.
# Definitions live in include/feature_repo; register them with `python -m ml_tasks features apply`.
# Feast's CLI works against this folder, e.g. `feast -c {repo} feature-views list`.
"""


def write_feature_store_yaml(settings: Settings) -> Path:
    """Render ``feature_store.yaml`` into the feature repo folder (rewritten only on change)."""
    import yaml

    repo = settings.feature_repo_dir
    path = repo / "feature_store.yaml"
    text = _HEADER.format(repo=repo) + yaml.safe_dump(render_config(settings), sort_keys=False)
    if path.exists() and path.read_text() == text:
        return path
    repo.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


@dataclass
class Definitions:
    """The Feast objects declared in ``include/feature_repo``."""

    projects: list[Any] = field(default_factory=list)
    entities: list[Any] = field(default_factory=list)
    data_sources: list[Any] = field(default_factory=list)
    feature_views: list[Any] = field(default_factory=list)
    feature_services: list[Any] = field(default_factory=list)

    def objects(self) -> list[Any]:
        return [
            *self.projects,
            *self.entities,
            *self.data_sources,
            *self.feature_views,
            *self.feature_services,
        ]

    def repo_contents(self) -> Any:
        from feast.repo_contents import RepoContents

        return RepoContents(
            projects=self.projects,
            data_sources=self.data_sources,
            entities=self.entities,
            feature_views=self.feature_views,
            feature_services=self.feature_services,
            on_demand_feature_views=[],
            stream_feature_views=[],
            label_views=[],
            permissions=[],
        )


def _import_fresh(directory: Path) -> list[Any]:
    """Import the repo's modules as a private package, discarding any earlier import."""
    for name in [m for m in sys.modules if m == _PACKAGE or m.startswith(f"{_PACKAGE}.")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        _PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec and spec.loader, f"no feature repo package in {directory}"
    package = importlib.util.module_from_spec(spec)
    sys.modules[_PACKAGE] = package
    spec.loader.exec_module(package)
    return [importlib.import_module(f"{_PACKAGE}.{name}") for name in DEFINITION_MODULES]


def offline_source_uri(settings: Settings, relative: str) -> str:
    """Absolute location of a file source declared relative to the offline store root."""
    if "://" in relative or relative.startswith("/"):
        return relative
    return view_uri(settings, relative)


def load_definitions(settings: Settings | None = None) -> Definitions:
    """Import the definitions and bind their file sources to the settings' offline root."""
    from feast import Entity, FeatureService, FeatureView, FileSource, Project

    s = settings or get_settings()
    found = Definitions()
    seen: set[int] = set()
    buckets = (
        (Project, found.projects),
        (Entity, found.entities),
        (FileSource, found.data_sources),
        (FeatureView, found.feature_views),
        (FeatureService, found.feature_services),
    )
    for module in _import_fresh(DEFINITIONS_DIR):
        for name in sorted(vars(module)):
            obj = getattr(module, name)
            for kind, bucket in buckets:
                if isinstance(obj, kind) and id(obj) not in seen:
                    seen.add(id(obj))
                    bucket.append(obj)
    endpoint = s.storage_options.get("AWS_ENDPOINT_URL")
    for source in found.data_sources:
        source.file_options.uri = offline_source_uri(s, source.file_options.uri)
        if endpoint and source.file_options.uri.startswith("s3://"):
            source.file_options.s3_endpoint_override = endpoint
    return found


def arrow_feature_types(feature_view: Any) -> dict[str, Any]:
    """Feature name -> Arrow type of a feature view's declared schema (entity columns left out)."""
    import pyarrow as pa
    from feast.value_type import ValueType

    types = {
        ValueType.DOUBLE: pa.float64(),
        ValueType.FLOAT: pa.float32(),
        ValueType.INT64: pa.int64(),
        ValueType.INT32: pa.int32(),
        ValueType.STRING: pa.string(),
        ValueType.BOOL: pa.bool_(),
    }
    out = {}
    for feature in feature_view.features:
        value_type = feature.dtype.to_value_type()
        if value_type not in types:
            raise TypeError(f"{feature_view.name}.{feature.name}: unsupported type {feature.dtype}")
        out[feature.name] = types[value_type]
    return out


def get_store(settings: Settings | None = None) -> Any:
    """A ``feast.FeatureStore`` on the rendered repo of these settings."""
    from feast import FeatureStore

    s = settings or get_settings()
    write_feature_store_yaml(s)
    return FeatureStore(repo_path=str(s.feature_repo_dir))


def _only_source_timestamps(diff: Any) -> bool:
    """True when a view "changed" only in its source's bookkeeping timestamps.

    Materialization rewrites a view in the registry, stamping its embedded data source with
    created/updated times that fresh definitions lack; that is not a change of definition.
    """
    if not diff.feast_object_property_diffs:
        return False
    for prop in diff.feast_object_property_diffs:
        if prop.property_name not in ("batch_source", "stream_source"):
            return False
        existing, declared = type(prop.val_existing)(), type(prop.val_declared)()
        existing.CopyFrom(prop.val_existing)
        declared.CopyFrom(prop.val_declared)
        for proto in (existing, declared):
            proto.meta.ClearField("created_timestamp")
            proto.meta.ClearField("last_updated_timestamp")
        if existing != declared:
            return False
    return True


def apply_definitions(settings: Settings | None = None, store: Any = None) -> dict[str, Any]:
    """Register the definitions if anything changed; a no-op (no registry write) otherwise.

    Objects removed from the repo are removed from the registry. Returns what changed.
    """
    from feast.diff.property_diff import TransitionType

    from ml_tasks.features.online_layout import write_layout

    s = settings or get_settings()
    store = store or get_store(s)
    definitions = load_definitions(s)
    registry_diff, infra_diff, new_infra = store.plan(definitions.repo_contents())
    changes = [
        {"type": d.feast_object_type.value, "name": d.name, "change": d.transition_type.name}
        for d in registry_diff.feast_object_diffs
        if d.transition_type not in (TransitionType.UNCHANGED, TransitionType.UNKNOWN)
        and d.name != "__dummy"
        and not _only_source_timestamps(d)
    ]
    infra_changes = [
        d.name
        for d in infra_diff.infra_object_diffs
        if d.transition_type not in (TransitionType.UNCHANGED, TransitionType.UNKNOWN)
    ]
    if not changes and not infra_changes:
        # Nothing to register. Still make sure the online tables exist (CREATE IF NOT EXISTS):
        # an online store that was wiped must not fail the next materialization.
        store._get_provider().update_infra(
            project=store.project,
            tables_to_delete=[],
            tables_to_keep=definitions.feature_views,
            entities_to_delete=[],
            entities_to_keep=definitions.entities,
            partial=True,
        )
        write_layout(store, s, (FEATURE_SERVICE,))
        return {"changed": False, "changes": [], "project": store.project}
    # What `feast apply` does: apply only the differences, then record the new infrastructure.
    # Unchanged views are not touched, so their materialization intervals and state survive.
    store._apply_diffs(registry_diff, infra_diff, new_infra)
    # Readers find the service's views and features there without importing Feast.
    write_layout(store, s, (FEATURE_SERVICE,))
    return {"changed": True, "changes": changes, "infra": infra_changes, "project": store.project}


def materialize(
    start: date,
    end: date | None = None,
    *,
    settings: Settings | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """Load the feature rows of days ``[start, end]`` into the online store.

    Per machine and view, the newest row of the range is written, unless the online store holds
    a newer one (an older interval materialized after a newer one leaves it untouched).
    """
    s = settings or get_settings()
    end = end or start
    missing = missing_partitions(s, start, end)
    if missing:
        raise MissingFeatures(
            f"offline features missing for {start}..{end}: {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}; compute them first "
            f"(python -m ml_tasks features materialize computes before it materializes)"
        )
    if s.online_store == "redis" and s.redis_url:
        require_reachable("Redis online store", s.redis_url, "PLATFORM_REDIS_URL")
    store = store or get_store(s)
    begin, stop = interval_bounds(start, end)
    started = time.perf_counter()
    # Whole days, end exclusive: Feast's offline stores include both ends, so stop just before.
    # Feast prints coloured progress lines to stdout: keep them in the log instead.
    with contextlib.redirect_stdout(io.StringIO()) as printed, offline_session():
        store.materialize(begin, stop - timedelta(microseconds=1), feature_views=list(VIEWS))
    log.info("feast: %s", re.sub(r"\x1b\[[0-9;]*m", "", printed.getvalue()).strip())
    seconds = time.perf_counter() - started
    offline_rows = entities = 0
    for view in VIEWS:
        rows = feature_rows(s, view, start, end)
        offline_rows += rows.num_rows
        entities += len(set(rows.column("machine_id").to_pylist()))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "feature_views": list(VIEWS),
        "offline_rows": offline_rows,
        "online_rows_offered": entities,
        "online_store": s.online_store,
        "seconds": round(seconds, 3),
    }
