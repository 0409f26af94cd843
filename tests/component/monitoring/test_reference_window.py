"""The judged day is never part of its own drift reference (the fixed window before a champion).

A day compared with a reference that contains it drifts less than it should: at worst a fully
drifted day hides behind its own rows. These tests look at the rows the monitoring run actually
hands to the drift comparison (their ``feature_ts`` dates), not at the reference's id text: for
every day inside the window, the first day after it (the boundary) and a later one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from ml_tasks.monitoring import pipeline
from tests.component.monitoring.test_monitoring_pipeline import START, _NoChampion, _write_day

WINDOW_DAYS = 7
WINDOW = {START + timedelta(days=i) for i in range(WINDOW_DAYS)}
AFTER = START + timedelta(days=WINDOW_DAYS)  # the first day after the window


class _Compared(Exception):
    """Raised instead of running Evidently once the compared frames are captured."""


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    from ml_tasks.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLATFORM_HOME", str(tmp_path_factory.mktemp("reference-window")))
        settings = get_settings()
    for i in range(WINDOW_DAYS + 3):
        _write_day(settings, START + timedelta(days=i))
    return settings


@pytest.fixture
def window_policy(policy):
    # No manifest here: the window starts at START instead of "the first curated day".
    return replace(
        policy, reference=replace(policy.reference, start=START, window_days=WINDOW_DAYS)
    )


def _compared_frames(day: date, settings, policy, monkeypatch) -> tuple:
    """(current, reference) exactly as run_monitoring passes them to the drift comparison."""
    seen = {}

    def capture(day_, current, reference, *args, **kwargs):
        seen.update(current=current, reference=reference)
        raise _Compared

    monkeypatch.setattr(pipeline, "compare_slices", capture)
    with pytest.raises(_Compared):
        pipeline.run_monitoring(
            day,
            settings=settings,
            policy=policy,
            champion_source=_NoChampion(),
            log_mlflow=False,
        )
    return seen["current"], seen["reference"]


def _days(frame) -> set[date]:
    return set(frame["feature_ts"].dt.date)


@pytest.mark.parametrize(
    "day",
    [*sorted(WINDOW), AFTER, AFTER + timedelta(days=2)],
    ids=lambda d: d.isoformat(),
)
def test_the_judged_day_is_never_in_its_reference(offline, window_policy, monkeypatch, day):
    current, reference = _compared_frames(day, offline, window_policy, monkeypatch)
    assert _days(current) == {day}
    reference_days = _days(reference)
    assert day not in reference_days
    # Leave-one-out: the reference is the whole window except the judged day, every row of it
    # (the policy's sample is larger than the window), so the test cannot pass on an empty or
    # shifted reference.
    assert reference_days == WINDOW - {day}
    rows_per_day = len(current)
    assert len(reference) == rows_per_day * len(WINDOW - {day})


def test_the_reference_frame_and_its_reported_days_agree(offline, window_policy):
    """The summary's ``reference.days`` list names exactly the days whose rows were used."""
    columns = pipeline.monitored_columns(window_policy)
    for day in (START, max(WINDOW), AFTER):
        frame, _, days = pipeline.window_reference(day, window_policy, columns, offline)
        assert day not in days and set(days) == _days(frame) == WINDOW - {day}
