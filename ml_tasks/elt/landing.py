"""Read raw landing files robustly: every line survives to be curated or quarantined.

A JSON lines file may hold malformed lines and values of the wrong type; a strict JSON reader
would reject the whole file. Lines are read as plain text with pyarrow, then parsed and cast in
one vectorised DuckDB query: a line that is not JSON, or a value that does not cast to the
contract's type, is marked with its reason instead of failing the read.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from ml_tasks.elt.contracts import Contract

_DUCK_TYPES = {
    "string": "VARCHAR",
    "float64": "DOUBLE",
    "int64": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
}


class MissingLandingData(FileNotFoundError):
    """The landing partition for an interval does not exist."""


def landing_folder(landing_dir: Path, contract: Contract, day: date) -> Path:
    return landing_dir / contract.landing / f"date={day.isoformat()}"


def landing_files(landing_dir: Path, contract: Contract, day: date) -> list[Path]:
    """The interval's landing files, sorted; a missing partition is an error that names it."""
    folder = landing_folder(landing_dir, contract, day)
    if not folder.is_dir():
        raise MissingLandingData(
            f"no landing data for {contract.name} partition date={day.isoformat()} "
            f"(expected folder {folder})"
        )
    return sorted(p for p in folder.iterdir() if p.suffix == ".jsonl" and p.is_file())


def read_lines(files: list[Path]) -> pa.Table:
    """All lines of ``files`` as (source_file, line_no, raw_line); blank lines are skipped."""
    import pyarrow.csv as pcsv

    parts = []
    for path in files:
        if path.stat().st_size == 0:
            continue  # a quiet day: the file exists but holds no records
        # A delimiter that never occurs in text and no quoting: each line is one string cell.
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=["raw_line"], block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter="\x1f", quote_char=False, escape_char=False, ignore_empty_lines=True
            ),
            convert_options=pcsv.ConvertOptions(column_types={"raw_line": pa.large_string()}),
        )
        n = table.num_rows
        table = table.add_column(0, "line_no", pa.array(np.arange(1, n + 1, dtype=np.int64)))
        table = table.add_column(0, "source_file", pa.array([path.name] * n, pa.string()))
        parts.append(table)
    if not parts:
        return pa.table(
            {
                "source_file": pa.array([], pa.string()),
                "line_no": pa.array([], pa.int64()),
                "raw_line": pa.array([], pa.large_string()),
                "_row": pa.array([], pa.int64()),
            }
        )
    table = pa.concat_tables(parts)
    # Position of each line: parsed rows refer back to their raw text by it.
    return table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def parse_json_lines(lines: pa.Table, contract: Contract) -> pl.DataFrame:
    """Parse and type every line; adds ``parse_error`` (None when the line parsed and cast).

    ``parse_error`` is ``malformed_json`` or ``wrong_type:<col>[,<col>]``; the typed columns of
    such rows are null and must not be used. The raw text stays in ``lines`` (``_row`` points to
    it): copying every line into pandas would cost more than the whole validation.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("lines", lines)
        as_text = ", ".join(f'"{c.name}": "VARCHAR"' for c in contract.columns)
        casts, wrong = [], []
        for c in contract.columns:
            duck_type = _DUCK_TYPES[c.type]
            raw = f'r."{c.name}"'
            if duck_type == "VARCHAR":
                casts.append(f'{raw} AS "{c.name}"')
                continue
            casts.append(f'TRY_CAST({raw} AS {duck_type}) AS "{c.name}"')
            wrong.append(
                f"CASE WHEN {raw} IS NOT NULL AND TRY_CAST({raw} AS {duck_type}) IS NULL "
                f"THEN '{c.name}' END"
            )
        wrong_expr = f"NULLIF(concat_ws(',', {', '.join(wrong)}), '')" if wrong else "NULL"
        query = f"""
            WITH checked AS (
                SELECT source_file, line_no, _row, raw_line,
                       CASE WHEN json_valid(raw_line) THEN json_type(raw_line) = 'OBJECT'
                            ELSE false END AS ok
                FROM lines
            ), parsed AS (
                SELECT source_file, line_no, _row, raw_line, ok,
                       CASE WHEN ok THEN json_transform(raw_line, '{{{as_text}}}') END AS r
                FROM checked
            ), typed AS (
                SELECT source_file, line_no, _row, ok, {", ".join(casts)}, {wrong_expr} AS wrong
                FROM parsed
            )
            SELECT * EXCLUDE (ok, wrong),
                   CASE WHEN NOT ok THEN 'malformed_json'
                        WHEN wrong IS NOT NULL THEN 'wrong_type:' || wrong END AS parse_error
            FROM typed
        """
        frame = con.sql(query).pl()
    finally:
        con.close()
    return frame


def attach_raw_lines(rejected: pl.DataFrame, lines: pa.Table) -> pl.DataFrame:
    """Add each rejected row's original text (``raw_line``) from ``lines`` by ``_row``."""
    raw = lines.column("raw_line").take(rejected["_row"].to_arrow())
    return rejected.drop("_row").with_columns(raw_line=pl.Series(raw.to_pylist(), dtype=pl.String))
