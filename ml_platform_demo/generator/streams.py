"""Seeded random streams and the calendar arithmetic every part of the generator shares.

Every draw comes from ``SeedSequence([seed, stream, key])`` where ``key`` is a calendar day or
a machine number, so a day's data does not depend on which range was generated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

# Independent random streams, so adding draws to one never shifts another.
STREAM_MACHINE, STREAM_FAILURE, STREAM_TELEMETRY, STREAM_FAULTS = 1, 2, 3, 4
STREAM_WORK_ORDERS, STREAM_WO_FAULTS = 5, 6

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_S = 86400


def stream_rng(seed: int, stream: int, key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, key]))


def day_epoch(day: date) -> int:
    """Unix seconds of ``day`` 00:00 UTC."""
    return (day.toordinal() - EPOCH_ORDINAL) * DAY_S


def iso_utc(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
