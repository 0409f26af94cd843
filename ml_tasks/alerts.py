"""Alerts: one payload shape, always logged, posted to a webhook when one is configured.

The webhook URL is a secret-ish setting: it comes from ``PLATFORM_ALERT_WEBHOOK`` in the
environment and is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

WEBHOOK_ENV = "PLATFORM_ALERT_WEBHOOK"
log = logging.getLogger(__name__)


def alert_payload(
    title: str,
    *,
    dag_id: str | None,
    task_id: str | None,
    run_id: str | None,
    error: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The alert as a JSON-able dict (the same for the log line and the webhook)."""
    return {
        "title": title,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "error": error,
        **(extra or {}),
    }


def send_alert(payload: dict[str, Any], webhook_url: str | None = None) -> bool:
    """Log the alert; POST it as JSON when a webhook is configured. Returns True if posted."""
    log.error("PLATFORM ALERT %s", json.dumps(payload, default=str))
    url = webhook_url or os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return 200 <= response.status < 300
