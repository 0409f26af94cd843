"""Why a training run started and which days it trains on.

``train_failure_model`` starts nightly, on new offline features (the ``features_offline`` asset)
or on a drift alarm (the ``drift_alarm`` asset ``monitor_drift`` emits when a day's features or
predictions drift). :func:`resolve_trigger` turns the run's triggering asset events into a
:class:`TrainingTrigger`: the reason, the window and, for a drift alarm, the alarm itself (day,
drifted columns, slices and plants, kinds), which the run records in its lineage, its MLflow tags
and the model card.

The window of a drift-triggered run ends on the alarm's day (the last monitored day, the one
that drifted), so the model learns from the data after the shift; it reaches ``window_days``
back from there, as a nightly run does from the day before it runs. Explicit ``start``/``end``
(a manual run's Params) always win.

Plain data, no Airflow import: the DAG hands the events over as they come
(:func:`asset_events` reads Airflow's accessor by its attributes) and the tests pass dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

# The asset names this module reads events of (declared in ml_platform_airflow/assets.py; a
# unit test holds the two together).
DRIFT_ALARM_ASSET = "drift_alarm"
FEATURES_ASSET = "features_offline"

# Why a run started.
SCHEDULE = "schedule"
MANUAL = "manual"
NEW_FEATURES = "new_features"
DRIFT_ALARM = "drift_alarm"

# Registry/run tag prefix of the trigger (see TrainingTrigger.tags).
TAG_PREFIX = "trigger."
SLICE_COLUMN = "plant_id"
# The kind of a drift_alarm event sent by monitor_live_performance (no columns, no slices).
LIVE_PERFORMANCE = "live_performance"
FLEET = "all"


@dataclass(frozen=True)
class DriftAlarm:
    """One ``drift_alarm`` event: the monitored day and what drifted on it."""

    day: str  # the monitored day D, ISO (its data interval is [D, D+1))
    kinds: tuple[str, ...] = ()  # feature_drift, prediction_drift
    columns: tuple[str, ...] = ()  # drifted columns, any slice, sorted
    slices: tuple[str, ...] = ()  # slices with drifted columns: "all", "plant_id=P2", ...
    model_name: str | None = None
    model_version: str | None = None  # the model monitored (the champion), "none" before one
    reasons: tuple[str, ...] = ()
    report_dir: str | None = None
    emitted_at: str | None = None  # when the event was emitted, ISO
    source_run_id: str | None = None  # the monitor_drift run that emitted it

    @property
    def plants(self) -> tuple[str, ...]:
        """The plants among :attr:`slices` (``plant_id=P2`` -> ``P2``)."""
        prefix = f"{SLICE_COLUMN}="
        return tuple(s.removeprefix(prefix) for s in self.slices if s.startswith(prefix))

    @classmethod
    def from_event(
        cls,
        extra: Mapping[str, Any],
        *,
        emitted_at: str | None = None,
        source_run_id: str | None = None,
    ) -> DriftAlarm:
        """An alarm from the event's ``extra`` (the payload ``request_retraining`` writes)."""
        if not extra.get("interval"):
            raise ValueError(f"a drift_alarm event without its interval: {dict(extra)!r}")
        drifted: Mapping[str, Iterable[str]] = extra.get("drifted_columns") or {}
        return cls(
            day=date.fromisoformat(str(extra["interval"])[:10]).isoformat(),
            kinds=tuple(sorted(extra.get("kinds") or ())),
            columns=tuple(sorted({c for cols in drifted.values() for c in cols})),
            slices=tuple(sorted(drifted)),
            model_name=extra.get("model_name"),
            model_version=None
            if extra.get("model_version") is None
            else str(extra["model_version"]),
            reasons=tuple(extra.get("reasons") or ()),
            report_dir=extra.get("report_dir"),
            emitted_at=emitted_at,
            source_run_id=source_run_id,
        )

    def describe(self) -> str:
        """One line: ``drift alarm of 2026-10-24 (feature_drift) in plant P2: a, b``; a live
        performance alarm (``monitor_live_performance``) names its first reason instead."""
        if self.kinds == (LIVE_PERFORMANCE,):
            why = self.reasons[0] if self.reasons else "live performance below the policy"
            return f"live-performance alarm of {self.day}: {why}"
        where = ", ".join(f"plant {p}" for p in self.plants) or (
            "the fleet" if FLEET in self.slices else "no slice named"
        )
        columns = ", ".join(self.columns) or "no column named"
        kinds = ", ".join(self.kinds) or "drift"
        return f"drift alarm of {self.day} ({kinds}) in {where}: {columns}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["plants"] = list(self.plants)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftAlarm:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("kinds", "columns", "slices", "reasons"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


@dataclass(frozen=True)
class TrainingTrigger:
    """Why a training run started and the window it trains on (``start``..``end`` inclusive)."""

    reason: str  # schedule | manual | new_features | drift_alarm
    start: str
    end: str
    days: int  # days in the window
    assets: tuple[str, ...] = ()  # the assets whose events started the run
    alarms: tuple[DriftAlarm, ...] = field(default_factory=tuple)  # by day, latest last

    @property
    def alarm(self) -> DriftAlarm | None:
        """The alarm the window ends on (the latest), or None."""
        return self.alarms[-1] if self.alarms else None

    @property
    def window(self) -> tuple[date, date]:
        return date.fromisoformat(self.start), date.fromisoformat(self.end)

    def describe(self) -> str:
        """One line for logs, the task note and the model card."""
        why = {
            SCHEDULE: "nightly schedule",
            MANUAL: "manual run",
            NEW_FEATURES: "new offline features",
        }.get(self.reason, self.reason)
        if self.alarm is not None:
            why = self.alarm.describe()
            if len(self.alarms) > 1:
                why += f" (+{len(self.alarms) - 1} earlier alarm(s))"
        return f"{why}; window {self.start} .. {self.end}"

    def tags(self) -> dict[str, str]:
        """MLflow run and model-version tags (strings; lists comma-separated)."""
        out = {
            f"{TAG_PREFIX}reason": self.reason,
            f"{TAG_PREFIX}window": f"{self.start}..{self.end}",
        }
        alarm = self.alarm
        if alarm is not None:
            out |= {
                f"{TAG_PREFIX}alarm.day": alarm.day,
                f"{TAG_PREFIX}alarm.kinds": ",".join(alarm.kinds),
                f"{TAG_PREFIX}alarm.columns": ",".join(alarm.columns),
                f"{TAG_PREFIX}alarm.slices": ",".join(alarm.slices),
                f"{TAG_PREFIX}alarm.plants": ",".join(alarm.plants),
                f"{TAG_PREFIX}alarm.model_version": str(alarm.model_version),
                f"{TAG_PREFIX}alarm.source_run_id": str(alarm.source_run_id or ""),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "start": self.start,
            "end": self.end,
            "days": self.days,
            "assets": list(self.assets),
            "alarms": [a.to_dict() for a in self.alarms],
            "description": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingTrigger:
        return cls(
            reason=data["reason"],
            start=data["start"],
            end=data["end"],
            days=int(data["days"]),
            assets=tuple(data.get("assets") or ()),
            alarms=tuple(DriftAlarm.from_dict(a) for a in data.get("alarms") or ()),
        )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def asset_events(triggering: Mapping[Any, Iterable[Any]] | None) -> dict[str, list[dict[str, Any]]]:
    """The run's triggering asset events as ``{asset name: [event dict, ...]}``.

    Reads Airflow's ``triggering_asset_events`` accessor by attribute (keys with ``.name``,
    events with ``.extra``, ``.timestamp``, ``.source_run_id``), or the same shape as dicts.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for key in triggering or {}:
        name = key if isinstance(key, str) else getattr(key, "name", str(key))
        for event in triggering[key]:  # type: ignore[index]
            if isinstance(event, Mapping):
                item = dict(event)
            else:
                item = {
                    "extra": dict(getattr(event, "extra", None) or {}),
                    "timestamp": _iso(getattr(event, "timestamp", None)),
                    "source_dag_id": getattr(event, "source_dag_id", None),
                    "source_run_id": getattr(event, "source_run_id", None),
                }
            out.setdefault(name, []).append(item)
    return out


def _day(value: str | date | None) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def resolve_trigger(
    events: Mapping[str, Iterable[Mapping[str, Any]]] | None,
    *,
    start: str | date | None,
    end: str | date | None,
    window_days: int,
    run_after: datetime | date,
    run_type: Any = None,
) -> TrainingTrigger:
    """The reason and window of a run from its triggering events and Params.

    ``events``: :func:`asset_events`' output. A drift alarm (the latest, when several queued
    up) puts the window's last day on its monitored day; otherwise the last day is the day
    before the run. ``start``/``end`` given explicitly win over both. ``run_type`` is Airflow's
    (``manual``, ``scheduled``, ``asset_triggered``...): it names runs no asset started.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    events = events or {}
    alarms = sorted(
        (
            DriftAlarm.from_event(
                e.get("extra") or {},
                emitted_at=_iso(e.get("timestamp")),
                source_run_id=e.get("source_run_id"),
            )
            for e in events.get(DRIFT_ALARM_ASSET, ())
        ),
        key=lambda a: (a.day, a.emitted_at or ""),
    )
    assets = tuple(sorted(name for name, evs in events.items() if list(evs)))
    if alarms:
        reason = DRIFT_ALARM
    elif FEATURES_ASSET in assets:
        reason = NEW_FEATURES
    elif str(getattr(run_type, "value", run_type)) == "manual":  # a str or Airflow's enum
        reason = MANUAL
    else:
        reason = SCHEDULE

    anchor = run_after.date() if isinstance(run_after, datetime) else run_after
    default_last = date.fromisoformat(alarms[-1].day) if alarms else anchor - timedelta(days=1)
    last = _day(end) or default_last
    first = _day(start) or last - timedelta(days=window_days - 1)
    if first > last:
        raise ValueError(f"training window starts after it ends: {first} > {last}")
    return TrainingTrigger(
        reason=reason,
        start=first.isoformat(),
        end=last.isoformat(),
        days=(last - first).days + 1,
        assets=assets,
        alarms=tuple(alarms),
    )
