"""The gateway's scale path: the same router as a Ray Serve deployment with an HTTP ingress.

Each replica builds its own :class:`~ml_tasks.serving.gateway.Gateway` and serves the same
Starlette app as the uvicorn service (:func:`ml_tasks.serving.app.create_app`), so the endpoints,
answers, status codes and errors are the same; Ray Serve's proxy routes requests to the replicas
and its autoscaler adds and removes them on ongoing requests (``autoscaling_config`` from the
settings ``serve_min_replicas``, ``serve_max_replicas``, ``serve_target_ongoing_requests``).

What runs inside every replica, as in the uvicorn process: the slot table and its registry poller
(each replica picks up an alias move by itself, within ``gateway_poll_seconds``), the shadow
worker with its bounded queue, and the prediction log writer, which appends its own batches to
the ``predictions`` Delta table (Delta's optimistic commits let the replicas append side by side).
A stopping replica drains its shadow queue and flushes its log (``graceful_shutdown_timeout_s``).
``/metrics`` answers from whichever replica took the request, so it shows that replica's counters
only; across replicas, read Ray Serve's own metrics or the prediction log.

Entry points:

- :func:`build_app`: the application builder that KubeRay's RayService names in its
  ``serveConfigV2`` (``import_path: ml_tasks.serving.ray_serve:build_app``, see
  ``include/k8s/rayservice-gateway.yaml``); ``serve run ml_tasks.serving.ray_serve:build_app``
  runs it on any Ray;
- :func:`run_local` / :func:`shutdown`: the deployment on a local Ray, for the benchmark and tests.

This module imports Ray Serve at the top (the deployment class must be importable by the
replicas); the CLIs never import it.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from ray import serve

from ml_tasks.settings import Settings, get_settings

if TYPE_CHECKING:
    from ray.serve import Application, Deployment
    from starlette.applications import Starlette

    from ml_tasks.serving.gateway import Gateway

log = logging.getLogger(__name__)

DEPLOYMENT_NAME = "gateway"  # the name serveConfigV2 overrides options under
APP_NAME = "gateway"
MODEL_NAME = "failure_model"
# Time a stopping replica gets to drain its shadow queue and flush its prediction log.
GRACEFUL_SHUTDOWN_S = 30.0
# Requests a replica takes at once before Serve queues them at the proxy; the autoscaler aims
# at serve_target_ongoing_requests, well below.
MAX_ONGOING_REQUESTS = 64


def autoscaling_config(settings: Settings | None = None) -> dict[str, Any]:
    """Ray Serve's ``autoscaling_config`` from the settings."""
    s = settings or get_settings()
    low = max(1, s.serve_min_replicas)
    return {
        "min_replicas": low,
        "max_replicas": max(low, s.serve_max_replicas),
        "target_ongoing_requests": s.serve_target_ongoing_requests,
    }


class GatewayReplica:
    """One replica: a started Gateway and the Starlette app around it.

    ``settings``: None reads them from the replica's environment (on KubeRay the worker pods'
    env, not the process that built the application); :func:`run_local` passes its own.
    """

    def __init__(self, settings: Settings | None = None, model_name: str = MODEL_NAME) -> None:
        from ml_tasks.serving.app import create_app
        from ml_tasks.serving.gateway import Gateway
        from ml_tasks.serving.prediction_log import PredictionLogWriter

        s = settings or get_settings()
        self._gateway: Gateway = Gateway(
            s, model_name=model_name, prediction_log=PredictionLogWriter(s)
        )
        # Started here rather than in the app's lifespan: the replica reports ready to Serve
        # only once its slot table is loaded (or has failed and says why on /v2/health/ready).
        self._gateway.start()
        self._closed = False
        self._app: Starlette = create_app(self._gateway, s, manage_gateway=False)

    def __serve_build_asgi_app__(self) -> Starlette:
        return self._app

    def __del__(self) -> None:
        # Serve calls this once when it stops the replica (after the app's lifespan shutdown).
        if not getattr(self, "_closed", True):
            self._closed = True
            self._gateway.close()


# The deployment: the replica class behind Serve's ASGI ingress (late-bound: the app is built
# per replica by ``__serve_build_asgi_app__``, around that replica's gateway).
GatewayDeployment: Deployment = serve.deployment(
    name=DEPLOYMENT_NAME,
    # The booster scores on one thread: one CPU a replica, more replicas for more traffic.
    ray_actor_options={"num_cpus": 1},
    max_ongoing_requests=MAX_ONGOING_REQUESTS,
    graceful_shutdown_timeout_s=GRACEFUL_SHUTDOWN_S,
)(serve.ingress()(GatewayReplica))


def application(
    settings: Settings | None = None,
    *,
    model_name: str = MODEL_NAME,
    pass_settings: bool = True,
) -> Application:
    """The bound deployment, autoscaled from ``settings``.

    ``pass_settings``: ship these settings to the replicas (a local Ray: the driver's settings
    are the replicas'); False lets each replica read its own environment.
    """
    s = settings or get_settings()
    deployment = GatewayDeployment.options(autoscaling_config=autoscaling_config(s))
    return deployment.bind(s if pass_settings else None, model_name)


def build_app(args: dict[str, Any]) -> Application:
    """The application builder named by the RayService (``serveConfigV2`` ``args``: ``model_name``).

    It runs where Serve builds the application, not in the replicas, so the replicas read their
    settings from their own environment. The serveConfigV2 deployment options (autoscaling,
    resources) override the ones set here from the settings.
    """
    unknown = set(args) - {"model_name"}
    if unknown:
        raise ValueError(f"unknown gateway application args {sorted(unknown)}; known: model_name")
    return application(model_name=str(args.get("model_name", MODEL_NAME)), pass_settings=False)


_started_ray = False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_live(url: str, timeout_s: float) -> None:
    """Until the proxy answers /v2/health/live (Serve's proxy may start after the app)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/live", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError as err:
            last = err
        time.sleep(0.2)
    raise TimeoutError(f"the Ray Serve gateway at {url} did not answer in {timeout_s:g} s: {last}")


def run_local(
    settings: Settings | None = None,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    num_cpus: int | None = None,
    model_name: str = MODEL_NAME,
    timeout_s: float = 120.0,
) -> str:
    """Run the gateway deployment on a local Ray and return its base URL (``http://host:port``).

    An initialised Ray (a test session) is used as is; otherwise Ray starts here (or connects to
    ``RAY_ADDRESS``, the local head of ``make run``) and :func:`shutdown` stops it again. ``port``:
    the Serve proxy's port (None: a free one). Returns once the application is running and the
    proxy answers.
    """
    import ray

    from ml_tasks.training.runner import configure_env, is_loopback

    global _started_ray
    s = settings or get_settings()
    if not ray.is_initialized():
        configure_env(local=not s.ray_address or is_loopback(s.ray_address))
        if s.ray_address:
            ray.init(address=s.ray_address, log_to_driver=False)
        else:
            cpus = num_cpus or s.ray_num_cpus or 2
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        _started_ray = True
    port = port or _free_port(host)
    serve.start(http_options={"host": host, "port": port}, proxy_location="HeadOnly")
    started = time.perf_counter()
    serve.run(
        application(s, model_name=model_name), name=APP_NAME, route_prefix="/", blocking=False
    )
    url = f"http://{host}:{port}"
    _wait_live(url, timeout_s)
    log.info("Ray Serve gateway at %s (ready in %.1f s)", url, time.perf_counter() - started)
    return url


def shutdown() -> None:
    """Stop Serve (replicas flush their logs) and the Ray that :func:`run_local` started."""
    import ray

    global _started_ray
    if ray.is_initialized():
        serve.shutdown()
        if _started_ray:
            ray.shutdown()
    _started_ray = False


def main() -> None:  # pragma: no cover - a manual entry point
    """``python -m ml_tasks.serving.ray_serve [port]``: serve locally until Ctrl-C."""
    import sys

    logging.basicConfig(level=logging.INFO)
    url = run_local(port=int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"gateway on Ray Serve at {url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()


if __name__ == "__main__":
    main()
