"""Work orders: curate the change-data-capture stream, then derive the current state.

The history table keeps every valid change event (see :mod:`ml_tasks.elt.events`). The current
state is recomputed from the whole history on each run: the latest event per work order by log
sequence number, deletes removing the order. That makes it independent of arrival order (an
update landing before its insert) and of the order in which days are processed.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import polars as pl
import pyarrow as pa

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.contracts import Contract, arrow_schema, load_contract
from ml_tasks.elt.events import TableRun, curate_events
from ml_tasks.elt.pseudonymise import load_key, pseudonymise
from ml_tasks.settings import Settings


def current_state(history: pd.DataFrame, *, key: str = "work_order_id") -> pd.DataFrame:
    """Latest change per ``key`` by ``lsn``; orders whose latest change is a delete are gone."""
    latest = history.sort_values("lsn").drop_duplicates(key, keep="last")
    alive = latest.loc[latest["op"] != "delete"]
    state = alive.drop(columns=["op"]).rename(columns={"lsn": "last_lsn", "op_ts": "updated_ts"})
    return state.sort_values(key).reset_index(drop=True)


def curate_work_orders(
    day: date, settings: Settings, *, known: dict[str, set[str]], run_id: str | None = None
) -> tuple[TableRun, TableRun]:
    """Curate day ``day`` of the CDC stream into history, then rebuild the current state."""
    contract = load_contract("work_orders", settings.contracts_dir)
    key = load_key(settings.secrets_dir)

    def _pseudonymise(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pseudonymise(frame[c], key) for c in contract.pseudonymise)

    history_run = curate_events(
        contract, day, settings, known=known, run_id=run_id, transform=_pseudonymise
    )
    return history_run, rebuild_current_state(contract, day, settings, run_id=run_id)


def _state_schema(contract: Contract) -> pa.Schema:
    """History schema without ``op``, with ``lsn``/``op_ts`` renamed as in :func:`current_state`."""
    renamed = {"lsn": "last_lsn", "op_ts": "updated_ts"}
    return pa.schema(
        f.with_name(renamed.get(f.name, f.name)).with_nullable(True)
        for f in arrow_schema(contract)
        if f.name != "op"
    )


def rebuild_current_state(
    contract: Contract, day: date, settings: Settings, *, run_id: str | None = None
) -> TableRun:
    """Overwrite the current-state table from the full history in one commit."""
    assert contract.current_table and contract.entity_key
    history = lake.read_table(settings.table_uri(contract.curated_table), settings)
    assert history is not None, "history is written before the current state"
    state = current_state(
        history.select(contract.column_names).to_pandas(), key=contract.entity_key
    )
    table = pa.Table.from_pandas(state, schema=_state_schema(contract), preserve_index=False)
    uri = settings.table_uri(contract.current_table)
    current = lake.read_table(uri, settings)
    run = TableRun(
        table=contract.current_table,
        interval=day.isoformat(),
        rows_read=history.num_rows,
        rows_curated=len(state),
        rows_quarantined=0,
        rows_duplicate=0,
    )
    if current is not None and current.equals(table):
        run.version = lake.table_version(uri, settings)
        return run
    run.version = lake.overwrite(uri, table, settings)
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name=contract.current_table,
            version=run.version,
            interval_start=day.isoformat(),
            interval_end=day.isoformat(),
            row_count=len(state),
            run_id=run_id,
        ),
    )
    return run
