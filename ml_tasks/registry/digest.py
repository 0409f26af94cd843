"""The sha256 of a model version's files: computed at registration, compared at every checkpoint.

Training records ``model_sha256`` on the version it registers (:func:`model_digest` of the logged
model); :func:`ml_tasks.registry.aliases.verify_or_quarantine`, the one digest checkpoint,
recomputes it on the registered files with :func:`digest_problem` before each release step.
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

DIGEST_TAG = "model_sha256"
# Written by MLflow into a download of ``models:/<name>/<version>`` (which name and version
# were asked for), so it differs by how the model is addressed: not part of the model.
_NOT_MODEL_FILES = {"registered_model_meta"}


class DigestMismatch(RuntimeError):
    """A model version's files do not match the digest recorded when it was registered."""


def directory_digest(folder: str | Path) -> str:
    """sha256 over the model's files: relative path and content, in sorted order."""
    root = Path(folder)
    outer = hashlib.sha256()
    files = (p for p in root.rglob("*") if p.is_file() and p.name not in _NOT_MODEL_FILES)
    for path in sorted(files):
        inner = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(partial(f.read, 1 << 20), b""):
                inner.update(block)
        outer.update(path.relative_to(root).as_posix().encode() + b"\0")
        outer.update(inner.hexdigest().encode() + b"\n")
    return outer.hexdigest()


def model_digest(model_uri: str) -> str:
    """Digest of a logged model's files (``models:/...`` or ``runs:/...``)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        return directory_digest(local)


def digest_problem(mlflow_client: Any, model_name: str, version: str) -> tuple[str, str | None]:
    """The digest of the version's files now, and what is wrong with it (None: it matches)."""
    mv = mlflow_client.get_model_version(model_name, str(version))
    expected = (mv.tags or {}).get(DIGEST_TAG)
    actual = model_digest(f"models:/{model_name}/{version}")
    if not expected:
        return actual, f"{model_name} v{version} has no {DIGEST_TAG} tag to verify against"
    if actual != expected:
        return actual, (
            f"{model_name} v{version}: model files hash to {actual[:16]}..., registered as "
            f"{expected[:16]}... (the artifact changed after registration)"
        )
    return actual, None
