"""Registered model versions: the MLflow client, alias and version resolution, lineage, scorers.

A version's identity comes from the MLflow registry (aliases, version tags written by
:mod:`ml_tasks.training.tracking`), its lineage from the ``training/lineage.json`` artifact of the
run that produced it (features, training set, the time split), and its scorer from the logged
model (``mlflow.pyfunc``), so any flavour the training code logs scores the same way.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ml_tasks.reachability import require_reachable_once
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
CANARY = "canary"
SHADOW = "shadow"
LINEAGE_ARTIFACT = "training/lineage.json"
_MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


class ModelNotFound(LookupError):
    """The requested model version or alias does not exist in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version and what it was trained on."""

    model_name: str
    version: str
    run_id: str
    tags: dict[str, str]
    aliases: tuple[str, ...]
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.lineage.get("features") or [])

    @property
    def training_set(self) -> dict[str, Any]:
        return dict(self.lineage.get("training_set") or {})

    @property
    def split(self) -> dict[str, Any]:
        return dict(self.lineage.get("split") or {})

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"

    def summary(self) -> dict[str, Any]:
        """Small, JSON-able: what a model card or an XCom needs."""
        ts = self.training_set
        return {
            "model_name": self.model_name,
            "version": self.version,
            "run_id": self.run_id,
            "aliases": list(self.aliases),
            "training_set_version": self.tags.get("training_set.version") or ts.get("version"),
            "training_set_path": self.tags.get("training_set.path") or ts.get("path"),
            "model_sha256": self.tags.get("model_sha256"),
            "code_version": self.tags.get("code_version"),
        }


def client(settings: Settings | None = None) -> Any:
    """An MlflowClient on the configured tracking and registry URIs (also set for fluent calls)."""
    import mlflow
    from mlflow import MlflowClient

    s = settings or get_settings()
    # Per-file download progress bars would flood task logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if s.mlflow_tracking_uri.startswith("sqlite:///"):
        Path(s.mlflow_tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    # These also export MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI, which get_settings() reads:
    # keep the environment as the operator set it, so settings stay the source of truth.
    # A dead tracking server: one clear error instead of MLflow's HTTP retries with backoff.
    require_reachable_once("MLflow tracking server", s.mlflow_tracking_uri, "MLFLOW_TRACKING_URI")
    exported = {name: os.environ.get(name) for name in _MLFLOW_ENV}
    mlflow.set_tracking_uri(s.mlflow_tracking_uri)
    mlflow.set_registry_uri(s.mlflow_registry_uri)
    for name, value in exported.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return MlflowClient(tracking_uri=s.mlflow_tracking_uri, registry_uri=s.mlflow_registry_uri)


def experiment_location(artifact_root: str, experiment: str) -> str | None:
    """Where a new experiment's artifacts go: ``<root>/<experiment>`` as a URI.

    A root with a scheme is a URI as given: ``s3://...``, and ``mlflow-artifacts:/`` (the
    tracking server's proxy, ``--serve-artifacts``), which has no ``//``; a plain path becomes a
    ``file://`` URI. Empty: None, the server's default artifact root.
    """
    if not artifact_root:
        return None
    if len(urlsplit(artifact_root).scheme) > 1:  # one letter would be a Windows drive
        return f"{artifact_root.rstrip('/')}/{experiment}"
    return Path(artifact_root, experiment).resolve().as_uri()


def registry_exists(settings: Settings | None = None) -> bool:
    """False when the embedded SQLite registry was never created (nothing registered yet)."""
    s = settings or get_settings()
    uri = s.mlflow_registry_uri or s.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).exists()
    return True


def alias_version(mlflow_client: Any, model_name: str, alias: str) -> str | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def aliases(mlflow_client: Any, model_name: str) -> dict[str, str]:
    """Every alias of the model -> version ({} when the model is not registered)."""
    from mlflow.exceptions import MlflowException

    try:
        model = mlflow_client.get_registered_model(model_name)
    except MlflowException:
        return {}
    return {alias: str(version) for alias, version in sorted((model.aliases or {}).items())}


def read_run_json(mlflow_client: Any, run_id: str, artifact: str) -> dict[str, Any] | None:
    """A JSON artifact of a run, or None when it is not there."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=tmp
            )
        except Exception as err:  # missing artifact: MlflowException or OSError by store
            log.debug("artifact %s of run %s not readable: %s", artifact, run_id, err)
            return None
        return json.loads(Path(path).read_text())


def write_run_json(mlflow_client: Any, run_id: str, payload: dict[str, Any], artifact: str) -> None:
    """Log ``payload`` as the JSON artifact ``artifact`` of the run (replacing an earlier one)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(artifact).name
        path.write_text(json.dumps(payload, indent=2, default=str))
        mlflow_client.log_artifact(run_id, str(path), str(Path(artifact).parent))


def artifact_exists(mlflow_client: Any, run_id: str, artifact: str) -> bool:
    """Whether the run holds a file at ``artifact`` (a path relative to its artifact root)."""
    parent = artifact.rsplit("/", 1)[0] if "/" in artifact else None
    try:
        listed = mlflow_client.list_artifacts(run_id, parent)
    except Exception:
        return False
    return any(f.path == artifact and not f.is_dir for f in listed)


def get_version(
    model_name: str,
    version: str | int | None = None,
    *,
    alias: str | None = None,
    settings: Settings | None = None,
    mlflow_client: Any = None,
) -> ModelVersion:
    """A version by number, or the one behind ``alias``; raises :class:`ModelNotFound`."""
    from mlflow.exceptions import MlflowException

    c = mlflow_client or client(settings)
    try:
        if version not in (None, ""):
            mv = c.get_model_version(model_name, str(version))
        elif alias:
            mv = c.get_model_version_by_alias(model_name, alias)
        else:
            raise ValueError("give a version or an alias")
    except MlflowException as err:
        what = f"v{version}" if version not in (None, "") else f"@{alias}"
        raise ModelNotFound(f"{model_name} {what} is not in the registry: {err.message}") from err
    tags = dict(mv.tags or {})
    run_id = mv.run_id or tags.get("mlflow_run_id") or ""
    lineage = read_run_json(c, run_id, LINEAGE_ARTIFACT) if run_id else None
    return ModelVersion(
        model_name=model_name,
        version=str(mv.version),
        run_id=run_id,
        tags=tags,
        aliases=tuple(sorted(mv.aliases or ())),
        lineage=lineage or {},
    )


def model_features(model: Any) -> list[str]:
    """Input column names from a loaded pyfunc model's signature."""
    schema = model.metadata.get_input_schema()
    return list(schema.input_names()) if schema is not None else []


@dataclass
class Scorer:
    """Scores a frame with one model version: the failure probability per row."""

    version: str
    features: list[str]
    predict: Callable[[Any], Any]

    def __call__(self, frame: Any) -> Any:
        import numpy as np

        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise KeyError(f"v{self.version} needs column(s) {missing} the holdout lacks")
        output = np.asarray(self.predict(frame[self.features].astype("float64")))
        if output.ndim == 2:  # class probabilities: the positive class is the last column
            output = output[:, -1]
        return output.astype("float64")


def load_scorer(model_version: ModelVersion) -> Scorer:
    """The version's pyfunc model as a :class:`Scorer` (features from its signature)."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_version.uri)
    features = model_features(model) or model_version.features
    return Scorer(version=model_version.version, features=features, predict=model.predict)
