"""The built-in screen gives Evidently's verdicts: same counts, shares, flags and scores.

Every day of the synthetic range (8 clean days and the drifted one), with the fixed window and
with a champion's predictions, is compared both ways (``evidently_screen`` True: Evidently's
``DriftedColumnsCount`` and ``ValueDrift``, the path before the built-in screen) and every slice
result must be equal, floats included.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ml_tasks.monitoring import frames
from ml_tasks.monitoring.drift import wasserstein_norm
from ml_tasks.monitoring.pipeline import Monitor, compare_slices
from tests.component.monitoring.test_monitoring_pipeline import (  # the same synthetic days
    DRIFTED,
    START,
    _FakeChampion,
    _NoChampion,
    offline,  # ruff: ignore[unused-import]  (fixture: 8 clean days, then the drifted one)
)

DAYS = [START + timedelta(days=i) for i in range(8)] + [DRIFTED]


@pytest.fixture
def screen_policy(policy):
    # html "none": every plant without a finding is screened, so both screens are exercised.
    return replace(
        policy,
        reference=replace(policy.reference, start=START),
        reports=replace(policy.reports, html="none"),
    )


def _source(kind, tmp_path):
    if kind == "window":
        return _NoChampion()
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.monitoring_frames import machine_hours

    training = machine_hours(START, seed=1).rename(columns={"feature_ts": "event_timestamp"})
    folder = tmp_path / "v0007"
    folder.mkdir()
    table = pa.Table.from_pandas(training.drop(columns=["day_type"]), preserve_index=False)
    pq.write_table(table, folder / "data.parquet")
    return _FakeChampion(folder)


@pytest.mark.parametrize("kind", ["window", "champion"])
def test_builtin_screen_equals_evidentlys(offline, screen_policy, tmp_path, kind):  # ruff: ignore[redefined-while-unused]
    monitor = Monitor(
        settings=offline,
        policy=screen_policy,
        champion_source=_source(kind, tmp_path),
        log_mlflow=False,
    )
    champion = monitor.champion()
    screened = 0
    for day in DAYS:
        reference, _ = monitor.reference(day, champion)
        current = frames.read_day(day, None, offline)
        if champion is not None:
            current[screen_policy.prediction.column] = champion.score(current)
        verdicts = []
        for evidently in (True, False):
            results, _, _ = compare_slices(
                day,
                current,
                reference,
                screen_policy,
                with_prediction=champion is not None,
                flagged=set(),
                sample_rows=screen_policy.current.sample_rows,
                evidently_screen=evidently,
            )
            verdicts.append({name: r.to_dict() for name, r in results.items()})
        assert verdicts[0] == verdicts[1], day
        screened += sum(not r["detail"] for r in verdicts[1].values())
    assert screened >= 4 * len(DAYS) - 1  # the plants (the drifted one gets its full report)


def test_wasserstein_norm_is_evidentlys_stattest():
    import numpy as np
    import pandas as pd
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import (
        _wasserstein_distance_norm,
    )
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(3)
    reference = pd.Series(rng.normal(10, 2, 5000))
    current = pd.Series(np.append(rng.normal(10.5, 2, 700), [np.nan, np.inf]))
    clean = current.replace([np.inf, -np.inf], np.nan).dropna()
    expected, _ = _wasserstein_distance_norm(reference, clean, ColumnType.Numerical, 0.2)
    assert wasserstein_norm(reference, current) == expected
    constant = pd.Series(np.full(100, 3.0))  # std 0: Evidently's 0.001 floor
    assert (
        wasserstein_norm(constant, current)
        == _wasserstein_distance_norm(constant, clean, ColumnType.Numerical, 0.2)[0]
    )
