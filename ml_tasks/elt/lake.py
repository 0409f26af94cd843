"""Delta Lake writes that are atomic and idempotent.

Every write is a single Delta commit: a task killed before the commit leaves only unreferenced
files, and readers keep seeing the previous version.
"""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute

from ml_tasks.reachability import require_reachable_once
from ml_tasks.settings import Settings


def _storage(settings: Settings) -> dict[str, str] | None:
    return settings.storage_options or None


def require_object_store(uri: str, settings: Settings) -> None:
    """A clear error when the S3 endpoint of a remote table does not answer (deltalake would
    retry for minutes, then report a Rust error chain)."""
    endpoint = settings.storage_options.get("AWS_ENDPOINT_URL")
    if endpoint and "://" in uri and not uri.startswith("file://"):
        require_reachable_once("S3 object store", endpoint, "AWS_ENDPOINT_URL")


def open_table(uri: str, settings: Settings, version: int | None = None) -> Any | None:
    """The Delta table at ``uri``, or None when it does not exist yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    require_object_store(uri, settings)
    try:
        return DeltaTable(uri, version=version, storage_options=_storage(settings))
    except TableNotFoundError:
        return None


def table_version(uri: str, settings: Settings) -> int | None:
    table = open_table(uri, settings)
    return None if table is None else int(table.version())


def row_count(uri: str, settings: Settings) -> int | None:
    """Rows in the current version, from the Delta log's file statistics (no data read)."""
    table = open_table(uri, settings)
    if table is None:
        return None
    # deltalake returns an arro3 table; pyarrow reads it through the Arrow C stream interface
    # (from_stream: pa.table() would first import pandas to rule out a DataFrame, ~1 s).
    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    return int(pa.compute.sum(actions.column("num_records")).as_py() or 0)


def read_table(
    uri: str,
    settings: Settings,
    *,
    columns: list[str] | None = None,
    filters: list[tuple[str, str, Any]] | None = None,
    version: int | None = None,
) -> pa.Table | None:
    """Read (part of) a Delta table with partition/row filters; None when it does not exist."""
    table = open_table(uri, settings, version=version)
    if table is None:
        return None
    import pyarrow.dataset as ds

    # deltalake's default filesystem is a Python one (pyarrow PyFileSystem): Arrow's C++ reader
    # threads call back into Python, and a process reading through it aborted at exit
    # ("terminate called without an active exception", code 134) in 1-2 % of short runs even
    # scanning on one thread (tests/component/elt/test_lake_exit.py). A local table is read
    # through Arrow's native filesystem instead: 0 aborts in 160 runs, threaded or not.
    local = _local_path(uri)
    if local is not None:
        from pyarrow import fs

        native = fs.SubTreeFileSystem(local, fs.LocalFileSystem())
        dataset = table.to_pyarrow_dataset(filesystem=native)
    else:
        dataset = table.to_pyarrow_dataset()
    expression = None
    for column, op, value in filters or []:
        term = _expression(ds.field(column), op, value)
        expression = term if expression is None else expression & term
    # Object storage still goes through the Python filesystem: one thread there.
    return dataset.to_table(columns=columns, filter=expression, use_threads=local is not None)


def _local_path(uri: str) -> str | None:
    """The folder of a local table (plain path or ``file://``), None for object storage."""
    import os

    if uri.startswith("file://"):
        return os.path.abspath(uri.removeprefix("file://"))
    return None if "://" in uri else os.path.abspath(uri)


def _expression(field: Any, op: str, value: Any) -> Any:
    ops = {
        "=": field == value,
        "!=": field != value,
        ">=": field >= value,
        "<=": field <= value,
        ">": field > value,
        "<": field < value,
    }
    if op == "in":
        return field.isin(value)
    return ops[op]


def replace_where(
    uri: str,
    data: pa.Table,
    predicate: str,
    settings: Settings,
    *,
    partition_by: list[str] | None = None,
) -> int:
    """Atomically replace the rows matching ``predicate`` with ``data``; returns the new version.

    ``data`` must itself satisfy the predicate (Delta checks it), which is what makes a rerun of
    the same interval replace, never duplicate, its rows.
    """
    from deltalake import write_deltalake

    if open_table(uri, settings) is None:
        write_deltalake(
            uri, data, mode="append", partition_by=partition_by, storage_options=_storage(settings)
        )
    else:
        write_deltalake(
            uri,
            data,
            mode="overwrite",
            predicate=predicate,
            partition_by=partition_by,
            storage_options=_storage(settings),
            schema_mode=None,
        )
    return int(table_version(uri, settings) or 0)


def append(
    uri: str, data: pa.Table, settings: Settings, *, partition_by: list[str] | None = None
) -> int:
    """Append ``data`` in one commit; returns the new version."""
    from deltalake import write_deltalake

    write_deltalake(
        uri, data, mode="append", partition_by=partition_by, storage_options=_storage(settings)
    )
    return int(table_version(uri, settings) or 0)


def overwrite(
    uri: str,
    data: pa.Table,
    settings: Settings,
    *,
    partition_by: list[str] | None = None,
    schema_mode: Literal["merge", "overwrite"] | None = None,
) -> int:
    """Atomically replace the whole table's content; returns the new version.

    ``schema_mode="overwrite"`` replaces the schema as well (a derived table gaining a column).
    """
    from deltalake import write_deltalake

    write_deltalake(
        uri,
        data,
        mode="overwrite",
        partition_by=partition_by,
        storage_options=_storage(settings),
        schema_mode=schema_mode,
    )
    return int(table_version(uri, settings) or 0)


def merge_rows(
    uri: str,
    data: pa.Table,
    *,
    on: list[str],
    target_filter: str,
    update_when: str,
    delete_when: str,
    settings: Settings,
    partition_by: list[str],
) -> tuple[int, dict[str, Any]]:
    """One-commit MERGE: update matched rows when ``update_when``, insert new ones, delete target
    rows within ``target_filter`` that match ``delete_when`` but not the source.

    ``target_filter`` (literal partition bounds) lets Delta skip every file outside the interval,
    so the cost is bounded by the interval, not by the table's history.
    """
    table = open_table(uri, settings)
    if table is None:
        from deltalake import write_deltalake

        write_deltalake(
            uri, data, mode="append", partition_by=partition_by, storage_options=_storage(settings)
        )
        metrics = {"num_target_rows_inserted": data.num_rows}
        return int(table_version(uri, settings) or 0), metrics
    join = " AND ".join(f"t.{c} = s.{c}" for c in on)
    metrics = (
        table.merge(
            data,
            predicate=f"{join} AND {target_filter}",
            source_alias="s",
            target_alias="t",
        )
        .when_matched_update_all(predicate=update_when)
        .when_not_matched_insert_all()
        .when_not_matched_by_source_delete(predicate=f"{delete_when} AND {target_filter}")
        .execute()
    )
    return int(table_version(uri, settings) or 0), dict(metrics)
