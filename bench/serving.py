"""Serving benchmark: the inference gateway under open-loop load, against an echo floor.

An open-loop load generator written here (asyncio on uvloop, raw keep-alive HTTP/1.1
connections, requests encoded once before the run): request ``i`` has an intended send time
``t0 + i / rate`` and its latency is the completion time minus that intended time, so a request
that waits for a free connection, or behind a slow answer, counts its wait (no coordinated
omission). Percentiles come from an HdrHistogram (1 us to 60 s, 3 significant digits).

Every server runs in a process of its own, as ``python -m ml_tasks serve`` runs it (uvicorn, one
worker, uvloop + httptools); the generator stays in this process. Measured side by side in the
same run, rate by rate, the two sides taking 10 s slices in turn (so the load of other work on a
shared machine hits both alike):

- **floor**: a trivial echo endpoint built here on the same stack (Starlette + uvicorn + uvloop +
  httptools + orjson, one worker): parses the request, answers one machine's worth of JSON;
- **gateway**: ``POST /v1/predict`` with one machine per request, machine ids drawn over the
  whole fleet, features from the SQLite online store; shadow off and on (alias ``shadow`` on a
  second version) in slices taken in turn, then an alias flip (``champion`` moved to the second
  version by a helper process) in the middle of a run, picked up through
  ``POST /v1/admin/reload``;
- **Ray Serve**: the same gateway as a Ray Serve deployment on a local Ray
  (``python -m ml_tasks.serving.ray_serve``, i.e. ``run_local``), same requests, after the
  uvicorn gateway stopped, up to the first rate it cannot keep up with; its p99 as a ratio to
  uvicorn's.

Also printed: the generator's own CPU per request and its send lag (actual send - intended send)
to show it is not the bottleneck, and each server's CPU per request (its whole process tree).

Data: unless ``--home`` names an existing platform home (``make run``'s ``.platform``), a
temporary one is built: the demo generator's fleet (``--machines``) through the ELT for two days,
features materialized into the SQLite online store, and two versions registered with the tests'
own helper (``tests/model_fixtures.py``), ``champion`` on the first.

    .venv/bin/python bench/serving.py [--seconds 60] [--rates 100,200,500] [--home PATH]
        [--machines 120] [--skip-ray] [--ablate]

``--ablate`` runs only a diagnosis of the gateway's tail: gateways with the prediction log's
writes deferred (flush interval and batch size out of reach) or the registry poll off, side by
side with one as is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = "failure_model"
HOST = "127.0.0.1"
CONNECTIONS = 64  # keep-alive connections: enough for 500 rps at up to ~100 ms per answer
TIMEOUT_S = 5.0  # a request still unanswered after this is an error (timeout)
WARMUP_S = 3.0
SLICE_S = 10.0  # side-by-side comparisons alternate slices of this length
GRACE_S = 30.0  # a run stops sending this long after its schedule ends (the rest: errors)
# Goals of issue 15 (the seed's SLA and the ratios)
SLA_P99_S = 0.010
FLOOR_RATIO = 3.0
SHADOW_RATIO = 1.1
FLIP_RATIO = 2.0
# One answer of the echo floor, shaped like the gateway's answer for one machine.
ECHO_ANSWER = {
    "status": 200,
    "probability": 0.0123,
    "alert": False,
    "threshold": 0.5,
    "model_version": "1",
    "alias": "champion",
    "feature_timestamp": "2026-11-29T23:00:00+00:00",
    "stale": False,
    "missing_sensors": [],
    "error": None,
}


# --- the load generator -------------------------------------------------------------------


@dataclass
class LoadResult:
    """What one open-loop run measured (times in seconds, relative to the run's t0)."""

    label: str
    rate: float
    seconds: float
    intended: list[float] = field(default_factory=list)  # per answered request
    latency: list[float] = field(default_factory=list)  # completion - intended send
    lag: list[float] = field(default_factory=list)  # actual send - intended send
    statuses: Counter = field(default_factory=Counter)  # HTTP status, "timeout", "connection"
    versions: Counter = field(default_factory=Counter)  # model_version named by the answers
    first_version_at: dict[str, float] = field(default_factory=dict)  # intended send, s
    last_version_at: dict[str, float] = field(default_factory=dict)
    snapshots: list[Any] = field(default_factory=list)  # ``snapshot()`` before and after
    elapsed: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    load_average: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)  # events during the run (flip)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def achieved(self) -> float:
        """Answers per second over the span from t0 to the last completion."""
        return len(self.latency) / self.elapsed if self.elapsed else 0.0


def histogram(values: list[float]) -> Any:
    """An HdrHistogram of ``values`` (seconds) in microseconds."""
    from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

    hist = HdrHistogram(1, 60_000_000, 3)
    for value in values:
        hist.record_value(max(1, int(value * 1e6)))
    return hist


def percentiles(values: list[float], points: tuple[float, ...] = (50, 99, 99.9)) -> list[float]:
    """Percentiles of ``values`` (seconds) through HdrHistogram, in seconds (nan when empty)."""
    if not values:
        return [float("nan")] * len(points)
    hist = histogram(values)
    return [hist.get_value_at_percentile(p) / 1e6 for p in points]


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    length = _content_length(head)
    if length is not None:
        return await reader.readexactly(length)
    if b"chunked" not in head.lower():
        raise ConnectionError("answer without Content-Length or chunked encoding")
    chunks: list[bytes] = []
    while True:  # chunked transfer (what Ray Serve's proxy may send)
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            return b"".join(chunks)
        chunks.append(data[:-2])


def encode_post(path: str, payload: dict[str, Any], host: str, port: int) -> bytes:
    """One HTTP/1.1 keep-alive POST with a JSON body, ready to write."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def open_loop(
    host: str,
    port: int,
    requests: list[bytes],
    rate: float,
    seconds: float,
    *,
    label: str = "",
    version_of: Callable[[bytes], list[str]] | None = None,
    connections: int = CONNECTIONS,
    timeout: float = TIMEOUT_S,
    events: list[tuple[float, Callable[[], Any]]] | None = None,
) -> LoadResult:
    """Send ``rate * seconds`` requests (cycling over ``requests``) on an open-loop schedule.

    ``connections`` workers each hold a keep-alive connection and take the next request index
    when free; request ``i`` is sent no earlier than ``t0 + i / rate``. Requests still unsent
    ``GRACE_S`` after the schedule's end count as errors ("not sent"). ``events`` are
    ``(offset_s, coroutine function)`` run during the load (the alias flip); their start offset
    is recorded in ``marks``.
    """
    total = int(rate * seconds)
    result = LoadResult(label=label, rate=rate, seconds=seconds)
    pool = await asyncio.gather(*(_open(host, port) for _ in range(connections)))
    state = {"next": 0}
    cpu0 = time.process_time()
    # perf_counter, not loop.time(): uvloop's loop clock ticks in whole milliseconds.
    clock = time.perf_counter
    t0 = clock() + 0.05

    async def worker(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        while state["next"] < total and clock() - t0 < seconds + GRACE_S:
            i = state["next"]
            state["next"] = i + 1
            intended = t0 + i / rate
            delay = intended - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = clock()
            try:
                async with asyncio.timeout(timeout):
                    if conn is None:
                        conn = await _open(host, port)
                    reader, writer = conn
                    writer.write(requests[i % len(requests)])
                    head = await reader.readuntil(b"\r\n\r\n")
                    body = await _read_body(reader, head)
                status: int | str = int(head[9:12])
            except TimeoutError:
                status, body = "timeout", b""
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                status, body = "connection", b""
            done = clock()
            result.statuses[status] += 1
            if not isinstance(status, int):
                if conn is not None:
                    conn[1].close()
                conn = None
                continue
            result.intended.append(intended - t0)
            result.latency.append(done - intended)
            result.lag.append(sent - intended)
            if version_of is not None and status == 200:
                for version in version_of(body):
                    result.versions[version] += 1
                    result.first_version_at.setdefault(version, intended - t0)
                    result.last_version_at[version] = intended - t0

    async def event(offset: float, action: Callable[[], Any]) -> None:
        await asyncio.sleep(max(0.0, t0 + offset - clock()))
        name = getattr(action, "__name__", "event")
        result.marks[name] = clock() - t0
        await action()
        result.marks[f"{name}_done"] = clock() - t0

    tasks = [asyncio.ensure_future(worker(conn)) for conn in pool]
    tasks += [asyncio.ensure_future(event(offset, action)) for offset, action in events or []]
    await asyncio.gather(*tasks)
    result.elapsed = clock() - t0
    if state["next"] < total:  # a server too slow to drain the schedule: count what is left
        result.statuses["not sent"] = total - state["next"]
    result.client_cpu_s = time.process_time() - cpu0
    result.load_average = os.getloadavg()[0]
    for _, writer in pool:
        writer.close()
    return result


# --- servers ------------------------------------------------------------------------------


def echo_app() -> Any:
    """The floor: parse the JSON request, answer one machine's worth of JSON per machine id."""
    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def predict(request: Request) -> Response:
        ids = orjson.loads(await request.body())["machine_ids"]
        answers = [{"machine_id": m, **ECHO_ANSWER} for m in ids]
        body = orjson.dumps({"request_id": "echo", "answers": answers})
        return Response(body, media_type="application/json")

    def live(request: Request) -> Response:
        return Response(b'{"live":true}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/predict", predict, methods=["POST"]),
            Route("/v2/health/live", live),
            Route("/v2/health/ready", live),
        ]
    )


def serve_echo(port: int) -> None:
    """Run the echo floor on uvicorn as the gateway runs (one worker, uvloop, httptools)."""
    import uvicorn

    uvicorn.run(
        echo_app(),
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level="warning",
        access_log=False,
        server_header=False,  # as ml_tasks.serving.server configures uvicorn
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process of the benchmark and where it listens."""

    name: str
    process: subprocess.Popen
    port: int
    stop_signal: int = signal.SIGTERM  # the one its graceful stop listens to

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and all its descendants so far."""
        import psutil

        total = 0.0
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self, timeout: float = 60.0) -> None:
        """The graceful stop, then whatever it left behind: a local Ray's agents outlived
        ``ray_serve``'s SIGINT stop and kept a core busy for the next runs."""
        import psutil

        try:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _gone, alive = psutil.wait_procs(descendants, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def start_server(
    name: str,
    argv: list[str],
    port: int,
    env: dict[str, str],
    ready: str,
    wait_s: float = 300,
    stop: int = signal.SIGTERM,
) -> Server:
    """Start ``argv`` and wait until ``GET ready`` answers 200 (or the process dies)."""
    log = open(Path(tempfile.gettempdir()) / f"bench-serving-{name}.log", "w")
    process = subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + wait_s
    url = f"http://{HOST}:{port}{ready}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return Server(name, process, port, stop)
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{name} not ready after {wait_s:.0f} s; see {log.name}")


# --- registry moves (a helper process) ------------------------------------------------------


def alias_helper() -> None:
    """Move aliases on request: one JSON command a line on stdin, one JSON answer a line.

    A process of its own (MLflow imported once, before the runs) so that a move during a run
    costs the generator nothing. Commands: ``{"set": {alias: version}, "delete": [alias],
    "reload": url}``; every answer holds the model's aliases and versions afterwards (and the
    gateway's reload summary when ``reload`` was given).
    """
    from ml_tasks.registry.models import aliases, client
    from ml_tasks.settings import get_settings

    c = client(get_settings())

    def state() -> dict[str, Any]:
        versions = sorted((v.version for v in c.search_model_versions(f"name='{MODEL}'")), key=int)
        return {"aliases": aliases(c, MODEL), "versions": versions}

    print(json.dumps(state()), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        for alias in command.get("delete", []):
            if alias in aliases(c, MODEL):
                c.delete_registered_model_alias(MODEL, alias)
        for alias, version in command.get("set", {}).items():
            c.set_registered_model_alias(MODEL, alias, version)
        answer = state()
        if command.get("reload"):
            request = urllib.request.Request(f"{command['reload']}/v1/admin/reload", method="POST")
            with urllib.request.urlopen(request, timeout=30) as reply:
                answer["reload"] = json.loads(reply.read())
        print(json.dumps(answer), flush=True)


class Registry:
    """The bench's handle on the alias helper process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--alias-helper"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.initial = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the alias helper stopped")
        return dict(json.loads(line))

    def move(
        self, set_: dict[str, str] | None = None, delete: tuple[str, ...] = (), reload: str = ""
    ) -> dict[str, Any]:
        assert self.process.stdin is not None
        command = {"set": set_ or {}, "delete": list(delete), "reload": reload}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def restore(self, url: str = "") -> None:
        """Put the aliases back as they were when the bench started."""
        before = self.initial["aliases"]
        current = self.move()["aliases"]
        self.move(set_=before, delete=tuple(a for a in current if a not in before), reload=url)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)


# --- reporting ----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


HEADER = (
    f"  {'run':<24} {'rate':>5} {'achieved':>8} {'p50':>6} {'p99':>7} {'p99.9':>7} {'max':>7}"
    f" {'errors':>6} {'lag p99':>7} {'client':>6} {'server':>6} {'load':>5}\n"
    f"  {'':<24} {'/s':>5} {'/s':>8} {'ms':>6} {'ms':>7} {'ms':>7} {'ms':>7}"
    f" {'':>6} {'ms':>7} {'us/req':>6} {'us/req':>6} {'max':>5}"
)


def describe(result: LoadResult) -> str:
    """One table row: rates, latency percentiles, errors, send lag, CPU per request, load."""
    p50, p99, p999, top = percentiles(result.latency, (50, 99, 99.9, 100))
    lag = percentiles(result.lag, (99,))[0]
    n = max(1, result.sent)
    server = (
        f"{result.server_cpu_s / n * 1e6:6.0f}" if result.server_cpu_s is not None else "     -"
    )
    errors = {str(k): v for k, v in result.statuses.items() if k != 200}
    return (
        f"  {result.label:<24} {result.rate:5.0f} {result.achieved:8.1f} {ms(p50):>6} {ms(p99):>7}"
        f" {ms(p999):>7} {ms(top):>7} {result.errors:6d} {ms(lag):>7}"
        f" {result.client_cpu_s / n * 1e6:6.0f} {server} {result.load_average:5.2f}"
        + (f"  {errors}" if errors else "")
    )


def verdict(ok: bool, *runs: LoadResult) -> str:
    """ "met" or "NOT met"; a ratio between runs that fell behind their schedule compares two
    overloads, so it gets no verdict."""
    behind = [r.label for r in runs if r.achieved < 0.95 * r.rate]
    if behind and ok:
        return f"no verdict ({', '.join(behind)} fell behind the schedule)"
    return "met" if ok else "NOT met"


def p99(result: LoadResult) -> float:
    return percentiles(result.latency, (99,))[0]


def flip_window(result: LoadResult, mark: str = "flip") -> tuple[list[float], list[float]]:
    """Latencies of requests intended in the second after the flip started, and of the rest."""
    at = result.marks[mark]
    inside: list[float] = []
    outside: list[float] = []
    for intended, latency in zip(result.intended, result.latency, strict=True):
        (inside if at <= intended < at + 1.0 else outside).append(latency)
    return inside, outside


def shadow_outcomes(port: int) -> dict[str, float]:
    """``shadow_requests_total`` by outcome, from the gateway's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "shadow_requests":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    outcome = sample.labels.get("outcome", "")
                    out[outcome] = out.get(outcome, 0) + sample.value
    return out


# --- data ---------------------------------------------------------------------------------


def build_home(home: Path, machines: int) -> None:
    """A platform home for the benchmark (run as ``python -m bench.serving`` from the repo root,
    so the tests' helpers import): online features for ``machines`` machines, two versions."""
    os.environ["PLATFORM_HOME"] = str(home)
    from datetime import date, timedelta

    from ml_platform_demo.generate import generate
    from ml_tasks.elt.pipeline import run_elt
    from ml_tasks.evaluation.records import ALERT_THRESHOLD_TAG
    from ml_tasks.features.pipeline import refresh
    from ml_tasks.registry.models import client
    from ml_tasks.settings import get_settings
    from tests.model_fixtures import make_training_set, train_and_register

    s = get_settings()
    # Yesterday's features: fresh for the gateway's staleness limit, as in production.
    first = date.today() - timedelta(days=2)
    generate(
        first, 2, machines, seed=3, bad_rate=0.0, interval_minutes=30, landing_dir=s.landing_dir
    )
    for i in range(2):
        run_elt(first + timedelta(days=i), settings=s, run_id="bench")
    last = first + timedelta(days=1)
    refresh(last, last, settings=s, run_id="bench")
    ref = make_training_set(home / "training_set")
    versions = [
        train_and_register(ref, run_id=f"bench-{n}", settings=s, rounds=rounds)["version"]
        for n, rounds in (("v1", 40), ("v2", 60))
    ]
    c = client(s)
    for version in versions:
        # Evaluation writes this tag (a quantile of holdout scores); a fixed one is enough here.
        c.set_model_version_tag(MODEL, version, ALERT_THRESHOLD_TAG, "0.5")
    c.set_registered_model_alias(MODEL, "champion", versions[0])
    ids = [f"M-{i:04d}" for i in range(1, machines + 1)]
    (home / "bench-serving.json").write_text(json.dumps({"machines": ids, "versions": versions}))


# --- the runs -----------------------------------------------------------------------------


@dataclass
class Target:
    """One side of an interleaved comparison: a server, its requests and what to call it."""

    label: str
    server: Server
    requests: list[bytes]
    version_of: Callable[[bytes], list[str]] | None = None
    before: Callable[[], Any] | None = None  # called before each of its slices (alias moves)
    snapshot: Callable[[], Any] | None = None  # called around each of its slices (counters)


def merge(into: LoadResult, part: LoadResult) -> None:
    """Append ``part`` (a later slice) to ``into``, times shifted to follow it."""
    shift = into.seconds
    into.intended += [t + shift for t in part.intended]
    into.latency += part.latency
    into.lag += part.lag
    into.statuses.update(part.statuses)
    into.versions.update(part.versions)
    into.elapsed += part.elapsed
    into.seconds += part.seconds
    into.client_cpu_s += part.client_cpu_s
    into.server_cpu_s = (into.server_cpu_s or 0.0) + (part.server_cpu_s or 0.0)
    into.snapshots += part.snapshots
    into.load_average = max(into.load_average, part.load_average)
    for name, at in part.marks.items():
        into.marks[name] = at + shift
    for version, at in part.first_version_at.items():
        into.first_version_at.setdefault(version, at + shift)
    for version, at in part.last_version_at.items():
        into.last_version_at[version] = at + shift


def interleaved(
    targets: list[Target], rate: float, seconds: float, slice_s: float = SLICE_S, **kwargs: Any
) -> list[LoadResult]:
    """``seconds`` of load on each target, in slices taken in turn (A B A B ...).

    On a shared machine the load of other work comes and goes within a minute; slices in turn
    let it hit every side alike, so the ratios between them hold. Each target is warmed up
    first; each slice reconnects before its clock starts. One row printed per target.
    """
    import uvloop

    for target in targets:
        if target.before:
            target.before()
        uvloop.run(
            open_loop(HOST, target.server.port, target.requests, rate, WARMUP_S, label="warm-up")
        )
    results = [LoadResult(label=t.label, rate=rate, seconds=0.0) for t in targets]
    slices = max(1, round(seconds / slice_s))
    for _ in range(slices):
        for target, result in zip(targets, results, strict=True):
            if target.before and len(targets) > 1:
                target.before()
            before = target.snapshot() if target.snapshot else None
            cpu0 = target.server.cpu_seconds()
            part = uvloop.run(
                open_loop(
                    HOST,
                    target.server.port,
                    target.requests,
                    rate,
                    seconds / slices,
                    label=target.label,
                    version_of=target.version_of,
                    **kwargs,
                )
            )
            part.server_cpu_s = target.server.cpu_seconds() - cpu0
            if target.snapshot:
                part.snapshots = [(before, target.snapshot())]
            merge(result, part)
    for result in results:
        print(describe(result), flush=True)
    return results


def measure(target: Target, rate: float, seconds: float, **kwargs: Any) -> LoadResult:
    """One run of ``seconds`` on one target (after its warm-up)."""
    return interleaved([target], rate, seconds, slice_s=seconds, **kwargs)[0]


def predict_requests(port: int, machines: list[str]) -> list[bytes]:
    """Single-machine /v1/predict requests over the fleet, in a fixed shuffled order."""
    order = [m for m in machines for _ in range(20)]
    random.Random(7).shuffle(order)
    return [encode_post("/v1/predict", {"machine_ids": [m]}, HOST, port) for m in order]


def answer_versions(body: bytes) -> list[str]:
    """The model versions a /v1/predict answer names (one per machine)."""
    import orjson

    return [str(a.get("model_version")) for a in orjson.loads(body).get("answers", [])]


def prepare_home(args: argparse.Namespace) -> tuple[Path, list[str]]:
    """The platform home to serve from and the machine ids to ask for."""
    if args.home is not None:
        # A home of make run: its fleet is M-0001.. (pass --machines to match its size).
        return args.home.resolve(), [f"M-{i:04d}" for i in range(1, args.machines + 1)]
    home = Path(tempfile.mkdtemp(prefix="bench-serving-")) / "platform"
    started = time.perf_counter()
    argv = [sys.executable, "-m", "bench.serving", "--build-home", str(home)]
    log = home.parent / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [*argv, "--machines", str(args.machines)], cwd=REPO_ROOT, stdout=out, stderr=out
        )
    if done.returncode:
        raise SystemExit(f"building the home failed; see {log}")
    print(f"home built in {time.perf_counter() - started:.0f} s: {home}", flush=True)
    return home, json.loads((home / "bench-serving.json").read_text())["machines"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--rates", default="100,200,500", help="requests per second, comma list")
    parser.add_argument("--home", type=Path, default=None, help="an existing platform home")
    parser.add_argument(
        "--machines", type=int, default=120, help="fleet size (ids M-0001..) to build or to ask for"
    )
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray Serve path")
    parser.add_argument("--floor-only", action="store_true", help="only the echo floor")
    parser.add_argument(
        "--ablate",
        action="store_true",
        help="only the gateway at the top rate with its background work switched off in turn",
    )
    parser.add_argument("--serve-echo", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--build-home", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--alias-helper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_home is not None:
        build_home(args.build_home, args.machines)
        return
    if args.serve_echo is not None:
        serve_echo(args.serve_echo)
        return
    if args.alias_helper:
        alias_helper()
        return
    run_all(args)


def run_all(args: argparse.Namespace) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    top = max(rates)
    print(
        f"{os.cpu_count()} cores; load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.seconds:g} s a run",
        flush=True,
    )
    env = dict(os.environ)
    port = free_port()
    echo = start_server(
        "echo", [sys.executable, __file__, "--serve-echo", str(port)], port, env, "/v2/health/live"
    )
    servers = [echo]
    try:
        if args.floor_only:
            machines = [f"M-{i:04d}" for i in range(1, args.machines + 1)]
            print(HEADER, flush=True)
            floor_side = Target("floor (echo)", echo, predict_requests(echo.port, machines))
            for rate in rates:
                measure(floor_side, rate, args.seconds)
            return
        home, machines = prepare_home(args)
        env["PLATFORM_HOME"] = str(home)
        if args.ablate:
            run_ablation(args, env, machines, top, servers)
        else:
            run_gateway(args, env, echo, machines, rates, top, servers)
    finally:
        for server in servers:
            server.stop()
    if args.home is None:
        shutil.rmtree(home.parent, ignore_errors=True)


def run_gateway(
    args: argparse.Namespace,
    env: dict[str, str],
    echo: Server,
    machines: list[str],
    rates: list[float],
    top: float,
    servers: list[Server],
) -> None:
    """The floor and the gateway rate by rate, shadow off/on, the flip, then Ray Serve."""
    registry = Registry(env)
    champion = str(registry.initial["aliases"].get("champion"))
    others = [str(v) for v in registry.initial["versions"] if str(v) != champion]
    if champion == "None" or not others:
        raise SystemExit("the home needs a champion and a second version")
    second = others[-1]
    print(
        f"{len(machines)} machines; champion v{champion}, second version v{second}; "
        f"{CONNECTIONS} keep-alive connections, timeout {TIMEOUT_S:g} s, "
        f"{WARMUP_S:g} s warm-up before each series",
        flush=True,
    )
    # No shadow or canary to start from: the plain champion path.
    registry.move(delete=("shadow", "canary"))
    port = free_port()
    argv = [sys.executable, "-m", "ml_tasks", "serve", "--host", HOST, "--port", str(port)]
    gateway = start_server("gateway", argv, port, env, "/v2/health/ready")
    servers.append(gateway)
    url = f"http://{HOST}:{port}"
    floor_side = Target("floor (echo)", echo, predict_requests(echo.port, machines))
    requests = predict_requests(gateway.port, machines)
    plain_side = Target("gateway", gateway, requests, answer_versions)
    try:
        print("generator headroom (the echo floor at 4x the top rate):", flush=True)
        print(HEADER, flush=True)
        measure(replace(floor_side, label="generator vs echo"), 4 * top, min(args.seconds, 10.0))
        print(
            f"floor and gateway side by side, {SLICE_S:g} s slices in turn "
            "(single-machine /v1/predict):",
            flush=True,
        )
        print(HEADER, flush=True)
        floor: dict[float, LoadResult] = {}
        plain: dict[float, LoadResult] = {}
        for rate in rates:
            floor[rate], plain[rate] = interleaved([floor_side, plain_side], rate, args.seconds)

        def shadow_off() -> None:
            registry.move(delete=("shadow",), reload=url)
            time.sleep(1.0)  # the swap settles outside the measured slice

        def shadow_on() -> None:
            registry.move(set_={"shadow": second}, reload=url)
            time.sleep(1.0)

        print(f"shadow off and on at {top:.0f}/s, slices in turn:", flush=True)
        print(HEADER, flush=True)
        off, on = interleaved(
            [
                replace(plain_side, label="gateway, shadow off", before=shadow_off),
                replace(
                    plain_side,
                    label=f"gateway, shadow v{second}",
                    before=shadow_on,
                    snapshot=lambda: shadow_outcomes(port),
                ),
            ],
            top,
            args.seconds,
        )
        shadow_off()
        mirrored: Counter = Counter()
        for before, after in on.snapshots:
            mirrored.update({k: int(after.get(k, 0) - before.get(k, 0)) for k in after})

        async def flip() -> None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                None,
                lambda: registry.move(
                    set_={"previous_champion": champion, "champion": second}, reload=url
                ),
            )

        print(f"alias flip in the middle of a run at {top:.0f}/s:", flush=True)
        print(HEADER, flush=True)
        flipped = measure(
            replace(plain_side, label=f"gateway, flip v{champion}->v{second}"),
            top,
            args.seconds,
            events=[(args.seconds / 2, flip)],
        )
        print(timeline(flipped, flipped.marks["flip"]), flush=True)
        registry.restore(url)
    finally:
        gateway.stop()
        registry.restore()
        registry.close()
    ray: dict[float, LoadResult] = {}
    if not args.skip_ray:
        ray = run_ray(args, env, machines, rates, servers)
    report(floor, plain, (off, on), dict(mirrored), flipped, ray, champion, second, top)


def run_ray(
    args: argparse.Namespace,
    env: dict[str, str],
    machines: list[str],
    rates: list[float],
    servers: list[Server],
) -> dict[float, LoadResult]:
    """The same gateway as a Ray Serve deployment on a local Ray, rate by rate, up to the first
    rate it cannot keep up with (achieved under 95 % of it, or errors)."""
    port = free_port()
    started = time.perf_counter()
    argv = [sys.executable, "-m", "ml_tasks.serving.ray_serve", str(port)]
    server = start_server("ray-serve", argv, port, env, "/v2/health/ready", stop=signal.SIGINT)
    servers.append(server)
    print(f"Ray Serve gateway (local Ray) ready in {time.perf_counter() - started:.0f} s:")
    print(HEADER, flush=True)
    side = Target("Ray Serve gateway", server, predict_requests(port, machines), answer_versions)
    results = {}
    try:
        for rate in rates:
            results[rate] = result = measure(side, rate, args.seconds)
            if result.errors or result.achieved < 0.95 * rate:
                print(f"  saturated at {rate:.0f}/s: higher rates not run", flush=True)
                break
    finally:
        server.stop()
    return results


# Gateways whose background work is switched off through the settings, one at a time.
ABLATIONS = {
    "gateway as is": {},
    "log writes deferred": {
        "PLATFORM_PREDICTIONS_FLUSH_SECONDS": "1000000",
        "PLATFORM_PREDICTIONS_BATCH_ROWS": "1000000000",
    },
    "registry poll off": {"PLATFORM_GATEWAY_POLL_SECONDS": "1000000"},
}


def run_ablation(
    args: argparse.Namespace,
    env: dict[str, str],
    machines: list[str],
    top: float,
    servers: list[Server],
) -> None:
    """Where the gateway's tail comes from: one gateway process per :data:`ABLATIONS` entry,
    loaded in slices taken in turn at the top rate; seconds with a slow answer counted."""
    targets = []
    for name, overrides in ABLATIONS.items():
        port = free_port()
        argv = [sys.executable, "-m", "ml_tasks", "serve", "--host", HOST, "--port", str(port)]
        server = start_server("ablation", argv, port, {**env, **overrides}, "/v2/health/ready")
        servers.append(server)
        targets.append(Target(name, server, predict_requests(port, machines)))
    print(f"gateway background work off in turn, {top:.0f}/s, {SLICE_S:g} s slices in turn:")
    print(HEADER, flush=True)
    for result in interleaved(targets, top, args.seconds):
        worst: dict[int, float] = {}
        for intended, latency in zip(result.intended, result.latency, strict=True):
            worst[int(intended)] = max(worst.get(int(intended), 0.0), latency)
        slow = sum(1 for latency in worst.values() if latency > 2 * SLA_P99_S)
        print(
            f"  {result.label:<22} seconds with an answer over {ms(2 * SLA_P99_S)} ms: "
            f"{slow} of {len(worst)}"
        )


def timeline(result: LoadResult, at: float, before: int = 3, after: int = 4) -> str:
    """p99 and max latency per second around ``at`` (by intended send time)."""
    cells = []
    for k in range(-before, after):
        start = at + k
        window = [
            latency
            for intended, latency in zip(result.intended, result.latency, strict=True)
            if start <= intended < start + 1.0
        ]
        if window:
            p, top = percentiles(window, (99, 100))
            cells.append(f"{k:+d} s {ms(p)}/{ms(top)}")
    return "  p99/max ms by second from the flip: " + ", ".join(cells)


def report(
    floor: dict[float, LoadResult],
    plain: dict[float, LoadResult],
    shadow: tuple[LoadResult, LoadResult],
    mirrored: dict[str, int],
    flipped: LoadResult,
    ray: dict[float, LoadResult],
    champion: str,
    second: str,
    top: float,
) -> None:
    """The goals of issue 15 with their verdicts."""
    print("ratios and goals:")
    for rate, result in plain.items():
        print(
            f"  {rate:5.0f}/s  gateway p99 {ms(p99(result))} ms = "
            f"{p99(result) / p99(floor[rate]):.2f}x the floor's {ms(p99(floor[rate]))} ms"
        )
    base = plain[top]
    ok = p99(base) <= SLA_P99_S
    print(f"  p99 at {top:.0f}/s {ms(p99(base))} ms <= {ms(SLA_P99_S)} ms: {verdict(ok)}")
    ratio = p99(base) / p99(floor[top])
    print(
        f"  p99 at {top:.0f}/s {ratio:.2f}x the floor <= {FLOOR_RATIO:g}x: "
        f"{verdict(ratio <= FLOOR_RATIO, base)}"
    )
    errors = sum(r.errors for r in plain.values())
    print(f"  errors over the gateway runs: {errors}: {verdict(errors == 0)}")
    off, on = shadow
    ratio = p99(on) / p99(off)
    print(
        f"  shadow on: p99 {ms(p99(on))} ms = {ratio:.2f}x shadow off's {ms(p99(off))} ms "
        f"<= {SHADOW_RATIO:g}x: {verdict(ratio <= SHADOW_RATIO, off, on)}; mirrors {mirrored}; "
        f"errors {on.errors}"
    )
    inside, outside = flip_window(flipped)
    flip_p99, steady_p99 = percentiles(inside, (99,))[0], percentiles(outside, (99,))[0]
    ratio = flip_p99 / steady_p99
    at = flipped.marks["flip"]
    answers = ", ".join(f"v{v}: {n}" for v, n in sorted(flipped.versions.items()))
    print(
        f"  flip at {at:.1f} s: p99 of the flip second {ms(flip_p99)} ms = {ratio:.2f}x the "
        f"steady {ms(steady_p99)} ms <= {FLIP_RATIO:g}x: {verdict(ratio <= FLIP_RATIO, flipped)}; "
        f"errors {flipped.errors}: {verdict(flipped.errors == 0)}"
    )
    first = flipped.first_version_at.get(second)
    last = flipped.last_version_at.get(champion)
    print(
        f"    answers by version {answers}; the flip (alias moves + reload) took "
        f"{flipped.marks['flip_done'] - at:.2f} s; last v{champion} answer sent at "
        f"{'-' if last is None else f'{last:.2f} s'}, first v{second} at "
        f"{'-' if first is None else f'{first:.2f} s'}"
    )
    for rate, result in ray.items():
        p50 = percentiles(result.latency, (50,))[0] / percentiles(plain[rate].latency, (50,))[0]
        print(
            f"  Ray Serve at {rate:5.0f}/s: p99 {ms(p99(result))} ms = "
            f"{p99(result) / p99(plain[rate]):.2f}x uvicorn's, p50 {p50:.2f}x; "
            f"errors {result.errors}"
        )
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
