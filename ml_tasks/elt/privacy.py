"""Clean personal data out of quarantine tables written before raw lines were redacted.

The ELT redacts the contract's ``pseudonymise`` fields inside every raw line before the
quarantine is written (:func:`ml_tasks.elt.events._quarantine_table`), so a new lake never holds
a raw personal value. A lake written by an older version still does: in the current rows, in the
parquet files of earlier Delta versions and in the column statistics of the Delta log.
:func:`redact_quarantine` removes all three:

1. rewrite the table with every raw line redacted (one overwrite commit);
2. ``vacuum`` with zero retention: the parquet files of every earlier version are deleted;
3. checkpoint and expire the log (retention zero for that moment, then the default again): the
   JSON commits that carried the old files' statistics are deleted.

Time travel to versions before the clean-up is gone afterwards, which is the point. Run it while
no ELT writes the table (pause the ``elt_telemetry`` DAG): a zero-retention vacuum may delete the
files of a write still in flight.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from ml_tasks.elt import lake
from ml_tasks.elt.contracts import load_contract
from ml_tasks.elt.pseudonymise import load_key, redact_quarantine_rows
from ml_tasks.settings import Settings

# Delta's defaults, restored after the clean-up so later history is kept as usual.
_LOG_DEFAULTS = {"delta.logRetentionDuration": "interval 30 days"}
_CONTRACTS = ("telemetry", "work_orders")


@dataclass(frozen=True)
class Redaction:
    """What the clean-up did to one quarantine table."""

    table: str
    rows: int
    lines_redacted: int
    files_removed: int
    version: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def redact_quarantine(
    settings: Settings, *, contracts: tuple[str, ...] = _CONTRACTS
) -> list[Redaction]:
    """Redact the quarantine of every contract with personal fields; drop its old versions."""
    done = []
    for name in contracts:
        contract = load_contract(name, settings.contracts_dir)
        if not contract.pseudonymise:
            continue  # nothing personal in this stream
        uri = settings.table_uri(contract.quarantine_table)
        if lake.open_table(uri, settings) is None:
            continue
        done.append(_redact_table(uri, contract.quarantine_table, contract.pseudonymise, settings))
    return done


def _redact_table(uri: str, name: str, fields: tuple[str, ...], settings: Settings) -> Redaction:
    current = lake.read_table(uri, settings)
    assert current is not None
    frame = pl.from_arrow(current)
    assert isinstance(frame, pl.DataFrame)
    redacted = redact_quarantine_rows(frame, fields, load_key(settings.secrets_dir))
    before, after = frame["raw_line"].cast(pl.String), redacted["raw_line"]
    changed = int((before != after).fill_null(False).sum())
    if changed:
        lake.overwrite(
            uri,
            redacted.to_arrow().cast(current.schema),
            settings,
            partition_by=_partitions(uri, settings),
        )
    removed = _expire_history(uri, settings)
    return Redaction(name, len(frame), changed, removed, lake.table_version(uri, settings))


def _partitions(uri: str, settings: Settings) -> list[str] | None:
    table = lake.open_table(uri, settings)
    assert table is not None
    return list(table.metadata().partition_columns) or None


def _expire_history(uri: str, settings: Settings) -> int:
    """Delete every file and log entry not needed by the current version; returns files removed."""
    table = lake.open_table(uri, settings)
    assert table is not None
    removed = table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    table.alter.set_table_properties(
        {"delta.logRetentionDuration": "interval 0 seconds"}, raise_if_not_exists=False
    )
    table.create_checkpoint()
    table.cleanup_metadata()
    table.alter.set_table_properties(_LOG_DEFAULTS, raise_if_not_exists=False)
    return len(removed)
