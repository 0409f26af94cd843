"""The time-based holdout both the challenger and the champion are scored on.

The holdout is the challenger's own validation window: the rows of its training set from the
split's ``valid_start`` on (the latest ``validation_fraction`` of time, after a 24 h gap the
training rows end before, recorded in the run's ``training/lineage.json``). Both models score
exactly these rows.

Neither model may have trained on them. The challenger did not, by construction; the champion
was trained on an earlier training set whose training rows may reach into this window (a newer
training window that overlaps the old one). When they do, the holdout starts after the end of
the champion's training rows plus the label horizon, and the evaluation records it. If too few
rows or failures remain, the gates say so instead of comparing on noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ml_tasks.registry.models import ModelVersion

LABEL_HORIZON = timedelta(hours=24)


@dataclass
class Holdout:
    """The rows (a pandas frame) and what they are."""

    frame: Any
    label: str
    timestamp: str
    entity: str
    slice_column: str | None
    start: str
    end: str
    training_set_version: str | None
    training_set_path: str
    restricted: str | None = None

    @property
    def y(self) -> Any:
        return self.frame[self.label].to_numpy(dtype="float64")

    @property
    def groups(self) -> Any:
        """One group per scoring moment (hour): the alert budget applies per group."""
        return self.frame[self.timestamp].to_numpy()

    def describe(self) -> dict[str, Any]:
        return {
            "rows": len(self.frame),
            "positives": int(self.frame[self.label].sum()),
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "timestamp": self.timestamp,
            "entity": self.entity,
            "slice_column": self.slice_column,
            "training_set_version": self.training_set_version,
            "training_set_path": self.training_set_path,
            "restricted": self.restricted,
            "groups": int(self.frame[self.timestamp].nunique()),
        }


class HoldoutError(ValueError):
    """The holdout cannot be built (no lineage, no training set, no rows)."""


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    value = datetime.fromisoformat(ts)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def champion_train_end(champion: ModelVersion | None) -> datetime | None:
    """The last training-row time of the champion (from its split), if known."""
    if champion is None:
        return None
    window = champion.split.get("train_window") or [None, None]
    return _parse(window[1])


def load_holdout(
    challenger: ModelVersion,
    champion: ModelVersion | None,
    columns: list[str],
    slice_column: str | None,
) -> Holdout:
    """Read the holdout rows: ``columns`` plus label, time, entity and the slice column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ml_tasks.training.data import parquet_files

    ts_info = challenger.training_set
    path = ts_info.get("path") or challenger.tags.get("training_set.path")
    window = challenger.split.get("valid_window")
    if not path or not window:
        raise HoldoutError(
            f"{challenger.model_name} v{challenger.version}: its run has no training-set path or"
            " validation window (training/lineage.json): the holdout is unknown"
        )
    label = ts_info.get("label") or "label"
    timestamp = ts_info.get("timestamp") or "event_timestamp"
    entity = ts_info.get("entity") or "machine_id"
    start = _parse(window[0])
    restricted = None
    champion_end = champion_train_end(champion)
    if (
        champion is not None
        and champion_end is not None
        and start is not None
        and champion_end + LABEL_HORIZON > start
    ):
        # Training rows end before champion_end; their labels look LABEL_HORIZON further ahead.
        start = champion_end + LABEL_HORIZON
        restricted = (
            f"starts {start.isoformat()}: champion v{champion.version} trained on rows up to "
            f"{champion_end.isoformat()}"
        )
    filesystem, files = parquet_files(path)
    tables = []
    for name in files:
        with filesystem.open_input_file(name) as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            wanted = list(dict.fromkeys([*columns, label, timestamp, entity, slice_column or ""]))
            table = parquet.read(columns=[c for c in wanted if c in names])
        column = table.column(timestamp)
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        bound = pa.scalar(start, type=pa.timestamp("us", tz="UTC"))
        tables.append(table.filter(pc.greater_equal(pc.cast(column, bound.type), bound)))
    frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    frame = frame[frame[label].notna()].sort_values([timestamp, entity]).reset_index(drop=True)
    if frame.empty:
        raise HoldoutError(
            f"no holdout rows in {path} from {start.isoformat() if start else '?'}"
            + (f" ({restricted})" if restricted else "")
        )
    frame[label] = frame[label].astype("int64")
    if slice_column and slice_column not in frame.columns:
        slice_column = None
    return Holdout(
        frame=frame,
        label=label,
        timestamp=timestamp,
        entity=entity,
        slice_column=slice_column,
        start=frame[timestamp].min().isoformat(),
        end=frame[timestamp].max().isoformat(),
        training_set_version=challenger.tags.get("training_set.version") or ts_info.get("version"),
        training_set_path=str(path),
        restricted=restricted,
    )
