"""The gateway as plain Python: route, fetch features, score, mirror, log; no HTTP here.

:class:`Gateway` holds one immutable :class:`~ml_tasks.serving.slots.SlotTable`; a poller
thread re-reads the registry every ``settings.gateway_poll_seconds`` (and :meth:`Gateway.reload`
does it at once) and swaps in a new table with one reference assignment. :meth:`Gateway.predict`
reads the table once at its start, so a request in flight during a flip finishes on the models
it started with, and every answer names the version that produced it.

Mirroring (shadow and canary comparison): with alias ``shadow`` set, every champion-answered
request is mirrored to the shadow model; with a canary active, canary answers are mirrored to
the champion, and champion answers to the canary only if no shadow is set. A mirror goes into a
bounded queue without waiting; when the queue is full it is dropped and counted, never delaying
an answer. One worker thread scores the mirrors and writes their prediction-log rows with the
mirror's version and score beside the answer; rows nothing mirrors are written at once. The
prediction log buffers and writes in batches on its own thread.

Health: with the registry unreachable the loaded table keeps serving, but after
:data:`REGISTRY_FAILURES` failed polls in a row the gateway is not ready (it could not honour an
alias move or a rollback) and :meth:`Gateway.predict` raises :class:`GatewayUnavailable`; the
next good poll recovers it. An online store that cannot be read makes requests fail with
:class:`GatewayUnavailable` and readiness false until a lookup succeeds again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ml_tasks.registry.models import CANARY, CHAMPION, SHADOW
from ml_tasks.serving.features import FeatureSource, MachineFeatures, StoreUnavailable
from ml_tasks.serving.metrics import GatewayMetrics
from ml_tasks.serving.router import route
from ml_tasks.serving.scorer import LoadedModel
from ml_tasks.serving.slots import SlotLoader, SlotTable
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)

MODEL_NAME = "failure_model"
# Failed registry polls in a row before the gateway stops calling itself ready.
REGISTRY_FAILURES = 3
UNKNOWN_MACHINE = "unknown machine: not in the online store"
MODEL_ERROR = "model error: the model serving this machine failed to score it (see the gateway log)"


class GatewayUnavailable(RuntimeError):
    """The gateway cannot answer now (registry or store down, no champion): HTTP 503."""


class PredictionLog(Protocol):
    """What the gateway needs of the prediction log (:mod:`ml_tasks.serving.prediction_log`)."""

    def append(self, rows: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


@dataclass
class PredictResult:
    """The answers of one request, one per distinct machine id, in request order."""

    request_id: str
    answers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Mirror:
    """Rows to score again on another slot's model, after the answer went out."""

    table: SlotTable
    alias: str
    rows: list[dict[str, Any]]
    features: list[dict[str, Any]]


def _default_log(settings: Settings) -> PredictionLog:
    """The Delta prediction log (its pyarrow import happens here, not when the gateway loads)."""
    from ml_tasks.serving.prediction_log import PredictionLogWriter

    writer: PredictionLog = PredictionLogWriter(settings)
    return writer


def _policy_sensors(settings: Settings) -> tuple[str, ...]:
    """The sensors of the promotion policy's robustness section (read once)."""
    from ml_tasks.release.policy import load_policy

    try:
        return tuple(load_policy(settings=settings).robustness.sensors)
    except Exception as err:  # an unreadable policy must not stop serving: no sensor flags
        log.warning("promotion policy not readable (%s): answers carry no missing_sensors", err)
        return ()


class Gateway:
    """Online predictions for machine ids from the registry's champion/canary/shadow."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model_name: str = MODEL_NAME,
        prediction_log: PredictionLog | None = None,
        poll: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        self.model_name = model_name
        self.metrics = GatewayMetrics()
        self.features = FeatureSource(self.settings)
        self._prediction_log = prediction_log
        self._poll = poll
        self._table = SlotTable()
        self._loader: SlotLoader | None = None
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._mirrors: queue.Queue[_Mirror] = queue.Queue(
            maxsize=max(1, self.settings.gateway_shadow_queue)
        )
        self._threads: list[threading.Thread] = []
        self._registry_failures = 0
        self._registry_down_since: datetime | None = None
        self._last_error: str | None = None
        self._store_error: str | None = None
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load the slot table (a failure leaves the gateway not ready), start the threads."""
        from ml_tasks.registry.models import client

        if self._started or self._stop.is_set():
            return  # running, or closed (a closed gateway is not restarted)
        self._started = True
        if self._prediction_log is None:
            self._prediction_log = _default_log(self.settings)
        self._loader = SlotLoader(
            client(self.settings),
            self.model_name,
            tracking_uri=self.settings.mlflow_tracking_uri,
            sensors=_policy_sensors(self.settings),
        )
        try:
            self.reload("startup")
        except GatewayUnavailable as err:
            log.error("gateway started without models: %s", err)
        worker = threading.Thread(target=self._mirror_worker, name="gateway-shadow", daemon=True)
        self._threads.append(worker)
        if self._poll:
            poller = threading.Thread(target=self._poll_loop, name="gateway-poll", daemon=True)
            self._threads.append(poller)
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop polling, score what the mirror queue holds, flush and close the log."""
        if self._stop.is_set():
            return  # closed already
        self._started = False  # new requests get GatewayUnavailable from here on
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        # A request already past its check may have queued a mirror after the worker left.
        while True:
            try:
                self._score_mirror(self._mirrors.get_nowait())
            except queue.Empty:
                break
        if self._prediction_log is not None:
            self._prediction_log.close()

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the slot table ----------------------------------------------------------------------

    @property
    def loader(self) -> SlotLoader | None:
        """What reads the registry (None before :meth:`start`)."""
        return self._loader

    @property
    def table(self) -> SlotTable:
        """The slot table requests read now."""
        return self._table

    def reload(self, reason: str = "admin") -> dict[str, Any]:
        """Re-read the aliases and the canary share now and swap the table; what changed.

        Raises :class:`GatewayUnavailable` when the registry cannot be read.
        """
        if self._loader is None:
            raise GatewayUnavailable("gateway not started")
        with self._reload_lock:
            before = self._table
            try:
                read = self._loader.read(before, retry_refused=reason != "poll")
            except Exception as err:  # any registry client error: the registry is unreachable
                self._registry_failed(err)
                raise GatewayUnavailable(f"registry unreachable: {err}") from err
            self._registry_failures = 0
            self._registry_down_since = None
            after = read.table
            changed = (
                before.versions() != after.versions()
                or before.canary_percent != after.canary_percent
                or any(
                    after.models[a] is not m for a, m in before.models.items() if a in after.models
                )
            )
            self._table = after  # the swap: one reference assignment
            for refusal in read.refused:
                self.metrics.model_load_failures.labels(refusal.kind).inc()
                self._last_error = refusal.reason
            if changed:
                self.metrics.model_swaps.labels(reason).inc()
                self.metrics.set_slots(after.versions(), after.canary_ratio())
                log.info(
                    "slot table swapped (%s): %s -> %s, canary %d %%",
                    reason,
                    before.versions(),
                    after.versions(),
                    after.canary_percent,
                )
            if after.champion is None:
                refused = [r for r in self._loader.refused.values() if r.alias == CHAMPION]
                self._last_error = (
                    f"champion refused: {refused[0].reason}"
                    if refused
                    else f"no alias {CHAMPION} on {self.model_name} in the registry"
                )
        return {
            "reason": reason,
            "changed": changed,
            "before": before.versions(),
            "after": after.versions(),
            "canary_percent": after.canary_percent,
            "loaded": list(read.loaded),
            "refused": [r.to_dict() for r in read.refused],
        }

    def _registry_failed(self, err: BaseException) -> None:
        self._registry_failures += 1
        if self._registry_down_since is None:
            self._registry_down_since = datetime.now(UTC)
        self._last_error = f"registry unreachable: {err}"
        log.warning("registry read failed (%d in a row): %s", self._registry_failures, err)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.settings.gateway_poll_seconds):
            try:
                self.reload("poll")
            except GatewayUnavailable:
                pass  # counted in _registry_failed; readiness reports it
            except Exception:  # the poller must outlive any one bad read
                log.exception("registry poll failed")
            if self._store_error is not None:
                self._store_error = self.features.probe()

    # -- health ------------------------------------------------------------------------------

    def readiness(self) -> tuple[bool, str | None]:
        """Whether requests can be answered now, and why not."""
        reason = self._unavailable(self._table)
        if reason is None and self._store_error is not None:
            self._store_error = self.features.probe()
            reason = self._store_error
        return reason is None, reason

    def _unavailable(self, table: SlotTable) -> str | None:
        if not self._started:
            return "gateway closed" if self._stop.is_set() else "gateway not started"
        if self._registry_failures >= REGISTRY_FAILURES:
            since = self._registry_down_since.isoformat() if self._registry_down_since else "?"
            return f"registry unreachable since {since}: cannot honour an alias move or rollback"
        if table.champion is None:
            detail = f" ({self._last_error})" if self._last_error else ""
            return f"no champion of {self.model_name} loaded{detail}"
        return None

    def status(self) -> dict[str, Any]:
        """Loaded versions per slot, the canary share, the mirror queue, the last read."""
        table = self._table
        ready, reason = self.readiness()
        return {
            "model_name": self.model_name,
            "ready": ready,
            "reason": reason,
            "slots": {
                alias: {
                    "version": m.version,
                    "sha256": m.sha256,
                    "loaded_at": m.loaded_at.isoformat(),
                    "threshold": m.threshold,
                }
                for alias, m in table.models.items()
            },
            "canary_percent": table.canary_percent,
            "canary_active": table.has_canary,
            "shadow_queue_depth": self._mirrors.qsize(),
            "shadow_queue_capacity": self._mirrors.maxsize,
            "aliases_read_at": (
                table.aliases_read_at.isoformat() if table.aliases_read_at else None
            ),
            "last_error": self._last_error,
            "refused": [
                r.to_dict() for r in (self._loader.refused.values() if self._loader else ())
            ],
        }

    # -- predictions -------------------------------------------------------------------------

    def predict(
        self,
        machine_ids: Sequence[str],
        *,
        route: str = "v1",
        request_id: str | None = None,
    ) -> PredictResult:
        """Answer each distinct machine id (in request order): scored (200) or unknown (404)."""
        started = time.perf_counter()
        table = self._table  # read once: this request finishes on these models
        reason = self._unavailable(table)
        if reason is not None:
            raise GatewayUnavailable(reason)
        ids = list(dict.fromkeys(str(m).strip() for m in machine_ids))
        if not ids or any(not m for m in ids):
            raise ValueError("machine ids must be non-empty strings")
        rid = request_id or uuid.uuid4().hex
        found = self._fetch(ids)
        scored = self._score(ids, found, table)
        now = datetime.now(UTC)
        latency = time.perf_counter() - started
        answers: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for machine in ids:
            features = found.get(machine)
            hit = scored.get(machine)
            inference_s = 0.0
            if features is None or hit is None:
                answer = _answer(machine, 404, error=UNKNOWN_MACHINE)
            else:
                alias, model, score, missing, inference_s = hit
                if score is None:
                    # The model of this machine's slot failed: a 503 for this machine, named and
                    # logged, so a canary that throws shows in the live error rate at once.
                    answer = _answer(
                        machine, 503, error=MODEL_ERROR, model_version=model.version, alias=alias
                    )
                else:
                    answer = _answer(
                        machine,
                        200,
                        probability=score,
                        alert=model.alert(score),
                        threshold=model.threshold,
                        model_version=model.version,
                        alias=alias,
                        feature_timestamp=features.feature_ts.isoformat()
                        if features.feature_ts
                        else None,
                        stale=features.stale,
                        missing_sensors=missing,
                    )
            answers.append(answer)
            rows.append(_log_row(answer, rid, route, now, latency, inference_s, features))
        self._mirror_or_write(table, rows, found)
        return PredictResult(request_id=rid, answers=answers)

    def _fetch(self, ids: list[str]) -> dict[str, MachineFeatures | None]:
        started = time.perf_counter()
        try:
            found = self.features.fetch(ids)
        except StoreUnavailable as err:
            self._store_error = str(err)
            raise GatewayUnavailable(str(err)) from err
        self._store_error = None
        self.metrics.feature_fetch_duration.labels(self.features.store).observe(
            time.perf_counter() - started
        )
        return found

    def _score(
        self, ids: list[str], found: dict[str, MachineFeatures | None], table: SlotTable
    ) -> dict[str, tuple[str, LoadedModel, float | None, list[str], float]]:
        """machine -> (alias, model, score, missing sensors, seconds of its model call).

        A slot whose model raises answers its machines with score None (503 for them); the
        other slots' machines in the same request are still scored.
        """
        groups: dict[str, list[str]] = {}
        for machine in ids:
            if found.get(machine) is not None:
                groups.setdefault(route(machine, table), []).append(machine)
        out: dict[str, tuple[str, LoadedModel, float | None, list[str], float]] = {}
        for alias, members in groups.items():
            model = table.models[alias]
            started = time.perf_counter()
            try:
                matrix = model.matrix([found[m].values for m in members])  # type: ignore[union-attr]
                scores = model.score(matrix)
            except Exception:  # a broken model must not take the other slots' answers down
                log.exception(
                    "%s v%s failed to score %d machine(s)", alias, model.version, len(members)
                )
                failed = time.perf_counter() - started
                for machine in members:
                    out[machine] = (alias, model, None, [], failed)
                continue
            seconds = time.perf_counter() - started
            self.metrics.inference_duration.labels(alias, model.version).observe(seconds)
            for i, machine in enumerate(members):
                missing = model.missing_sensors(matrix[i])
                out[machine] = (alias, model, float(scores[i]), missing, seconds)
        return out

    # -- mirroring ---------------------------------------------------------------------------

    @staticmethod
    def mirror_alias(table: SlotTable, answered_by: str) -> str | None:
        """Which slot scores a copy of an answer from ``answered_by`` (None: no mirror)."""
        if answered_by == CHAMPION:
            if SHADOW in table.models:
                return SHADOW
            return CANARY if table.has_canary else None
        if answered_by == CANARY:
            return CHAMPION
        return None

    def _mirror_or_write(
        self,
        table: SlotTable,
        rows: list[dict[str, Any]],
        found: dict[str, MachineFeatures | None],
    ) -> None:
        now_rows: list[dict[str, Any]] = []
        jobs: dict[str, _Mirror] = {}
        for row in rows:
            target = self.mirror_alias(table, row["alias"]) if row["status"] == 200 else None
            if target is None:
                now_rows.append(row)
                continue
            job = jobs.setdefault(target, _Mirror(table, target, [], []))
            job.rows.append(row)
            job.features.append(found[row["machine_id"]].values)  # type: ignore[union-attr]
        for job in jobs.values():
            try:
                self._mirrors.put_nowait(job)
            except queue.Full:
                self.metrics.shadow_requests.labels("dropped").inc()
                for row in job.rows:
                    row["shadow_outcome"] = "dropped"
                now_rows.extend(job.rows)
        self.metrics.shadow_queue_depth.set(self._mirrors.qsize())
        if now_rows:
            self._write(now_rows)

    def _mirror_worker(self) -> None:
        """Score queued mirrors until closed, then what is left in the queue."""
        while True:
            try:
                job = self._mirrors.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            self.metrics.shadow_queue_depth.set(self._mirrors.qsize())
            self._score_mirror(job)

    def _score_mirror(self, job: _Mirror) -> None:
        model = job.table.models.get(job.alias)
        try:
            if model is None:
                raise LookupError(f"no {job.alias} model in the table the request read")
            scores = model.score(model.matrix(job.features))
        except Exception as err:  # a mirror must never hurt serving: count and log it
            log.warning("mirror to %s failed: %s", job.alias, err)
            self.metrics.shadow_requests.labels("error").inc()
            for row in job.rows:
                row.update(shadow_alias=job.alias, shadow_outcome="error")
            self._write(job.rows)
            return
        self.metrics.shadow_requests.labels("scored").inc()
        for row, score in zip(job.rows, scores, strict=True):
            shadow_score = float(score)
            row.update(
                shadow_alias=job.alias,
                shadow_version=model.version,
                shadow_score=shadow_score,
                shadow_alert=model.alert(shadow_score),
                shadow_outcome="scored",
            )
            self.metrics.shadow_score_delta.observe(abs(shadow_score - row["score"]))
        self._write(job.rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if self._prediction_log is None:
            return
        try:
            self._prediction_log.append(rows)
        except Exception:  # the log must not fail an answer already computed
            log.exception("prediction log append failed (%d rows)", len(rows))


def _answer(
    machine_id: str,
    status: int,
    *,
    probability: float | None = None,
    alert: bool | None = None,
    threshold: float | None = None,
    model_version: str | None = None,
    alias: str | None = None,
    feature_timestamp: str | None = None,
    stale: bool = False,
    missing_sensors: list[str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "machine_id": machine_id,
        "status": status,
        "probability": probability,
        "alert": alert,
        "threshold": threshold,
        "model_version": model_version,
        "alias": alias,
        "feature_timestamp": feature_timestamp,
        "stale": stale,
        "missing_sensors": missing_sensors or [],
        "error": error,
    }


def _log_row(
    answer: dict[str, Any],
    request_id: str,
    route: str,
    now: datetime,
    latency_s: float,
    inference_s: float,
    features: MachineFeatures | None,
) -> dict[str, Any]:
    """The prediction-log row of one answer (columns of :mod:`ml_tasks.serving.prediction_log`)."""
    return {
        "request_id": request_id,
        "ts": now,
        "day": now.date(),
        "route": route,
        "machine_id": answer["machine_id"],
        "status": answer["status"],
        "alias": answer["alias"],
        "model_version": answer["model_version"],
        "score": answer["probability"],
        "alert": answer["alert"],
        "threshold": answer["threshold"],
        "latency_s": latency_s,
        "inference_s": inference_s,
        "feature_ts": features.feature_ts if features is not None else None,
        "stale": answer["stale"],
        "missing_sensors": ",".join(answer["missing_sensors"]),
        "error": answer["error"],
        "shadow_alias": None,
        "shadow_version": None,
        "shadow_score": None,
        "shadow_alert": None,
        "shadow_outcome": "none",
    }
