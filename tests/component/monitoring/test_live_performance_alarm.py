"""Live performance end to end on real engines: a registered and evaluated champion (MLflow), a
prediction log written by the gateway's writer, curated work orders (Delta), Evidently reports.

A day whose served scores hold: no alarm, the promotion gate open. A day made bad (the served
scores inverted): the alarm with its reasons, an asset extra ``train_failure_model`` accepts, the
gate closed. A rerun replaces the day's rows; a day whose labels are not known is pending.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import live_fixtures as lf
from tests.release_fixtures import MODEL, Registry, reset, set_aliases


@pytest.fixture(scope="module")
def evaluated_champion(release_registry: Registry, evaluations: dict[str, dict]) -> str:
    """``better``, evaluated (its run holds eval.challenger.roc_auc), as the champion.

    Its evaluation is the session's shared one (against ``good``, the release story of
    ``evaluations``): evaluating it here against no champion replaced that record in the shared
    registry, and the release tests that ran later read "evaluated against no champion".
    """
    assert evaluations["better"]["metrics"]["challenger"]["roc_auc"] is not None
    return release_registry.better


@pytest.fixture
def live_home(release_registry: Registry, evaluated_champion: str, tmp_path: Path) -> Any:
    reset(release_registry)
    set_aliases(release_registry, champion=evaluated_champion)
    settings = lf.home(release_registry.settings, tmp_path)
    lf.write_curated(settings)
    yield settings
    reset(release_registry)


def _rows(settings: Any, day: str) -> list[dict[str, Any]]:
    from ml_tasks.monitoring.live_performance import read_rows

    return [r for r in read_rows(MODEL, settings) if r["day"] == day]


def test_a_day_that_holds_and_a_day_made_bad(
    live_home: Any, evaluated_champion: str, pushgateway_url: str
) -> None:
    import dataclasses
    import urllib.request

    from ml_tasks.monitoring.live_performance import alarm_extra, evaluate_day, live_status
    from ml_tasks.monitoring.status import promotion_gate
    from ml_tasks.registry.models import client
    from ml_tasks.training.trigger import DriftAlarm

    s = dataclasses.replace(live_home, pushgateway_url=pushgateway_url)
    version = evaluated_champion
    lf.write_predictions(
        s,
        lf.served_rows(lf.DAY_1, version, "good") + lf.served_rows(lf.DAY_2, version, "inverted"),
    )

    held = evaluate_day(lf.DAY_1, model_name=MODEL, settings=s, run_id="t1")
    assert held["status"] == "computed" and not held["in_alarm"], held["reasons"]
    fleet = held["versions"][0]
    # 40 machines x 24 hours, each asked twice: one row per machine-hour.
    assert (fleet["rows"], fleet["answers"], held["repeats"]) == (960, 1920, 960)
    assert fleet["positives"] == 60  # machines 0-4, 12:00-23:00 (their failure opens next noon)
    assert fleet["roc_auc"] > 0.9 and fleet["offline_roc_auc"] is not None
    assert Path(held["report_paths"][0]).is_file()
    assert promotion_gate(MODEL, s).open

    bad = evaluate_day(lf.DAY_2, model_name=MODEL, settings=s, run_id="t2")
    assert bad["in_alarm"] and bad["champion_version"] == version
    assert any("ROC-AUC" in r and "below" in r for r in bad["reasons"]), bad["reasons"]
    gate = promotion_gate(MODEL, s)
    assert not gate.open and "live performance in alarm since 2026-10-06" in gate.reason
    status = live_status(MODEL, s)
    assert status["in_alarm"] and status["alarm_days"] == [lf.DAY_2.isoformat()]

    # The Pushgateway holds the latest labelled day's numbers and the alarm.
    with urllib.request.urlopen(f"{pushgateway_url}/metrics", timeout=5) as response:
        exposed = response.read().decode()
    alarm_line = next(
        line
        for line in exposed.splitlines()
        if line.startswith("ml_platform_live_performance_alarm{") and 'slice="all"' in line
    )
    assert f'version="{version}"' in alarm_line and alarm_line.endswith(" 1")
    assert "ml_platform_live_roc_auc{" in exposed

    # The asset event's extra is one train_failure_model reads.
    extra = alarm_extra(bad)
    assert extra["kind"] == "live_performance"
    alarm = DriftAlarm.from_event(extra)
    assert alarm.day == lf.DAY_2.isoformat() and alarm.kinds == ("live_performance",)

    # MLflow: the day's numbers on the run that registered the version, step = day ordinal.
    c = client(s)
    run_id = c.get_model_version(MODEL, version).run_id
    history = c.get_metric_history(run_id, "live_roc_auc")
    assert {m.step for m in history} >= {lf.DAY_1.toordinal(), lf.DAY_2.toordinal()}

    # A rerun replaces the day's rows (fleet + 4 plants), never adds.
    before = len(_rows(s, lf.DAY_2.isoformat()))
    assert before == 5
    evaluate_day(lf.DAY_2, model_name=MODEL, settings=s, log_mlflow=False, write_reports=False)
    assert len(_rows(s, lf.DAY_2.isoformat())) == before

    # Labels of DAY_3 need work orders of DAY_4: pending, nothing written.
    pending = evaluate_day(lf.DAY_3, model_name=MODEL, settings=s)
    assert pending["status"] == "pending" and not _rows(s, lf.DAY_3.isoformat())


def test_the_gate_reopens_when_a_later_day_holds(live_home: Any, evaluated_champion: str) -> None:
    from ml_tasks.monitoring.live_performance import evaluate_day
    from ml_tasks.monitoring.status import promotion_gate

    s, version = live_home, evaluated_champion
    lf.write_predictions(
        s,
        lf.served_rows(lf.DAY_1, version, "inverted") + lf.served_rows(lf.DAY_2, version, "good"),
    )
    for day in (lf.DAY_1, lf.DAY_2):
        evaluate_day(day, model_name=MODEL, settings=s, log_mlflow=False, write_reports=False)
    gate = promotion_gate(MODEL, s)
    assert gate.open, gate.reason
