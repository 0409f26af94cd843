"""Run the gateway: uvicorn (uvloop + httptools), one worker process, the Starlette app.

One process on purpose: the :class:`~ml_tasks.serving.gateway.Gateway` holds the slot table,
the shadow queue and the prediction-log buffer in memory (and its metrics in one registry); the
scale path is more replicas on Ray Serve (:mod:`.ray_serve`), not more workers here.

Start and stop, in order:

1. the app's lifespan starts the gateway (slot table loaded and warmed, poller and shadow worker
   running); uvicorn then binds the socket;
2. the run file ``<platform_home>/run/gateway.json`` is written with the bound URL, so
   ``python -m ml_tasks predict``/``search`` and ``promote_model`` find this gateway;
3. on SIGTERM or SIGINT (uvicorn's handlers) the run file is removed first, open requests
   finish (up to ``GRACEFUL_SECONDS``), then the lifespan closes the gateway: the shadow queue
   is drained and the prediction log flushed.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_tasks.settings import Settings

log = logging.getLogger(__name__)

# How long a graceful stop waits for open requests before closing the gateway anyway.
GRACEFUL_SECONDS = 10


def public_url(host: str, port: int) -> str:
    """The URL clients on this machine use for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def build_server(
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    preload_search: bool = False,
    access_log: bool = False,
    log_level: str = "info",
) -> Any:
    """A uvicorn ``Server`` for the gateway (not started): ``server.run()`` serves until a
    signal (or ``server.should_exit = True``). Port 0 binds a free port; the run file and
    ``server.url`` name the one bound."""
    import uvicorn

    from ml_tasks.serving import discovery
    from ml_tasks.serving.app import create_app
    from ml_tasks.serving.gateway import Gateway
    from ml_tasks.settings import get_settings

    settings = settings or get_settings()
    bind_host: str = host if host is not None else settings.gateway_host
    bind_port: int = port if port is not None else settings.gateway_port
    gateway = Gateway(settings)  # with the prediction log writer (a Delta table)
    app = create_app(gateway, settings, preload_search=preload_search)
    config = uvicorn.Config(
        app,
        host=bind_host,
        port=bind_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        workers=1,
        # One log line a request costs more than the request itself on this path; the
        # prediction log and /metrics keep the record.
        access_log=access_log,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
    )

    class GatewayServer(uvicorn.Server):
        """uvicorn's server that advertises itself in the run file while it listens."""

        url: str | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit or not self.started:
                return
            bound = self.servers[0].sockets[0].getsockname()
            self.url = public_url(bind_host, int(bound[1]))
            discovery.write_run_file(settings, self.url)
            log.info("gateway listening on %s (pid %d)", self.url, os.getpid())

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Stop advertising before draining, so no new client picks this process.
            discovery.remove_run_file(settings)
            await super().shutdown(sockets=sockets)

    return GatewayServer(config)


def serve(
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    preload_search: bool = False,
    access_log: bool = False,
) -> None:
    """Serve the gateway until SIGTERM/SIGINT; the stop is graceful (see the module doc)."""
    server = build_server(
        settings, host, port, preload_search=preload_search, access_log=access_log
    )
    server.run()
