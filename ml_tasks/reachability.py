"""A clear error when a configured service does not answer, before a library's retries and
stack trace: which service, at which URL, set by which environment variable.

Each client library fails its own way on a dead endpoint: deltalake's object store retries for
minutes and then reports a Rust error chain, ``ray.init(address=...)`` waits for the GCS and
ends in a timeout about "the GCS", MLflow retries HTTP calls with backoff, redis-py raises
from deep inside a connection pool. The first place the platform connects to each service
asks :func:`require_reachable` first: one TCP connect (a few milliseconds on a live server).
Local paths and embedded stores (SQLite, a local folder, in-process Ray) are not checked.
"""

from __future__ import annotations

import socket
from functools import cache
from urllib.parse import urlsplit

DEFAULT_PORTS = {
    "http": 80,
    "https": 443,
    "redis": 6379,
    "rediss": 6379,
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
}


class ServiceUnreachableError(ConnectionError):
    """A configured service did not accept a connection; ``str()`` says which and where."""

    def __init__(self, service: str, url: str, variable: str, reason: str) -> None:
        self.service = service
        self.url = url
        self.variable = variable
        self.reason = reason
        super().__init__(
            f"{service} at {url} is not reachable ({reason}); "
            f"start it or point {variable} at a running one"
        )


def endpoint(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of a service URL or ``host:port`` address; None for local stores.

    ``http://h:5000``, ``redis://h:6379/0``, ``postgresql+psycopg2://u:p@h:5432/db``,
    ``h:6380`` (Ray's GCS address) and ``ray://h:10001`` all name an endpoint; ``sqlite:///``,
    ``file://``, a bare path or ``local`` do not.
    """
    text = url.strip()
    if not text or text == "local" or text.startswith(("sqlite:", "file:", "/", ".")):
        return None
    if "://" not in text:
        text = f"tcp://{text}"  # Ray's "host:port"
    parts = urlsplit(text)
    if not parts.hostname:
        return None
    scheme = parts.scheme.split("+", 1)[0]
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return None
    return (parts.hostname, port) if port else None


def redact(url: str) -> str:
    """The URL without a password (``user:***@host``), safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def require_reachable(service: str, url: str, variable: str, timeout_s: float = 3.0) -> None:
    """Raise :class:`ServiceUnreachableError` unless ``url``'s endpoint accepts a TCP connection.

    ``service`` names it for a person ("MLflow tracking server"), ``variable`` is the setting
    that points at it (``MLFLOW_TRACKING_URI``). A URL without an endpoint passes.
    """
    target = endpoint(url)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        if isinstance(err, TimeoutError | socket.timeout):
            reason = f"no answer within {timeout_s:g} s"
        raise ServiceUnreachableError(service, redact(url), variable, reason.lower()) from None


@cache
def _checked_once(service: str, url: str, variable: str) -> bool:
    require_reachable(service, url, variable)
    return True


def require_reachable_once(service: str, url: str, variable: str) -> None:
    """:func:`require_reachable`, remembered per process once it succeeded (hot paths such as
    opening a Delta table call it often; a failure is not cached, so a retry checks again)."""
    _checked_once(service, url, variable)
