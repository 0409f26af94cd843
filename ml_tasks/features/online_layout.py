"""The online layout file: which views and features a feature service serves.

Written from Feast's registry whenever the definitions are applied
(:func:`ml_tasks.features.store.apply_definitions`) and read by
:class:`ml_tasks.features.online.OnlineFeatureReader`, so a reader needs no Feast import. Kept
apart from both so that the store (writer) and the reader do not import each other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_tasks.settings import Settings

LAYOUT_FILE = "online_layout.json"


class OnlineStoreUnavailable(RuntimeError):
    """The online store has not been created yet (nothing materialized) or cannot be reached."""


@dataclass(frozen=True)
class OnlineLayout:
    """What a reader needs to know of the registry: the service's views and features."""

    project: str
    feature_service: str
    entity_key_serialization_version: int
    features: tuple[tuple[str, str], ...]  # (view, feature), in the service's order

    @classmethod
    def from_store(cls, store: Any, feature_service: str) -> OnlineLayout:
        """Resolve the service in Feast's registry."""
        from feast.errors import FeatureServiceNotFoundException

        try:
            service = store.get_feature_service(feature_service)
        except FeatureServiceNotFoundException as err:
            raise OnlineStoreUnavailable(
                f"feature service {feature_service} is not registered: materialize features first "
                "(python -m ml_tasks features materialize --start ... --end ...)"
            ) from err
        projections = service.feature_view_projections
        return cls(
            project=store.project,
            feature_service=feature_service,
            entity_key_serialization_version=store.config.entity_key_serialization_version,
            features=tuple((p.name, f.name) for p in projections for f in p.features),
        )

    @classmethod
    def load(cls, settings: Settings, feature_service: str) -> OnlineLayout:
        """The layout recorded for these settings; :class:`FileNotFoundError` when none is."""
        data = json.loads(layout_path(settings).read_text())
        service = data["feature_services"][feature_service]
        return cls(
            project=data["project"],
            feature_service=feature_service,
            entity_key_serialization_version=int(data["entity_key_serialization_version"]),
            features=tuple((view, name) for view, name in service),
        )


def layout_path(settings: Settings) -> Path:
    return settings.feature_repo_dir / LAYOUT_FILE


def write_layout(store: Any, settings: Settings, services: Sequence[str]) -> Path | None:
    """Record the services' views and features for readers that do not import Feast.

    Rewritten (atomically) only when it changes. Nothing is recorded where the fast path does
    not apply (versioned online feature views): readers then go through Feast.
    """
    path = layout_path(settings)
    if store.config.registry.enable_online_feature_view_versioning:
        path.unlink(missing_ok=True)
        return None
    layouts = []
    for name in services:
        try:
            layouts.append(OnlineLayout.from_store(store, name))
        except OnlineStoreUnavailable:
            continue
    record = {
        "project": store.project,
        "entity_key_serialization_version": store.config.entity_key_serialization_version,
        "feature_services": {lay.feature_service: lay.features for lay in layouts},
    }
    text = json.dumps(record, indent=1) + "\n"
    if path.exists() and path.read_text() == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
