"""The slot table: which model version answers as champion, canary (and its share), shadow,
and which stays loaded as previous champion for an instant rollback.

Read from the registry in one call (the registered model's aliases and its
``canary.traffic_percent`` tag), then per aliased version its tags. A version is loaded once:
its files are downloaded into a temporary folder, hashed (:func:`directory_digest`) and compared
with the ``model_sha256`` recorded at registration before the booster is read from those same
verified files. A version that does not match (or has no digest, or is quarantined) is refused:
the slot keeps the model it had, the refusal is logged and kept in :attr:`SlotLoader.refused`,
and it is not downloaded again on every poll (an admin reload retries it). A version already
loaded under any alias is reused, so moving aliases between loaded versions (a blue/green flip,
a rollback) needs no I/O.

:class:`SlotTable` is immutable: the gateway swaps the whole table with one reference
assignment, and a request that read the old table finishes on it.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_tasks.registry.models import CANARY, CHAMPION, PREVIOUS_CHAMPION, SHADOW
from ml_tasks.serving.scorer import (
    THRESHOLD_TAG,
    LoadedModel,
    ModelLoadError,
    load_model,
    parse_threshold,
)

log = logging.getLogger(__name__)

SLOTS = (CHAMPION, CANARY, SHADOW, PREVIOUS_CHAMPION)
DIGEST_MISMATCH = "digest_mismatch"
QUARANTINED = "quarantined"
LOAD_ERROR = "load_error"


@dataclass(frozen=True)
class SlotTable:
    """Loaded models per alias and the canary's share; never changed once built."""

    models: Mapping[str, LoadedModel] = field(default_factory=dict)
    canary_percent: int = 0
    aliases_read_at: datetime | None = None

    @property
    def champion(self) -> LoadedModel | None:
        return self.models.get(CHAMPION)

    @property
    def has_canary(self) -> bool:
        """A canary is loaded and holds a share of the machines."""
        return CANARY in self.models and self.canary_percent > 0

    def get(self, alias: str) -> LoadedModel | None:
        return self.models.get(alias)

    def versions(self) -> dict[str, str]:
        """alias -> version of every loaded slot."""
        return {alias: m.version for alias, m in self.models.items()}

    def canary_ratio(self) -> float:
        return self.canary_percent / 100 if self.has_canary else 0.0


@dataclass(frozen=True)
class Refusal:
    """A version the gateway would not load, and why."""

    version: str
    alias: str
    kind: str  # digest_mismatch | quarantined | load_error
    reason: str
    expected_sha256: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "alias": self.alias,
            "kind": self.kind,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class TableRead:
    """The outcome of one registry read: the new table and what it took."""

    table: SlotTable
    loaded: tuple[str, ...]  # versions downloaded and verified by this read
    refused: tuple[Refusal, ...]  # versions refused by this read (not repeats)


# A poll that finds the aliases and the canary share unchanged re-reads the versions' tags
# (digest, quarantine, alert threshold) at most this often; an alias move or an admin reload
# reads everything at once.
FULL_READ_SECONDS = 30.0


def parse_percent(raw: str | None) -> int:
    """The canary share tag as an int in 0..100 (0 when absent or unusable)."""
    try:
        value = int(float(str(raw)))
    except (TypeError, ValueError):
        return 0
    return min(100, max(0, value))


class SlotLoader:
    """Builds slot tables from the registry; remembers refusals so polls do not retry them."""

    def __init__(
        self,
        mlflow_client: Any,
        model_name: str,
        *,
        tracking_uri: str,
        sensors: tuple[str, ...] = (),
    ) -> None:
        self.client = mlflow_client
        self.model_name = model_name
        self.tracking_uri = tracking_uri
        self.sensors = sensors
        self.refused: dict[str, Refusal] = {}  # version -> its latest refusal
        # What the last full read saw, and when: a poll that finds the same aliases and share
        # skips the per-version reads (see read()).
        self._last_seen: tuple[tuple[tuple[str, str], ...], int] | None = None
        self._last_full = 0.0

    def read_aliases(self) -> tuple[dict[str, str], int]:
        """Slot aliases -> versions and the canary percent, in one registry call.

        A model that is not registered has no aliases; any other registry error propagates
        (the registry is unreachable).
        """
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

        from ml_tasks.registry.aliases import TRAFFIC_TAG

        try:
            model = self.client.get_registered_model(self.model_name)
        except MlflowException as err:
            if err.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
                return {}, 0
            raise
        found = {a: str(v) for a, v in (model.aliases or {}).items() if a in SLOTS}
        return found, parse_percent((model.tags or {}).get(TRAFFIC_TAG))

    def read(self, current: SlotTable, *, retry_refused: bool = False) -> TableRead:
        """The table the registry asks for now, built from ``current``'s models where it can."""
        aliases, percent = self.read_aliases()
        read_at = datetime.now(UTC)
        seen = (tuple(sorted(aliases.items())), percent)
        unchanged = seen == self._last_seen and current.versions() == aliases
        if (
            unchanged
            and not retry_refused
            and time.monotonic() - self._last_full < FULL_READ_SECONDS
        ):
            # Nothing moved: skip the per-version registry reads. Each one is an ORM query
            # holding the GIL, and every 2 s they stalled the gateway's event loop (the
            # serving benchmark's --ablate run: p99 947 ms with the poll, 217 ms without).
            table = SlotTable(
                models=dict(current.models), canary_percent=percent, aliases_read_at=read_at
            )
            return TableRead(table=table, loaded=(), refused=())
        self._last_seen, self._last_full = seen, time.monotonic()
        by_version = {m.version: m for m in current.models.values()}
        models: dict[str, LoadedModel] = {}
        loaded: list[str] = []
        refused: list[Refusal] = []
        for alias in SLOTS:
            version = aliases.get(alias)
            if version is None:
                continue
            model, refusal = self._model(alias, version, by_version, retry_refused)
            if model is not None:
                models[alias] = model
                if version not in by_version:
                    loaded.append(version)
                    by_version[version] = model
            else:
                kept = current.models.get(alias)
                if kept is not None:  # the slot keeps what it had
                    models[alias] = kept
                if refusal is not None:
                    refused.append(refusal)
        named = set(aliases.values())
        for version in [v for v in self.refused if v not in named]:
            del self.refused[version]  # no alias asks for it any more: nothing to report
        table = SlotTable(models=models, canary_percent=percent, aliases_read_at=read_at)
        return TableRead(table=table, loaded=tuple(loaded), refused=tuple(refused))

    def _model(
        self,
        alias: str,
        version: str,
        by_version: dict[str, LoadedModel],
        retry_refused: bool,
    ) -> tuple[LoadedModel | None, Refusal | None]:
        """The loaded model for ``version`` (reused, or downloaded and verified), or the
        refusal (None when it repeats one already reported)."""
        from ml_tasks.registry.aliases import QUARANTINE_TAG
        from ml_tasks.registry.digest import DIGEST_TAG

        mv = self.client.get_model_version(self.model_name, version)
        tags = dict(mv.tags or {})
        expected = tags.get(DIGEST_TAG)
        threshold = parse_threshold(tags.get(THRESHOLD_TAG))
        quarantined = any(k.startswith(QUARANTINE_TAG) for k in tags)
        have = by_version.get(version)
        if have is not None and have.sha256 == expected and not quarantined:
            if have.threshold != threshold:  # a re-evaluated threshold: no reload needed
                have = dataclasses.replace(have, threshold=threshold)
                by_version[version] = have
            return have, None
        previous = self.refused.get(version)
        if previous is not None and previous.expected_sha256 == expected and not retry_refused:
            return None, None  # reported already; an admin reload retries it
        if quarantined:
            return None, self._refuse(
                alias, version, QUARANTINED, f"v{version} is quarantined", expected
            )
        try:
            model = self._download_and_load(version, expected, threshold)
        except _Refused as err:
            return None, self._refuse(alias, version, err.kind, str(err), expected)
        self.refused.pop(version, None)
        return model, None

    def _download_and_load(
        self, version: str, expected: str | None, threshold: float | None
    ) -> LoadedModel:
        import mlflow

        from ml_tasks.registry.digest import DIGEST_TAG, directory_digest

        name = self.model_name
        uri = self.client.get_model_version_download_uri(name, version)
        with tempfile.TemporaryDirectory(prefix="gateway-model-") as tmp:
            try:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=tmp, tracking_uri=self.tracking_uri
                )
            except Exception as err:  # any store: MlflowException, OSError, HTTP errors
                raise _Refused(LOAD_ERROR, f"{name} v{version}: download failed: {err}") from err
            actual = directory_digest(local)
            if not expected:
                raise _Refused(
                    DIGEST_MISMATCH, f"{name} v{version} has no {DIGEST_TAG} tag to verify against"
                )
            if actual != expected:
                raise _Refused(
                    DIGEST_MISMATCH,
                    f"{name} v{version}: model files hash to {actual[:16]}..., registered as "
                    f"{expected[:16]}... (the artifact changed after registration)",
                )
            try:
                model = load_model(
                    Path(local),
                    version=version,
                    sha256=actual,
                    threshold=threshold,
                    sensors=self.sensors,
                )
            except ModelLoadError as err:
                raise _Refused(LOAD_ERROR, str(err)) from err
        if threshold is None:
            log.warning(
                "%s v%s has no %s tag: its answers carry no alert decision",
                name,
                version,
                THRESHOLD_TAG,
            )
        log.info("loaded %s v%s (sha256 %s..., verified)", name, version, actual[:16])
        return model

    def _refuse(
        self, alias: str, version: str, kind: str, reason: str, expected: str | None
    ) -> Refusal:
        refusal = Refusal(
            version=version,
            alias=alias,
            kind=kind,
            reason=reason,
            expected_sha256=expected,
            at=datetime.now(UTC),
        )
        self.refused[version] = refusal
        log.error("refused %s for %s: %s; the slot keeps what it had", f"v{version}", alias, reason)
        return refusal


class _Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
