"""Shared by the DAG-level tests: the project's DagBag and the asset names in a schedule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"


def load_dagbag(path: Path = DAGS_DIR) -> Any:
    """A DagBag of ``path`` (all of dags/ by default), with no import errors."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    return bag


def asset_names(condition: object) -> Iterator[str]:
    """The asset names in a schedule's condition (an asset, or nested AssetAll / AssetAny)."""
    from airflow.sdk import Asset

    if isinstance(condition, Asset):
        yield condition.name
    for inner in getattr(condition, "objects", ()):
        yield from asset_names(inner)
