"""Split parsed records into valid rows and quarantined rows with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

QUARANTINE_COLUMNS = ["source_file", "line_no", "raw_line", "reason", "details"]


@dataclass
class Validated:
    """Outcome of validation: every input row is in exactly one of the two frames."""

    valid: pd.DataFrame
    rejected: pd.DataFrame  # QUARANTINE_COLUMNS

    def reason_counts(self) -> dict[str, int]:
        counts = self.rejected["reason"].value_counts()
        return {str(k): int(v) for k, v in counts.items()}


def validate(parsed: pd.DataFrame, schema: Any) -> Validated:
    """Run parse errors and the contract schema; a row's ``reason`` is its first failure.

    ``details`` lists every failure of the row, so one fix can be checked against all of them.
    """
    import pandera.pandas as pa

    parse_failed = parsed["parse_error"].notna()
    candidates = parsed.loc[~parse_failed]
    failures: dict[int, list[str]] = {}
    try:
        schema.validate(candidates, lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = _reasons_by_row(err.failure_cases)

    bad_index = list(failures)
    rejected_parse = parsed.loc[parse_failed, ["source_file", "line_no", "raw_line"]].assign(
        reason=parsed.loc[parse_failed, "parse_error"],
        details=parsed.loc[parse_failed, "parse_error"],
    )
    rejected_rules = parsed.loc[bad_index, ["source_file", "line_no", "raw_line"]].assign(
        reason=[failures[i][0] for i in bad_index],
        details=["; ".join(failures[i]) for i in bad_index],
    )
    rejected = pd.concat([rejected_parse, rejected_rules]).sort_values(["source_file", "line_no"])
    valid = candidates.drop(index=bad_index)
    return Validated(valid=valid, rejected=rejected[QUARANTINE_COLUMNS].reset_index(drop=True))


def _reasons_by_row(failure_cases: pd.DataFrame) -> dict[int, list[str]]:
    """Map row index -> reasons, in contract order (column checks, then row rules)."""
    cases = failure_cases.dropna(subset=["index"])
    reasons: dict[int, list[str]] = {}
    for column, check, index in zip(cases["column"], cases["check"], cases["index"], strict=True):
        reason = f"null:{column}" if check == "not_nullable" else str(check)
        row = reasons.setdefault(int(index), [])
        if reason not in row:
            row.append(reason)
    return reasons
