"""Served predictions joined with the labels that arrived after them.

The label of a logged answer is the training label of the machine-hour it scored
(``feature_ts``): 1 when a failure work order for the machine is opened in
``(feature_ts, feature_ts + horizon]``, from :func:`ml_tasks.features.training.label_frame` (the
same rule, the same exclusions: cancelled orders do not count, hours in which the machine was
already down for a failure are left out, as they are from training and evaluation sets). The
labels are known up to the end of the last curated landing day of work orders (the training
set's ``labels_known_until`` rule), so a day of machine-hours is labelled only once its last
hour's horizon has passed in the curated data; until then it is **pending**.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from ml_tasks.settings import Settings

LABEL = "label"
# One answer per model, alias and machine-hour: the key the log is deduplicated on.
DEDUP_KEY = ("model_version", "alias", "machine_id", "feature_ts")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[day 00:00, day+1 00:00)`` in UTC."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def labels_known_until(settings: Settings) -> datetime | None:
    """The end of the last landing day whose work orders are curated (None before any)."""
    from ml_tasks.features.training import _curated_until

    return _curated_until(settings)


def day_is_labelled(day: date, known_until: datetime | None, horizon: timedelta) -> bool:
    """Whether every machine-hour of ``day`` has its label: the last hour's horizon has passed."""
    if known_until is None:
        return False
    return day_bounds(day)[1] - timedelta(hours=1) + horizon <= known_until


def served_answers(predictions: pd.DataFrame, day: date) -> tuple[pd.DataFrame, int]:
    """The scored answers (status 200, a score) about the machine-hours of ``day``, deduplicated.

    Demo traffic (and an HMI polling every few seconds) asks about the same machine-hour many
    times; each ask is one logged answer, but the model is judged once per machine-hour and
    model: the first answer of each ``(model_version, alias, machine_id, feature_ts)`` is kept
    (later ones served the same features, so the same score), with ``answers``, how many it
    stands for. Returns the rows and how many answers were dropped as repeats.
    """
    start, stop = day_bounds(day)
    frame = predictions
    if frame.empty:
        return frame.assign(feature_hour=pd.Series(dtype="datetime64[ns, UTC]")), 0
    feature_ts = pd.to_datetime(frame["feature_ts"], utc=True)
    keep = (
        (frame["status"] == 200)
        & frame["score"].notna()
        & frame["model_version"].notna()
        & (feature_ts >= start)
        & (feature_ts < stop)
    )
    frame = frame[keep].assign(feature_ts=feature_ts[keep])
    frame = frame.sort_values("ts", kind="stable")
    counts = frame.groupby(list(DEDUP_KEY), sort=False).size().rename("answers").reset_index()
    deduped = frame.drop_duplicates(subset=list(DEDUP_KEY), keep="first").merge(
        counts, on=list(DEDUP_KEY), how="left"
    )
    # The label grid is hourly; a feature row stamped inside an hour belongs to that hour.
    deduped = deduped.assign(feature_hour=deduped["feature_ts"].dt.floor("h"))
    return deduped.reset_index(drop=True), len(frame) - len(deduped)


def attach_labels(
    answers: pd.DataFrame,
    machines: pd.DataFrame,
    work_orders: pd.DataFrame,
    day: date,
    *,
    horizon: timedelta,
    known_until: datetime | None,
) -> tuple[pd.DataFrame, int]:
    """``answers`` (from :func:`served_answers`) with :data:`LABEL` and ``plant_id``.

    Answers for machine-hours the training labels leave out (machine not installed yet, down for
    a failure, label not known) are dropped; returns the labelled rows and how many were dropped.
    """
    from ml_tasks.features.training import EVENT_TIMESTAMP, label_frame
    from ml_tasks.features.training import LABEL as TRAINING_LABEL

    if answers.empty:
        return answers.assign(**{LABEL: pd.Series(dtype="int64"), "plant_id": ""}), 0
    labels = label_frame(
        machines,
        work_orders,
        day,
        day,
        horizon=horizon,
        known_until=known_until,
        exclude_in_repair=True,
    ).rename(columns={EVENT_TIMESTAMP: "feature_hour", TRAINING_LABEL: LABEL})
    labels["feature_hour"] = labels["feature_hour"].astype("datetime64[ns, UTC]")
    frame = answers.assign(feature_hour=answers["feature_hour"].astype("datetime64[ns, UTC]"))
    labelled = frame.merge(labels, on=["machine_id", "feature_hour"], how="inner")
    plants = machines[["machine_id", "plant_id"]].drop_duplicates("machine_id")
    labelled = labelled.merge(plants, on="machine_id", how="left")
    labelled["plant_id"] = labelled["plant_id"].fillna("unknown").astype(str)
    return labelled, len(answers) - len(labelled)


def read_curated(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curated ``machines`` and ``work_orders`` tables (the final word on each order)."""
    from ml_tasks.elt import lake

    machines = lake.read_table(settings.table_uri("machines"), settings)
    work_orders = lake.read_table(settings.table_uri("work_orders"), settings)
    if machines is None or work_orders is None:
        raise LookupError("curated machines/work_orders missing: run the ELT first")
    return machines.to_pandas(), work_orders.to_pandas()


def read_day_answers(settings: Settings, day: date) -> pd.DataFrame:
    """The prediction log's answers that may concern ``day``'s machine-hours.

    An answer comes after the features it scored (``ts >= feature_ts``), so only answers given
    from the day's start on are read; the machine-hour filter is :func:`served_answers`'s.
    """
    from ml_tasks.serving.prediction_log import read_predictions

    columns = ["ts", "machine_id", "status", "alias", "model_version", "score", "alert",
               "threshold", "feature_ts"]  # fmt: skip
    table = read_predictions(settings, since=day_bounds(day)[0], columns=columns)
    frame: Any = table.to_pandas()
    return frame
