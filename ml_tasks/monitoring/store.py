"""The drift table: one summary row per monitored interval and model version.

A Delta table next to the curated ones (``<lake>/monitoring_drift``), so it lives wherever the
lake lives (local folder, object storage) and every write is one atomic commit. A rerun or
backfill of an interval replaces that interval's row for the same model version (Delta
``replace_where``), never adds a second one. Nested details (per-slice scores, quality figures,
reasons) are JSON strings; the columns people filter on are plain columns.
"""

from __future__ import annotations

import json
from typing import Any

from ml_tasks.settings import Settings, get_settings

TABLE = "monitoring_drift"
NO_CHAMPION = "none"

# name -> pyarrow type name; the order is the table's column order.
COLUMNS: dict[str, str] = {
    "interval_start": "string",
    "interval_end": "string",
    "model_name": "string",
    "model_version": "string",
    # the registry alias whose version gave the reference ("champion", "challenger"); "none" for
    # the fixed window used before any champion exists
    "alias": "string",
    "reference_kind": "string",
    "reference_id": "string",
    "breached": "bool_",
    "feature_drift": "bool_",
    "prediction_drift": "bool_",
    "prediction_available": "bool_",
    "data_quality": "bool_",
    "retrain": "bool_",
    "share_drifted": "float64",
    "max_slice_share": "float64",
    "drifted_slices": "string",
    "drifted_columns": "string",
    "column_scores": "string",
    "prediction": "string",
    "quality": "string",
    "reasons": "string",
    "current_rows": "int64",
    "compared_rows": "int64",
    "reference_rows": "int64",
    "report_dir": "string",
    "mlflow_run_id": "string",
    "policy_version": "int64",
    "run_id": "string",
    "written_at": "string",
}
JSON_COLUMNS = (
    "drifted_slices",
    "drifted_columns",
    "column_scores",
    "prediction",
    "quality",
    "reasons",
)


def table_uri(settings: Settings | None = None) -> str:
    """Where the drift table lives."""
    return (settings or get_settings()).table_uri(TABLE)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS.items()])


def _literal(value: str) -> str:
    if "'" in value:
        raise ValueError(f"quote in a key value: {value!r}")
    return f"'{value}'"


def write_row(row: dict[str, Any], settings: Settings | None = None) -> int:
    """Insert or replace the row of ``(interval_start, model_name, model_version)``.

    JSON columns are given as Python objects. Returns the table's new Delta version.
    """
    import pyarrow as pa

    from ml_tasks.elt import lake

    s = settings or get_settings()
    values = dict(row)
    for name in JSON_COLUMNS:
        values[name] = json.dumps(values.get(name), default=str, sort_keys=True)
    missing = sorted(set(COLUMNS) - set(values))
    if missing:
        raise KeyError(f"drift row lacks {missing}")
    table = pa.Table.from_pylist([{k: values[k] for k in COLUMNS}], schema=_schema())
    predicate = " AND ".join(
        f"{key} = {_literal(str(values[key]))}"
        for key in ("interval_start", "model_name", "model_version")
    )
    return lake.replace_where(table_uri(s), table, predicate, s)


def read_rows(
    model_name: str | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Every row (of one model), JSON columns decoded, ordered by interval then write time."""
    from ml_tasks.elt import lake

    s = settings or get_settings()
    filters = [("model_name", "=", model_name)] if model_name else None
    table = lake.read_table(table_uri(s), s, filters=filters)
    if table is None:
        return []
    rows = table.to_pylist()
    for row in rows:
        for name in JSON_COLUMNS:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name])
    return sorted(rows, key=lambda r: (r["interval_start"], r["written_at"]))
