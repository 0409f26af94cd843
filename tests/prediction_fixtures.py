"""Rows of the prediction log (``ml_tasks.serving.prediction_log``) built by hand for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def answer_row(**overrides: Any) -> dict[str, Any]:
    """One answered machine as the gateway logs it: champion v1, scored, nothing mirrored."""
    row: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "ts": T0,
        "route": "v1",
        "machine_id": "M-0001",
        "status": 200,
        "alias": "champion",
        "model_version": "1",
        "score": 0.1,
        "alert": False,
        "threshold": 0.5,
        "latency_s": 0.002,
        "inference_s": 0.0005,
        "feature_ts": T0 - timedelta(hours=1),
        "stale": False,
        "missing_sensors": "",
        "error": None,
        "shadow_alias": None,
        "shadow_version": None,
        "shadow_score": None,
        "shadow_alert": None,
        "shadow_outcome": "none",
    }
    row.update(overrides)
    return row
