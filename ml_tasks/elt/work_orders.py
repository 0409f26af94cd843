"""Work orders: curate the change-data-capture stream, then derive the current state.

The history table keeps every valid change event (see :mod:`ml_tasks.elt.events`). The current
state is recomputed from the whole history on each run: the latest event per work order by log
sequence number, deletes removing the order. That makes it independent of arrival order (an
update landing before its insert) and of the order in which days are processed.

Conflicts: two events with the same ``lsn`` and different content cannot both be true. The
history keeps one by the rule of :mod:`ml_tasks.elt.conflicts` (earliest landing day, then
smallest content hash) and quarantines the other as ``conflict:lsn``. The current state does not
pretend to know which is right: every work order touched by a conflicting event (the kept and
the quarantined side) keeps its row, computed from the kept event, with ``conflict = true``, so
consumers can exclude or review it; the quarantine row says which copy was kept and why.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from datetime import date

import pandas as pd
import pyarrow as pa

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.contracts import Contract, arrow_schema, load_contract
from ml_tasks.elt.events import TableRun, curate_events
from ml_tasks.settings import Settings


def current_state(
    history: pd.DataFrame, *, key: str = "work_order_id", conflicted: Collection[str] = ()
) -> pd.DataFrame:
    """Latest change per ``key`` by ``lsn``; orders whose latest change is a delete are gone.

    ``conflict`` is true for the orders in ``conflicted`` (touched by a conflicting event).
    """
    latest = history.sort_values("lsn").drop_duplicates(key, keep="last")
    alive = latest.loc[latest["op"] != "delete"]
    state = alive.drop(columns=["op"]).rename(columns={"lsn": "last_lsn", "op_ts": "updated_ts"})
    state = state.assign(conflict=state[key].isin(set(conflicted)))
    return state.sort_values(key).reset_index(drop=True)


def conflicted_orders(
    history: pd.DataFrame, quarantine: pd.DataFrame | None, contract: Contract
) -> set[str]:
    """Work orders on either side of an ``lsn`` conflict: the quarantined event's order (from its
    raw line) and the kept event's order (from the history, by the same ``lsn``)."""
    if quarantine is None or quarantine.empty:
        return set()
    pk, entity = contract.primary_key, contract.entity_key or ""
    rows = quarantine.loc[quarantine["reason"] == f"conflict:{pk}", "raw_line"]
    lsns, orders = set(), set()
    for line in rows:
        try:
            record = json.loads(line)
            lsns.add(int(record[pk]))
        except (ValueError, TypeError, KeyError):
            continue  # a conflict row is always a parsed record; nothing to learn otherwise
        if record.get(entity) is not None:
            orders.add(str(record[entity]))
    orders.update(history.loc[history[pk].isin(lsns), entity].astype(str))
    return orders


def curate_work_orders(
    day: date, settings: Settings, *, known: dict[str, set[str]], run_id: str | None = None
) -> tuple[TableRun, TableRun]:
    """Curate day ``day`` of the CDC stream into history, then rebuild the current state."""
    contract = load_contract("work_orders", settings.contracts_dir)
    # The contract's pseudonymise fields are tokenised by curate_events (history and quarantine).
    history_run = curate_events(contract, day, settings, known=known, run_id=run_id)
    return history_run, rebuild_current_state(contract, day, settings, run_id=run_id)


def _state_schema(contract: Contract) -> pa.Schema:
    """History schema without ``op``, with ``lsn``/``op_ts`` renamed as in :func:`current_state`,
    plus ``conflict``."""
    renamed = {"lsn": "last_lsn", "op_ts": "updated_ts"}
    fields = [
        f.with_name(renamed.get(f.name, f.name)).with_nullable(True)
        for f in arrow_schema(contract)
        if f.name != "op"
    ]
    return pa.schema([*fields, pa.field("conflict", pa.bool_())])


def rebuild_current_state(
    contract: Contract, day: date, settings: Settings, *, run_id: str | None = None
) -> TableRun:
    """Overwrite the current-state table from the full history in one commit."""
    assert contract.current_table and contract.entity_key
    history = lake.read_table(settings.table_uri(contract.curated_table), settings)
    assert history is not None, "history is written before the current state"
    changes = history.select(contract.column_names).to_pandas()
    quarantine = lake.read_table(
        settings.table_uri(contract.quarantine_table), settings, columns=["reason", "raw_line"]
    )
    conflicted = conflicted_orders(
        changes, None if quarantine is None else quarantine.to_pandas(), contract
    )
    state = current_state(changes, key=contract.entity_key, conflicted=conflicted)
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
        return replace(run, version=lake.table_version(uri, settings))
    # A table written before the ``conflict`` column existed gets it: the schema is replaced too.
    version = lake.overwrite(uri, table, settings, schema_mode="overwrite")
    run = replace(run, version=version)
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name=contract.current_table,
            version=version,
            interval_start=day.isoformat(),
            interval_end=day.isoformat(),
            row_count=len(state),
            run_id=run_id,
        ),
    )
    return run
