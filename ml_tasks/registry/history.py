"""The audit history of a model's aliases: who moved which alias, from what, to what, and why.

Every alias change is written twice, both append-only:

- a row of the ``release_history`` Delta table (``settings.release_history_uri``, next to the
  curated tables, so it lives on object storage in production; each append is one commit);
- a tag of the registered model, ``audit.<time>.<id>``, holding the same event as JSON, so the
  registry itself (its database is backed up with the models) keeps the record too, visible in
  the MLflow UI.

:func:`periods` turns the events into who-held-the-alias intervals; :func:`on_day` answers
"which version was in production on day D" (every version that served during that UTC day).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ml_tasks.settings import Settings, get_settings

TAG_PREFIX = "audit."
# Registered-model tag values hold at most 5000 characters (the registry's column size).
MAX_TAG_VALUE = 5000
COLUMNS = (
    "event_id",
    "model_name",
    "alias",
    "action",
    "from_version",
    "to_version",
    "reason",
    "actor",
    "dag_id",
    "run_id",
    "at",
    "details",
)


# The actions that move an alias (``traffic`` and ``quarantine`` events move none).
MOVES = ("set", "delete")


@dataclass(frozen=True)
class AliasEvent:
    """One change of one alias (``action``: ``set``, ``delete``, ``traffic`` or ``quarantine``).

    A ``quarantine`` event (alias ``quarantined``) names the version in ``from_version``: it lost
    every alias (one ``delete`` event each) because its files failed their digest check.
    """

    model_name: str
    alias: str
    action: str
    from_version: str | None
    to_version: str | None
    reason: str
    actor: str
    dag_id: str | None = None
    run_id: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    details: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AliasEvent:
        values: dict[str, Any] = {k: data.get(k) for k in COLUMNS}
        at = values["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        details = values["details"]
        if isinstance(details, str):
            details = json.loads(details or "{}")
        return cls(**{**values, "at": at, "details": details or {}})

    def describe(self) -> str:
        """One line for logs and the CLI."""
        if self.action == "traffic":
            move = f"v{self.to_version} at {self.details.get('traffic_percent')} % traffic"
        elif self.action == "quarantine":
            move = f"v{self.from_version} quarantined"
        elif self.action == "delete":
            move = f"v{self.from_version} -> (removed)"
        else:
            source = f"v{self.from_version}" if self.from_version else "(none)"
            move = f"{source} -> v{self.to_version}"
        where = f"{self.dag_id}/{self.run_id}" if self.dag_id else (self.run_id or "")
        return (
            f"{self.at.strftime('%Y-%m-%d %H:%M:%S')}Z  @{self.alias:<17} {move:<28} "
            f"{self.actor:<14} {where}  {self.reason}"
        )


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [(name, pa.string()) for name in COLUMNS if name != "at"]
        + [("at", pa.timestamp("us", tz="UTC"))]
    )


def table_uri(settings: Settings | None = None) -> str:
    return (settings or get_settings()).release_history_uri


def append(event: AliasEvent, settings: Settings | None = None, mlflow_client: Any = None) -> None:
    """Record ``event`` in the table and as a registry tag."""
    import pyarrow as pa

    from ml_tasks.elt import lake

    s = settings or get_settings()
    row = {k: v for k, v in event.to_dict().items()}
    row["at"] = event.at
    row["details"] = json.dumps(event.details, sort_keys=True, default=str)
    table = pa.Table.from_pylist([row], schema=_schema())
    lake.append(table_uri(s), table, s)
    if mlflow_client is not None:
        key = f"{TAG_PREFIX}{event.at.strftime('%Y%m%dT%H%M%S%f')}.{event.event_id[:8]}"
        payload = event.to_dict()
        text = json.dumps(payload, sort_keys=True, default=str)
        if len(text) > MAX_TAG_VALUE:  # keep the event whole, shorten its free text
            payload["details"] = {"truncated": True}
            while len(text) > MAX_TAG_VALUE and len(payload["reason"]) > 16:
                payload["reason"] = payload["reason"][: len(payload["reason"]) // 2] + "..."
                text = json.dumps(payload, sort_keys=True, default=str)
        mlflow_client.set_registered_model_tag(event.model_name, key, text)


def read_events(model_name: str, settings: Settings | None = None) -> list[AliasEvent]:
    """Every recorded event of ``model_name`` from the table, oldest first."""
    from ml_tasks.elt import lake

    s = settings or get_settings()
    table = lake.read_table(table_uri(s), s, filters=[("model_name", "=", model_name)])
    if table is None:
        return []
    events = [AliasEvent.from_dict(row) for row in table.to_pylist()]
    return sorted(events, key=lambda e: (e.at, e.event_id))


def registry_events(mlflow_client: Any, model_name: str) -> list[AliasEvent]:
    """The same history from the registered model's ``audit.*`` tags, oldest first."""
    from mlflow.exceptions import MlflowException

    try:
        model = mlflow_client.get_registered_model(model_name)
    except MlflowException:
        return []
    return events_from_tags(model.tags or {})


def events_from_tags(tags: dict[str, str]) -> list[AliasEvent]:
    """The events recorded in a registered model's ``audit.*`` tags, oldest first."""
    events = []
    for key, value in tags.items():
        if key.startswith(TAG_PREFIX):
            try:
                events.append(AliasEvent.from_dict(json.loads(value)))
            except (ValueError, TypeError, KeyError):
                continue
    return sorted(events, key=lambda e: (e.at, e.event_id))


@dataclass(frozen=True)
class Period:
    """A version holding an alias from ``start`` until ``end`` (None: still holds it)."""

    version: str
    start: datetime
    end: datetime | None
    reason: str
    ended_by: str | None = None

    def overlaps(self, begin: datetime, stop: datetime) -> bool:
        return self.start < stop and (self.end is None or self.end > begin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "reason": self.reason,
            "ended_by": self.ended_by,
        }


def periods(events: list[AliasEvent], alias: str = "champion") -> list[Period]:
    """Who held ``alias`` when, from the events in time order."""
    out: list[Period] = []
    current: tuple[str, datetime, str] | None = None
    for event in events:
        if event.alias != alias or event.action not in MOVES:
            continue
        if current is not None:
            out.append(Period(current[0], current[1], event.at, current[2], event.reason))
            current = None
        if event.action == "set" and event.to_version:
            current = (event.to_version, event.at, event.reason)
    if current is not None:
        out.append(Period(current[0], current[1], None, current[2]))
    return out


def on_day(events: list[AliasEvent], day: date, alias: str = "champion") -> list[Period]:
    """Every version that held ``alias`` at some time during the UTC day ``day``."""
    begin = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return [p for p in periods(events, alias) if p.overlaps(begin, begin + timedelta(days=1))]


def at_time(events: list[AliasEvent], when: datetime, alias: str = "champion") -> str | None:
    """The version holding ``alias`` at the instant ``when`` (None: nobody)."""
    for period in periods(events, alias):
        if period.start <= when and (period.end is None or when < period.end):
            return period.version
    return None


def previous_holder(events: list[AliasEvent], version: str, alias: str = "champion") -> str | None:
    """The version that held ``alias`` right before ``version`` last took it over."""
    for event in reversed(events):
        if event.alias == alias and event.action == "set" and event.to_version == version:
            return event.from_version
    return None


def released_as_champion(
    events: list[AliasEvent], version: str, alias: str = "champion"
) -> AliasEvent | None:
    """The first regular move of ``alias`` to ``version`` (None: never, or only by ``--force``).

    A forced rollback installs a version the release never approved: that does not make it
    a released one.
    """
    for event in events:
        if (
            event.alias == alias
            and event.action == "set"
            and event.to_version == str(version)
            and not event.details.get("forced")
        ):
            return event
    return None


def reconcile(
    events: list[AliasEvent], registry: list[AliasEvent], current: dict[str, str]
) -> list[str]:
    """Disagreements between the table, the registry tags and the live aliases (none: [])."""
    problems = []
    table_ids = {e.event_id for e in events}
    tag_ids = {e.event_id for e in registry}
    if tag_ids - table_ids:
        problems.append(f"{len(tag_ids - table_ids)} event(s) in the registry tags, not the table")
    if table_ids - tag_ids and registry:
        problems.append(f"{len(table_ids - tag_ids)} event(s) in the table, not the registry tags")
    aliases = {e.alias for e in events if e.action in MOVES}
    for alias in sorted(aliases):
        held = periods(events, alias)
        recorded = held[-1].version if held and held[-1].end is None else None
        if current.get(alias) != recorded:
            problems.append(
                f"@{alias} is v{current.get(alias)} in the registry but v{recorded} in the history"
                " (moved outside the platform?)"
            )
    return problems


def format_history(
    model_name: str,
    events: list[AliasEvent],
    *,
    day: date | None = None,
    alias: str = "champion",
    current: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> str:
    """The CLI's ``history`` output."""
    lines = [f"Release history of {model_name} ({len(events)} alias changes)"]
    if current is not None:
        lines.append(
            "  aliases now: "
            + (", ".join(f"@{a} v{v}" for a, v in sorted(current.items())) or "none")
        )
    lines.append("")
    lines += ["  " + e.describe() for e in events] or ["  (no alias changes recorded)"]
    lines += ["", f"@{alias} periods:"]
    for p in periods(events, alias):
        end = p.end.strftime("%Y-%m-%d %H:%M:%S") + "Z" if p.end else "now"
        lines.append(
            f"  v{p.version:<5} {p.start.strftime('%Y-%m-%d %H:%M:%S')}Z .. {end:<21} {p.reason}"
        )
    if day is not None:
        held = on_day(events, day, alias)
        lines.append("")
        if not held:
            lines.append(f"On {day}: no version held @{alias}.")
        else:
            midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)

            def span(p: Period) -> str:
                start = max(p.start, midnight).strftime("%H:%M")
                end = "24:00" if p.end is None or p.end.date() > day else p.end.strftime("%H:%M")
                return f"v{p.version} ({start}-{end} UTC)"

            lines.append(f"On {day}: @{alias} was " + ", then ".join(span(p) for p in held))
    for problem in problems or []:
        lines.append(f"WARNING: {problem}")
    return "\n".join(lines)
