"""A small HTTP client of the gateway for the CLIs (``predict``, ``search``).

Standard library only (``urllib``): the CLIs must start fast, and one request per command does
not need a connection pool. :func:`find_gateway` returns a client of the running gateway, or
None when none runs (:func:`ml_tasks.serving.discovery.gateway_url`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_tasks.settings import Settings

# The first search in a gateway process loads the embedding model (seconds); predictions
# answer in milliseconds.
PREDICT_TIMEOUT_S = 10.0
SEARCH_TIMEOUT_S = 120.0


class GatewayError(RuntimeError):
    """The gateway answered with an error: HTTP ``status`` and its JSON ``body``."""

    def __init__(self, url: str, status: int, body: dict[str, Any]) -> None:
        detail = body.get("detail") or body.get("reason") or ""
        super().__init__(f"{url}: HTTP {status} {body.get('error', '')}: {detail}".rstrip(": "))
        self.status = status
        self.body = body


class GatewayUnreachable(ConnectionError):
    """No answer from the gateway's URL (not running, wrong port, network)."""


class GatewayClient:
    """Calls of one gateway at ``url`` (``http://host:port``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, payload: Any, timeout: float) -> dict[str, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as err:
            try:
                body = json.loads(err.read() or b"{}")
            except ValueError:
                body = {"error": "http_error", "detail": err.reason}
            if err.code == 404 and isinstance(body, dict) and "answers" in body:
                return dict(body)  # a one-machine request for an unknown machine: its answer
            raise GatewayError(self.url, err.code, body if isinstance(body, dict) else {}) from None
        except (urllib.error.URLError, OSError) as err:
            raise GatewayUnreachable(f"{self.url}: {err}") from None

    def predict(self, machine_ids: list[str], timeout: float = PREDICT_TIMEOUT_S) -> dict[str, Any]:
        """``POST /v1/predict``: ``{"request_id", "model_name", "answers": [...]}``."""
        return self._call("POST", "/v1/predict", {"machine_ids": machine_ids}, timeout)

    def search(self, query: str, k: int, timeout: float = SEARCH_TIMEOUT_S) -> dict[str, Any]:
        """``POST /v1/search``: ``{"index_version", "alias", "query", "k", "hits"}``."""
        return self._call("POST", "/v1/search", {"query": query, "k": k}, timeout)

    def status(self, timeout: float = PREDICT_TIMEOUT_S) -> dict[str, Any]:
        """``GET /v1/status``: slots, canary share, shadow queue, readiness."""
        return self._call("GET", "/v1/status", None, timeout)

    def reload(self, timeout: float = 60.0) -> dict[str, Any]:
        """``POST /v1/admin/reload``: re-read the aliases now; the swap summary."""
        return self._call("POST", "/v1/admin/reload", {}, timeout)


def find_gateway(settings: Settings | None = None) -> GatewayClient | None:
    """A client of the running gateway (settings.gateway_url, else the run file), or None."""
    from ml_tasks.serving.discovery import gateway_url
    from ml_tasks.settings import get_settings

    url = gateway_url(settings or get_settings())
    return GatewayClient(url) if url else None
