"""Load the machines reference table (asset register CSV) into a curated Delta table."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import polars as pl

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.contracts import Contract, arrow_schema, build_schema, load_contract
from ml_tasks.elt.events import TableRun
from ml_tasks.elt.validate import validate
from ml_tasks.settings import Settings


class ReferenceDataError(ValueError):
    """The reference data is missing or breaks its contract."""


def _parse_csv(contract: Contract, settings: Settings) -> pd.DataFrame:
    path = settings.landing_dir / contract.landing
    if not path.exists():
        raise ReferenceDataError(f"machines reference file not found at {path}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame = raw.reindex(columns=contract.column_names)
    frame.insert(0, "raw_line", raw.to_csv(header=False, index=False).splitlines())
    frame.insert(0, "line_no", range(2, len(frame) + 2))  # line 1 is the header
    frame.insert(0, "source_file", path.name)
    wrong = pd.Series(None, index=frame.index, dtype=object)
    for col in contract.columns:
        if col.type == "date":
            typed = pd.to_datetime(frame[col.name], format="%Y-%m-%d", errors="coerce")
            bad = frame[col.name].notna() & typed.isna()
            wrong = wrong.where(~bad, f"wrong_type:{col.name}")
            frame[col.name] = typed.dt.date
    frame["parse_error"] = wrong
    return frame


def curate_machines(settings: Settings, *, day: date, run_id: str | None = None) -> TableRun:
    """Validate the reference CSV; rewrite the curated table only when its content changed."""
    contract = load_contract("machines", settings.contracts_dir)
    parsed = pl.from_pandas(_parse_csv(contract, settings))
    checked = validate(parsed, build_schema(contract))
    duplicated = checked.valid[contract.primary_key].is_duplicated()
    if len(checked.rejected) or duplicated.any():
        reasons = checked.reason_counts()
        if duplicated.any():
            reasons["duplicate_machine_id"] = int(duplicated.sum())
        raise ReferenceDataError(f"machines reference data breaks its contract: {reasons}")

    uri = settings.table_uri(contract.curated_table)
    frame = checked.valid.select(contract.column_names).sort(contract.primary_key)
    table = frame.to_arrow().cast(arrow_schema(contract))
    current = lake.read_table(uri, settings)
    run = TableRun(
        table=contract.curated_table,
        interval=day.isoformat(),
        rows_read=len(parsed),
        rows_curated=len(frame),
        rows_quarantined=0,
        rows_duplicate=0,
    )
    if current is not None and current.sort_by(contract.primary_key).equals(table):
        return replace(run, version=lake.table_version(uri, settings))
    version = lake.overwrite(uri, table, settings)
    run = replace(run, version=version)
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name=contract.curated_table,
            version=version,
            interval_start=day.isoformat(),
            interval_end=day.isoformat(),
            row_count=len(frame),
            run_id=run_id,
        ),
    )
    return run


def known_machine_ids(settings: Settings) -> set[str]:
    """Machine ids of the curated reference table (load it first)."""
    table = lake.read_table(settings.table_uri("machines"), settings, columns=["machine_id"])
    if table is None:
        raise ReferenceDataError("curated machines table is missing: run the machines load first")
    return set(table.column("machine_id").to_pylist())
