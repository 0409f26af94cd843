"""``python -m ml_tasks serve`` and ``python -m ml_tasks predict``: the gateway by hand.

    python -m ml_tasks serve [--host 127.0.0.1] [--port 8765] [--preload-search]
    python -m ml_tasks predict --machine-id M-0001 [--machine-id M-0002 ...] [--json]

``serve`` runs until Ctrl-C or SIGTERM (graceful: open requests finish, the prediction log is
flushed). ``predict`` asks the running gateway (``PLATFORM_GATEWAY_URL``, else the one ``serve``
recorded in ``<platform_home>/run/gateway.json``). Exit codes of ``predict``: 0 every machine
scored, 1 no gateway running, it answered an error, or a machine was not scored (unknown: 404).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default settings: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port to bind (default settings: 8765; 0 picks a free one)"
    )
    parser.add_argument(
        "--preload-search",
        action="store_true",
        help="load the manual-search embedding model at start (else on the first /v1/search)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log a line per request (off: it costs latency)"
    )


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--machine-id",
        dest="machine_ids",
        action="append",
        required=True,
        metavar="ID",
        help="machine to score (repeat for a batch)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from ml_tasks.serving.server import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        serve(
            host=args.host,
            port=args.port,
            preload_search=args.preload_search,
            access_log=args.access_log,
        )
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled, after the graceful stop
    return 0


def format_answer(answer: dict[str, Any]) -> str:
    """One line a machine: score, decision, who answered, the features' age flags."""
    machine = answer["machine_id"]
    if answer["status"] != 200:
        return f"{machine}: not scored (HTTP {answer['status']}): {answer.get('error') or ''}"
    alert = answer.get("alert")
    decision = "no threshold" if alert is None else ("ALERT" if alert else "ok")
    flags = []
    if answer.get("stale"):
        flags.append("stale features")
    if answer.get("missing_sensors"):
        flags.append("missing " + ", ".join(answer["missing_sensors"]))
    threshold = answer.get("threshold")
    return (
        f"{machine}: p={answer['probability']:.4f} {decision}"
        + (f" (threshold {threshold:.4f})" if threshold is not None else "")
        + f"  model v{answer['model_version']} ({answer['alias']})"
        + f"  features at {answer.get('feature_timestamp')}"
        + (f"  [{'; '.join(flags)}]" if flags else "")
    )


def run_predict(args: argparse.Namespace) -> int:
    from ml_tasks.serving.client import GatewayError, GatewayUnreachable, find_gateway

    client = find_gateway()
    if client is None:
        print(
            "error: no gateway is running: start one with `python -m ml_tasks serve` "
            "(or `make serve`), or set PLATFORM_GATEWAY_URL",
            file=sys.stderr,
        )
        return 1
    try:
        answer = client.predict(args.machine_ids)
    except (GatewayError, GatewayUnreachable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    answers = answer.get("answers", [])
    if args.json:
        print(json.dumps({"gateway": client.url, **answer}, indent=2))
    else:
        for item in answers:
            print(format_answer(item))
    return 0 if answers and all(a["status"] == 200 for a in answers) else 1
