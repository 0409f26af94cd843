"""Same key twice: a duplicate when the content is the same, a conflict when it differs.

The rule that picks the copy to keep is deterministic and independent of file names and of the
order in which landing days are processed:

1. the copy from the **earliest landing day** wins (an event re-sent later never overwrites it);
2. among copies of the same landing day, the one with the **smallest content hash** wins.

The content hash is the SHA-256 of the record's typed contract columns (after pseudonymisation)
as canonical JSON: sorted keys, timestamps in ISO 8601 UTC, numbers as typed values. Whitespace,
key order or ``60`` vs ``60.0`` in the raw line are not content; a different reading is. Among
identical copies the first by (file, line) is named as the kept one: that choice changes no data.

Every other copy with the kept copy's hash is a duplicate; every copy with another hash is a
conflict, quarantined with reason ``conflict:<key column>`` and details naming the kept copy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import pyarrow as pa

RULE = "earliest landing day, then smallest content hash"
HASH = "_hash"
LANDING = "_landing"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def content_hashes(
    frame: pl.DataFrame | pa.Table, columns: list[str], schema: pa.Schema
) -> list[str]:
    """SHA-256 (hex) of each row's ``columns``, typed by ``schema``, as canonical JSON."""
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    typed = table.select(columns).cast(pa.schema([schema.field(c) for c in columns]))
    return [
        hashlib.sha256(
            json.dumps(
                {k: _canonical(v) for k, v in row.items()}, sort_keys=True, allow_nan=True
            ).encode()
        ).hexdigest()
        for row in typed.to_pylist()
    ]


@dataclass
class Resolution:
    """Today's valid rows split into curated, duplicate and conflicting copies."""

    curated: pl.DataFrame  # one row per key: the copies to write
    duplicates: int
    conflicts: pl.DataFrame  # today's losing rows, locators + reason + details


def resolve(
    today: pl.DataFrame,
    earlier: pl.DataFrame,
    *,
    key: str,
    day: date,
    columns: list[str],
    schema: pa.Schema,
) -> Resolution:
    """Apply the rule to ``today``'s valid rows against ``earlier`` landing days' curated copies.

    ``earlier`` holds the curated rows (``columns`` and ``ingest_date`` as ``_landing``) from
    earlier landing days whose key occurs today. Only keys seen more than once are hashed, so a
    clean day costs one duplicate check.
    """
    today = today.sort(["source_file", "line_no"])
    if earlier.is_empty():
        empty: dict[str, pl.DataType | type[pl.DataType]] = {key: today[key].dtype}
        empty[LANDING] = pl.Date
        empty.update({c: today[c].dtype for c in columns if c != key})
        earlier = pl.DataFrame(schema=empty)
    earlier_keys = earlier[key].cast(today[key].dtype).implode()
    colliding = today[key].is_duplicated() | today[key].is_in(earlier_keys)
    clean, contested = today.filter(~colliding), today.filter(colliding)
    if contested.is_empty():
        none = contested.select(*[c for c in _LOCATORS if c in contested.columns]).with_columns(
            reason=pl.lit(None, pl.String), details=pl.lit(None, pl.String)
        )
        return Resolution(clean, 0, none)

    contested = contested.with_columns(
        pl.Series(HASH, content_hashes(contested, columns, schema)),
        pl.lit(day).alias(LANDING),
    )
    previous = earlier.with_columns(
        pl.Series(HASH, content_hashes(earlier, columns, schema), dtype=pl.String),
        pl.col(key).cast(today[key].dtype),
        source_file=pl.lit(None, pl.String),
        line_no=pl.lit(None, pl.Int64),
    ).select(key, LANDING, HASH, "source_file", "line_no")
    candidates = pl.concat(
        [contested.select(key, LANDING, HASH, "source_file", "line_no"), previous],
        how="vertical_relaxed",
    )
    kept = (
        candidates.sort([key, LANDING, HASH, "source_file", "line_no"], nulls_last=False)
        .unique(key, keep="first", maintain_order=True)
        .rename(
            {
                LANDING: "kept_landing",
                HASH: "kept_hash",
                "source_file": "kept_file",
                "line_no": "kept_line",
            }
        )
    )
    judged = contested.join(kept, on=key, how="left")
    # An earlier day's kept copy has no file or line: no row of today is it.
    is_kept = (
        (pl.col("kept_landing") == pl.col(LANDING))
        & (pl.col("source_file") == pl.col("kept_file"))
        & (pl.col("line_no") == pl.col("kept_line"))
    ).fill_null(False)
    same = pl.col(HASH) == pl.col("kept_hash")
    winners = judged.filter(is_kept)
    losers = judged.filter(~is_kept)
    conflicts = losers.filter(~same).with_columns(
        reason=pl.lit(f"conflict:{key}"), details=_details()
    )
    curated = pl.concat([clean, winners.select(clean.columns)])
    return Resolution(
        curated=curated.sort(["source_file", "line_no"]),
        duplicates=int(losers.select(same.sum()).item()),
        conflicts=conflicts.select(*[c for c in _LOCATORS if c in conflicts.columns], *_OUT),
    )


def superseded(
    curated: pl.DataFrame,
    later: pl.DataFrame,
    *,
    key: str,
    event_date: pl.Expr,
    lateness_days: int,
    columns: list[str],
    schema: pa.Schema,
) -> pl.DataFrame:
    """Later landing days' curated copies that today's rows take over (earliest landing wins).

    Only a later copy whose own landing window reached today's copy competes with it (landing
    day at most ``lateness_days`` after today's event date): the same pairs a run in landing
    order compares, so both orders give one table. Returns key, ``_landing``, the later copy's
    partition and ``conflict`` (its content differs: it was curated and is now overruled).
    """
    if later.is_empty():
        return pl.DataFrame(
            schema={key: curated[key].dtype, LANDING: pl.Date, "conflict": pl.Boolean}
        )
    mine = curated.filter(pl.col(key).is_in(later[key].cast(curated[key].dtype).implode()))
    mine = mine.with_columns(
        pl.Series("_mine", content_hashes(mine, columns, schema), dtype=pl.String),
        _event_date=event_date,
    ).select(key, "_mine", "_event_date")
    theirs = later.with_columns(
        pl.Series(HASH, content_hashes(later, columns, schema), dtype=pl.String),
        pl.col(key).cast(curated[key].dtype),
    )
    pairs = theirs.join(mine, on=key, how="inner").filter(
        pl.col(LANDING) <= pl.col("_event_date") + pl.duration(days=lateness_days)
    )
    return pairs.select(key, LANDING, conflict=pl.col(HASH) != pl.col("_mine"))


_LOCATORS = ("source_file", "line_no", "_row")
_OUT = ("reason", "details")


def _details() -> pl.Expr:
    kept_copy = (
        pl.when(pl.col("kept_file").is_null())
        .then(pl.lit("the copy curated from landing day ") + pl.col("kept_landing").cast(pl.String))
        .otherwise(
            pl.col("kept_file")
            + pl.lit(":")
            + pl.col("kept_line").cast(pl.String)
            + pl.lit(" landed ")
            + pl.col("kept_landing").cast(pl.String)
        )
    )
    return pl.concat_str(
        pl.lit("kept "),
        kept_copy,
        pl.lit(" (content "),
        pl.col("kept_hash").str.slice(0, 12),
        pl.lit("); this copy content "),
        pl.col(HASH).str.slice(0, 12),
        pl.lit(f"; rule: {RULE}"),
    )
