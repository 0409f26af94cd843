"""Split parsed records into valid rows and quarantined rows with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

QUARANTINE_COLUMNS = ["source_file", "line_no", "raw_line", "reason", "details"]
# What locates a record: its file and line, and its raw text or its position in the read (_row).
_LOCATORS = ("source_file", "line_no", "raw_line", "_row")


@dataclass
class Validated:
    """Outcome of validation: every input row is in exactly one of the two frames."""

    valid: pl.DataFrame
    rejected: pl.DataFrame  # locators + reason + details

    def reason_counts(self) -> dict[str, int]:
        counts = (
            self.rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
        )
        return {str(r): int(n) for r, n in counts.iter_rows()}


def validate(parsed: pl.DataFrame, schema: Any) -> Validated:
    """Run parse errors and the contract schema; a row's ``reason`` is its first failure.

    ``details`` lists every failure of the row, so one fix can be checked against all of them.
    """
    import pandera.polars as pa

    keep = [c for c in _LOCATORS if c in parsed.columns]
    failed_parse = pl.col("parse_error").is_not_null()
    candidates = parsed.filter(~failed_parse).with_row_index("_i")
    failures = pl.DataFrame(schema={"_i": pl.UInt32, "reason": pl.String, "details": pl.String})
    try:
        schema.validate(candidates.drop("_i"), lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = _reasons_by_row(err.failure_cases)

    rejected = pl.concat(
        [
            parsed.filter(failed_parse).select(
                *keep,
                reason=pl.col("parse_error").cast(pl.String),
                details=pl.col("parse_error").cast(pl.String),
            ),
            candidates.join(failures, on="_i", how="inner").select(*keep, "reason", "details"),
        ]
    ).sort(["source_file", "line_no"])
    valid = candidates.join(failures, on="_i", how="anti").drop("_i")
    return Validated(valid=valid, rejected=rejected)


def _reasons_by_row(failure_cases: pl.DataFrame) -> pl.DataFrame:
    """Row position -> first reason and all reasons, in contract order."""
    reason = (
        pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("null:") + pl.col("column"))
        .otherwise(pl.col("check"))
    )
    return (
        failure_cases.filter(pl.col("index").is_not_null())
        .with_columns(_i=pl.col("index").cast(pl.UInt32), reason=reason)
        .group_by("_i", maintain_order=True)
        .agg(
            pl.col("reason").first(),
            details=pl.col("reason").unique(maintain_order=True).str.join("; "),
        )
    )
