"""The feature pipeline as steps the DAG runs one per task, and as one call for the CLI and demo.

A run is keyed by the *landing days* the ELT curated (the data interval, or the intervals named
by the curated-data asset events that triggered it). Because a landing day can carry events up
to the telemetry contract's ``max_lateness_days`` late, the run recomputes that many days before
it as well, so late readings reach the features; every recomputed day's partition is replaced,
which makes reruns and backfills idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from ml_tasks.settings import Settings, get_settings


@dataclass(frozen=True)
class FeatureComputation:
    """Step 1's result: the feature days written to the offline store."""

    start: str
    end: str
    days: int
    rows: dict[str, int]  # feature view -> rows written
    telemetry_rows_read: int
    inputs: dict[str, Any]  # the curated tables' versions the features were computed from
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureComputation:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Materialization:
    """Step 3's result: what was offered to the online store."""

    start: str
    end: str
    feature_views: list[str]
    offline_rows: int
    online_rows_offered: int  # machine rows (per view) offered; newer online values are kept
    online_store: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Materialization:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class FeatureRefresh:
    """The three steps run together (the CLI's ``features materialize``)."""

    days: dict[str, str]  # :func:`plan`
    compute: FeatureComputation
    register: dict[str, Any]  # apply_definitions' report
    materialize: Materialization

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def landing_days(
    *,
    start: str | None = None,
    end: str | None = None,
    event_intervals: list[str] | None = None,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
) -> tuple[date, date]:
    """The landing days a run covers, by precedence: explicit days (a manual run's Params), the
    intervals of the triggering asset events, then the run's data interval. A zero-length data
    interval (a manual run of an asset-scheduled DAG) means the day that ended at that instant,
    the same convention the ELT DAG uses."""
    if start or end:
        first = date.fromisoformat(start or end or "")
        return first, date.fromisoformat(end or start or "")
    days = sorted(date.fromisoformat(d) for d in event_intervals or [] if d)
    if days:
        return days[0], days[-1]
    if interval_start is None:
        raise ValueError("no days to process: pass start/end or run with a data interval")
    if interval_end is not None and interval_end > interval_start:
        last = (interval_end - timedelta(microseconds=1)).date()
        return interval_start.date(), last
    day = (interval_start - timedelta(microseconds=1)).date()
    return day, day


def late_days(settings: Settings) -> int:
    """How many days back a landing day can still add events (the telemetry contract's limit)."""
    from ml_tasks.elt.contracts import load_contract

    return int(load_contract("telemetry", settings.contracts_dir).max_lateness_days)


def plan(first: date, last: date, settings: Settings | None = None) -> dict[str, str]:
    """The feature days to recompute for landing days ``[first, last]``."""
    from ml_tasks.features.compute import refresh_start

    s = settings or get_settings()
    start = refresh_start(first, s, late_days(s))
    return {
        "landing_start": first.isoformat(),
        "landing_end": last.isoformat(),
        "start": start.isoformat(),
        "end": last.isoformat(),
    }


def compute(
    days: dict[str, str], *, settings: Settings | None = None, run_id: str | None = None
) -> FeatureComputation:
    """Step 1: the planned days' features into the offline store."""
    from ml_tasks.features.compute import compute_features

    computed = compute_features(
        date.fromisoformat(days["start"]),
        date.fromisoformat(days["end"]),
        settings=settings,
        run_id=run_id,
    )
    return FeatureComputation.from_dict(computed)


def register(*, settings: Settings | None = None) -> dict[str, Any]:
    """Step 2: register the definitions (a no-op when nothing changed)."""
    from ml_tasks.features.store import apply_definitions

    return apply_definitions(settings)


def materialize(days: dict[str, str], *, settings: Settings | None = None) -> Materialization:
    """Step 3: the planned days into the online store (newer online values are kept)."""
    from ml_tasks.features.store import materialize as run

    online = run(
        date.fromisoformat(days["start"]), date.fromisoformat(days["end"]), settings=settings
    )
    return Materialization.from_dict(online)


def refresh(
    first: date, last: date, *, settings: Settings | None = None, run_id: str | None = None
) -> FeatureRefresh:
    """All three steps for landing days ``[first, last]`` (the CLI's ``features materialize``)."""
    from ml_tasks.features.store import apply_definitions, get_store
    from ml_tasks.features.store import materialize as load_online

    s = settings or get_settings()
    days = plan(first, last, s)
    computed = compute(days, settings=s, run_id=run_id)
    store = get_store(s)
    registered = apply_definitions(s, store)
    online = load_online(
        date.fromisoformat(days["start"]), date.fromisoformat(days["end"]), settings=s, store=store
    )
    return FeatureRefresh(
        days=days,
        compute=computed,
        register=registered,
        materialize=Materialization.from_dict(online),
    )
