"""A logged evaluation read back: where it lives on the run, its status tag, its digest.

:func:`~ml_tasks.evaluation.pipeline.evaluate_version` writes these; the release gates and the
CLI read them here, without the scoring code and its plotting.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from ml_tasks.registry.models import client
from ml_tasks.settings import Settings

EVALUATION_ARTIFACT = "evaluation/evaluation.json"
REPORT_ARTIFACT = "evaluation/report.html"
MODEL_CARD_ARTIFACT = "model_card/model_card.md"
STATUS_TAG = "evaluation.status"
DIGEST_TAG = "evaluation.sha256"
COMPLETE = "complete"
# The score at which the gateway raises an alert for this version (evaluation sets it).
ALERT_THRESHOLD_TAG = "serving.alert_threshold"


def evaluation_status(
    model_name: str, version: str | int, settings: Settings | None = None
) -> str | None:
    """The version's ``evaluation.status`` tag (None: not evaluated, or no such version)."""
    from mlflow.exceptions import MlflowException

    c = client(settings)
    try:
        mv = c.get_model_version(model_name, str(version))
    except MlflowException:
        return None
    return (mv.tags or {}).get(STATUS_TAG)


class EvaluationTampered(RuntimeError):
    """The logged evaluation does not match the digest recorded when it was written."""


def load_evaluation(
    model_name: str, version: str | int, settings: Settings | None = None
) -> dict[str, Any] | None:
    """The complete evaluation of a version, verified against its digest; None if not there."""
    import mlflow

    c = client(settings)
    mv = c.get_model_version(model_name, str(version))
    tags = mv.tags or {}
    if tags.get(STATUS_TAG) != COMPLETE:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=mv.run_id, artifact_path=EVALUATION_ARTIFACT, dst_path=tmp
        )
        payload = Path(path).read_text()
    if hashlib.sha256(payload.encode()).hexdigest() != tags.get(DIGEST_TAG):
        raise EvaluationTampered(
            f"{model_name} v{version}: {EVALUATION_ARTIFACT} does not match its recorded digest"
        )
    return json.loads(payload)
