"""Online features for the gateway: one reader for the process, each answer flagged.

The reader (:class:`ml_tasks.features.online.OnlineFeatureReader`, the same direct SQLite or
Redis lookup the CLI's ``features get`` uses) is created once, with the feature references
resolved then, not per request. A machine's answer carries its feature timestamp and ``stale``
when that is older than ``settings.gateway_feature_max_age_hours``; the model still scores it
(the policy flags, it does not refuse).

A store that is down (SQLite file missing or unreadable, Redis refusing connections) raises
:class:`StoreUnavailable`; the reader is then dropped and built again on the next call, so the
gateway recovers by itself when the store is back.

On SQLite the reader keeps each machine's decoded row until the next commit to the store
(``PRAGMA data_version``): half of a request's CPU was reading and decoding the same row again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ml_tasks.settings import Settings

log = logging.getLogger(__name__)

# Machines whose decoded features the reader keeps between requests on a SQLite store, exact
# under the store's data version (OnlineFeatureReader.get_stamped): ~5 KB each.
CACHED_MACHINES = 10_000


class StoreUnavailable(RuntimeError):
    """The online store cannot be read now."""


@dataclass(frozen=True)
class MachineFeatures:
    """One machine's online features and how fresh they are."""

    values: dict[str, Any]
    feature_ts: datetime | None
    stale: bool


def _store_errors() -> tuple[type[BaseException], ...]:
    from ml_tasks.features.online_layout import OnlineStoreUnavailable

    errors: list[type[BaseException]] = [OnlineStoreUnavailable, sqlite3.Error, OSError]
    try:
        import redis

        errors.append(redis.RedisError)
    except ImportError:  # no Redis client: no Redis store either
        pass
    return tuple(errors)


class FeatureSource:
    """Fetches features of many machines in one lookup; knows which store it reads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = settings.online_store
        self.max_age = timedelta(hours=settings.gateway_feature_max_age_hours)
        self._errors = _store_errors()
        self._reader: Any = None
        self._lock = threading.Lock()

    def _get_reader(self) -> Any:
        reader = self._reader
        if reader is not None:
            return reader
        with self._lock:
            if self._reader is None:
                from ml_tasks.features.online import OnlineFeatureReader

                self._reader = OnlineFeatureReader.from_settings(
                    self.settings, cache_entries=CACHED_MACHINES
                )
            return self._reader

    def fetch(
        self, machine_ids: Sequence[str], *, now: datetime | None = None
    ) -> dict[str, MachineFeatures | None]:
        """Features per machine id (None: the store has never seen the machine)."""
        try:
            stamped = self._get_reader().get_stamped(machine_ids)
        except self._errors as err:
            self._reader = None  # rebuilt on the next call: recovers when the store is back
            raise StoreUnavailable(f"online store unavailable: {err}") from err
        oldest = (now or datetime.now(UTC)) - self.max_age
        return {
            m: None
            if values is None
            else MachineFeatures(values, ts, stale=ts is not None and ts < oldest)
            for m, (values, ts) in stamped.items()
        }

    def probe(self) -> str | None:
        """None when the store answers a lookup now, else why not."""
        try:
            self.fetch(["__gateway_probe__"])
        except StoreUnavailable as err:
            return str(err)
        return None
