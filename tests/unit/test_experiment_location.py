"""Where a new MLflow experiment's artifacts go, for each form of PLATFORM_MLFLOW_ARTIFACT_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_tasks.registry.models import experiment_location


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        # The tracking server's proxy: no "//" after the scheme, still a URI, not a folder.
        ("mlflow-artifacts:/", "mlflow-artifacts:/failure_model"),
        ("s3://mlflow/artifacts/", "s3://mlflow/artifacts/failure_model"),
        ("file:///srv/mlflow", "file:///srv/mlflow/failure_model"),
        ("", None),
    ],
)
def test_uri_roots_are_kept(root: str, expected: str | None) -> None:
    assert experiment_location(root, "failure_model") == expected


def test_a_folder_becomes_a_file_uri(tmp_path: Path) -> None:
    assert experiment_location(str(tmp_path), "m") == (tmp_path / "m").resolve().as_uri()
