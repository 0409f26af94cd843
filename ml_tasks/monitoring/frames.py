"""The frames monitoring compares: one interval's features, a reference, seeded samples.

Rows are machine-hours of the feature store's offline partitions (their layout is
:mod:`ml_tasks.features.layout`): ``telemetry_stats`` and ``maintenance_history`` join on
``(machine_id, feature_ts)``, ``machine_attributes`` (one snapshot per day) on ``machine_id``.
Every row sits exactly on the hourly grid, so this join gives the same rows as Feast's
point-in-time retrieval for those timestamps, without its cost. Only the columns asked for are
read (parquet column projection).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from ml_tasks.features import layout
from ml_tasks.features.layout import ENTITY, TIMESTAMP
from ml_tasks.settings import Settings, get_settings

DAY_TYPE = "day_type"
HOURLY_VIEWS = ("telemetry_stats", "maintenance_history")
ATTRIBUTES_VIEW = "machine_attributes"
ATTRIBUTES = ("plant_id", "line_id", "machine_model")


class MissingFeatures(RuntimeError):
    """The offline feature partitions of a day that monitoring needs do not exist."""


def day_type(day: date) -> str:
    """``weekend`` (Saturday, Sunday) or ``weekday``: the plants' weekly load cycle."""
    return "weekend" if day.weekday() >= 5 else "weekday"


def missing_partitions(day: date, settings: Settings | None = None) -> list[str]:
    """The offline partitions of ``day`` that have not been computed yet (all views)."""
    return layout.missing_partitions(settings or get_settings(), day, day)


def _read_partition(settings: Settings, view: str, day: date, wanted: set[str] | None) -> Any:
    import pyarrow.parquet as pq

    uri = layout.partition_uri(settings, view, day)
    try:
        schema = pq.read_schema(uri)
    except (FileNotFoundError, OSError) as err:
        raise MissingFeatures(
            f"feature partition {uri} is missing: compute the features for {day} first "
            f"(the features_materialize DAG, or python -m ml_tasks features materialize "
            f"--start {day} --end {day})"
        ) from err
    names = schema.names
    columns = names if wanted is None else [c for c in names if c in wanted or c in _KEYS]
    return pq.read_table(uri, columns=columns)


_KEYS = (ENTITY, TIMESTAMP)


def read_day(
    day: date,
    columns: Iterable[str] | None = None,
    settings: Settings | None = None,
    *,
    sample_rows: int | None = None,
    seed: int = 0,
):
    """One day's machine-hours with the requested feature columns (None: every column).

    Adds ``plant_id``, ``line_id``, ``machine_model`` and ``day_type``; rows are ordered by
    ``(feature_ts, machine_id)``. With ``sample_rows``, a seeded uniform sample of that many
    machine-hours is drawn before the joins and the pandas conversion, so a large day costs
    little when only a sample is needed. Raises :class:`MissingFeatures` naming the partition
    when a view has not been computed.
    """
    import numpy as np

    s = settings or get_settings()
    wanted = None if columns is None else set(columns)
    table = _read_partition(s, HOURLY_VIEWS[0], day, wanted)
    if sample_rows is not None and table.num_rows > sample_rows:
        rows = np.random.default_rng(seed).choice(table.num_rows, sample_rows, replace=False)
        table = table.take(np.sort(rows))
    for view in HOURLY_VIEWS[1:]:
        other = _read_partition(s, view, day, wanted)
        if other.num_columns > len(_KEYS):  # something asked for from this view
            table = table.join(other, keys=list(_KEYS), join_type="left outer")
    attributes = _read_partition(s, ATTRIBUTES_VIEW, day, set(ATTRIBUTES)).drop_columns([TIMESTAMP])
    table = table.join(attributes, keys=ENTITY, join_type="left outer")
    # Joins may reorder rows (threads): a fixed order keeps seeded samples reproducible.
    table = table.sort_by([(TIMESTAMP, "ascending"), (ENTITY, "ascending")])
    frame = table.to_pandas()
    frame[DAY_TYPE] = day_type(day)
    return frame


def first_data_day(settings: Settings | None = None) -> date | None:
    """The first landing day the ELT curated telemetry for (the start of the data)."""
    from ml_tasks.elt import manifest

    s = settings or get_settings()
    days = [
        date.fromisoformat(e.interval_start) for e in manifest.history(s.manifest_path, "telemetry")
    ]
    return min(days) if days else None


def reference_window(
    day: date, window_days: int, start: date | None = None, settings: Settings | None = None
) -> list[date]:
    """The fixed reference window's days that exist, without ``day`` itself.

    The window is ``window_days`` days from ``start`` (default: the first curated day). A day
    inside the window is compared with the window's other days (leave-one-out), so the reference
    never contains the interval it judges.
    """
    s = settings or get_settings()
    first = start or first_data_day(s)
    if first is None:
        return []
    days = [first + timedelta(days=i) for i in range(window_days)]
    return [d for d in days if d != day and not missing_partitions(d, s)]


def sample(frame: Any, rows: int, seed: int) -> Any:
    """At most ``rows`` rows, drawn uniformly without replacement with a fixed seed."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed).sort_index()


def day_seed(day: date) -> int:
    """A stable seed per interval, so a rerun draws the same sample."""
    return int(day.strftime("%Y%m%d"))
