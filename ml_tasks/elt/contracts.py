"""Declarative data contracts (`include/contracts/*.yaml`) and the pandera schemas built on them.

The YAML is the single source of truth: types and ranges are enforced here, nowhere else.
Each pandera check carries the quarantine reason as its ``error`` so a failure maps to a reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ml_tasks.settings import get_settings


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract."""

    name: str
    type: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    references: str | None = None


@dataclass(frozen=True)
class RowRule:
    """A conditional rule: when ``column`` is in ``values``, ``not_null`` columns must be set."""

    name: str
    column: str
    values: tuple[str, ...]
    not_null: tuple[str, ...]


@dataclass(frozen=True)
class Contract:
    """A parsed data contract."""

    name: str
    version: int
    landing: str
    curated_table: str
    quarantine_table: str
    primary_key: str
    columns: tuple[ColumnSpec, ...]
    max_bad_share: float
    # A day fails only with at least this many bad records too: one bad line of a handful of
    # records says nothing about the source (see ``events.is_bad_day``).
    min_bad_records: int = 0
    event_time: str | None = None
    partition_by: str | None = None
    max_lateness_days: int = 0
    current_table: str | None = None
    entity_key: str | None = None
    pseudonymise: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def load_contract(name: str, contracts_dir: Path | None = None) -> Contract:
    """Read ``<contracts_dir>/<name>.yaml`` into a :class:`Contract`."""
    folder = contracts_dir or get_settings().contracts_dir
    path = folder / f"{name}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"data contract {name!r} not found at {path}")
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    columns = tuple(
        ColumnSpec(
            name=c["name"],
            type=c["type"],
            nullable=bool(c.get("nullable", True)),
            min=c.get("min"),
            max=c.get("max"),
            allowed=tuple(c["allowed"]) if c.get("allowed") else None,
            references=c.get("references"),
        )
        for c in raw["columns"]
    )
    rules = tuple(
        RowRule(
            name=r["name"],
            column=r["when"]["column"],
            values=tuple(r["when"]["in"]),
            not_null=tuple(r["not_null"]),
        )
        for r in raw.get("rules", [])
    )
    return Contract(
        name=raw["name"],
        version=int(raw["version"]),
        landing=raw["landing"],
        curated_table=raw["curated_table"],
        quarantine_table=raw["quarantine_table"],
        primary_key=raw["primary_key"],
        columns=columns,
        max_bad_share=float(raw["max_bad_share"]),
        min_bad_records=int(raw.get("min_bad_records", 0)),
        event_time=raw.get("event_time"),
        partition_by=raw.get("partition_by"),
        max_lateness_days=int(raw.get("max_lateness_days", 0)),
        current_table=raw.get("current_table"),
        entity_key=raw.get("entity_key"),
        pseudonymise=tuple(raw.get("pseudonymise", [])),
        rules=rules,
    )


def arrow_schema(contract: Contract) -> Any:
    """The Arrow schema of the contract's columns: fixed types, so an all-null day still writes."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "float64": pa.float64(),
        "int64": pa.int64(),
        "timestamp": pa.timestamp("us", "UTC"),
        "date": pa.date32(),
    }
    return pa.schema(
        [pa.field(c.name, types[c.type], nullable=c.nullable) for c in contract.columns]
    )


def build_schema(
    contract: Contract,
    *,
    known: dict[str, Collection[str]] | None = None,
    event_time_window: tuple[datetime, datetime] | None = None,
) -> Any:
    """Build the pandera schema that checks semantics (nulls, ranges, values, references, time).

    Types are checked earlier, while parsing (a value that does not cast is ``wrong_type``).
    ``known`` maps a reference (``machines.machine_id``) to its valid keys; ``event_time_window``
    is ``[oldest accepted, end of interval)`` for the contract's event time column.
    """
    # The polars backend: validation runs on the Arrow data DuckDB produced, without copies.
    import pandera.polars as pa

    known = known or {}
    columns: dict[str, Any] = {}
    for col in contract.columns:
        checks = []
        if col.min is not None or col.max is not None:
            lo = col.min if col.min is not None else float("-inf")
            hi = col.max if col.max is not None else float("inf")
            checks.append(pa.Check.in_range(lo, hi, error=f"out_of_range:{col.name}"))
        if col.allowed:
            checks.append(pa.Check.isin(list(col.allowed), error=f"not_allowed:{col.name}"))
        if col.references:
            if col.references not in known:
                raise ValueError(f"contract {contract.name}: no keys given for {col.references}")
            table = col.references.split(".")[0]
            keys = sorted(known[col.references])
            checks.append(pa.Check.isin(keys, error=f"unknown_{table[:-1]}"))
        if event_time_window and col.name == contract.event_time:
            oldest, end = event_time_window
            checks.append(pa.Check.ge(oldest, error="too_late"))
            checks.append(pa.Check.lt(end, error="future_event"))
        columns[col.name] = pa.Column(nullable=col.nullable, checks=checks, required=True)
        # pandera reports a not-null failure as "not_nullable"; the reason gets the column added.

    frame_checks = [_rule_check(rule) for rule in contract.rules]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False)


def _rule_check(rule: RowRule) -> Any:
    import pandera.polars as pa
    import polars as pl

    def check(data: Any) -> Any:
        applies = pl.col(rule.column).is_in(list(rule.values))
        present = pl.all_horizontal(pl.col(c).is_not_null() for c in rule.not_null)
        return data.lazyframe.select((~applies | present).alias(rule.name))

    return pa.Check(check, error=rule.name)
