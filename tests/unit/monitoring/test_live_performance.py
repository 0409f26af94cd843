"""Live performance from delayed labels: metrics on hand-computed cases, deduplication, labels,
pending days, the minimum of positives and the drop rule (pure: no storage, no registry)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from ml_tasks.monitoring import live_labels, live_metrics
from ml_tasks.monitoring.live_performance import compute_rows
from ml_tasks.monitoring.policy import LivePerformancePolicy, PolicyError, parse_policy
from tests.prediction_fixtures import answer_row

DAY = date(2026, 10, 5)


def _at(hour: int, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


# Four machine-hours: two failures (scores 0.35, 0.85), two not (0.05, 0.45); the gateway
# alerted on 0.45 and 0.85.
Y = [0, 0, 1, 1]
P = [0.05, 0.45, 0.35, 0.85]
A = [False, True, False, True]


def test_metrics_by_hand() -> None:
    m = live_metrics.slice_metrics(Y, P, A, min_rows=4, min_positives=2, bins=10)
    assert m["status"] == live_metrics.COMPUTED and m["note"] == ""
    assert (m["rows"], m["positives"], m["prevalence"]) == (4, 2, 0.5)
    # 3 of the 4 (failure, non-failure) pairs are ranked right.
    assert m["roc_auc"] == pytest.approx(0.75)
    # Ranked: 0.85 (hit, precision 1), 0.45, 0.35 (hit, precision 2/3): AP = (1 + 2/3) / 2.
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # Served alerts: 0.45 (no failure) and 0.85 (failure).
    assert m["recall_at_alert"] == pytest.approx(0.5)
    assert m["precision_at_alert"] == pytest.approx(0.5)
    assert m["alert_share"] == pytest.approx(0.5)
    assert m["brier"] == pytest.approx((0.05**2 + 0.45**2 + 0.65**2 + 0.15**2) / 4)
    # One machine-hour per bin: |score - label| averaged.
    assert m["ece"] == pytest.approx((0.05 + 0.45 + 0.65 + 0.15) / 4)
    assert m["mean_score"] == pytest.approx(0.425)


def test_too_few_positives_leaves_ranking_metrics_out_and_says_why() -> None:
    m = live_metrics.slice_metrics(Y, P, A, min_rows=4, min_positives=3)
    assert m["status"] == live_metrics.INSUFFICIENT
    assert m["roc_auc"] is None and m["pr_auc"] is None
    assert "2 positives" in m["note"] and "minimum 4 / 3" in m["note"]
    # The rest is still reported.
    assert m["brier"] is not None and m["recall_at_alert"] == pytest.approx(0.5)
    # Too few rows likewise; an empty slice says so.
    assert live_metrics.slice_metrics(Y, P, A, min_rows=5, min_positives=1)["roc_auc"] is None
    assert live_metrics.slice_metrics([], [], [], min_rows=1, min_positives=1)["note"]


def test_no_served_decision_gives_no_recall_or_precision() -> None:
    m = live_metrics.slice_metrics(Y, P, None, min_rows=4, min_positives=2)
    assert m["recall_at_alert"] is None and m["precision_at_alert"] is None
    assert m["alert_share"] is None and m["roc_auc"] == pytest.approx(0.75)


def test_drop_rule() -> None:
    rule = live_metrics.DropRule(max_roc_auc_drop=0.1, min_roc_auc=0.7)
    offline = {"roc_auc": 0.9, "recall_at_budget": 0.6}
    bad = live_metrics.drop_reasons({"roc_auc": 0.75}, offline, rule, where="fleet")
    assert len(bad) == 1 and "0.150 below" in bad[0] and "0.900" in bad[0]
    assert live_metrics.drop_reasons({"roc_auc": 0.85}, offline, rule, where="fleet") == []
    # Without an offline value only the floor applies.
    assert live_metrics.drop_reasons({"roc_auc": 0.75}, {}, rule, where="x") == []
    assert "floor" in live_metrics.drop_reasons({"roc_auc": 0.6}, {}, rule, where="x")[0]
    # A metric not computed (too few positives) breaches nothing.
    assert live_metrics.drop_reasons({"roc_auc": None}, offline, rule, where="x") == []
    recall = live_metrics.DropRule(max_roc_auc_drop=None, max_recall_drop=0.2)
    assert live_metrics.drop_reasons({"recall_at_alert": 0.3}, offline, recall, where="x")


def test_the_pr_auc_floor_sees_a_day_whose_ranking_still_looks_fine() -> None:
    # The demo's frozen-features day: ROC-AUC inside the clean range, PR-AUC far below it.
    rule = live_metrics.DropRule(max_roc_auc_drop=0.1, min_roc_auc=0.7, min_pr_auc=0.6)
    offline = {"roc_auc": 0.992}
    frozen = {"roc_auc": 0.940, "pr_auc": 0.476}
    reasons = live_metrics.drop_reasons(frozen, offline, rule, where="fleet")
    assert reasons == ["fleet: live PR-AUC 0.476 is below the floor 0.6"]
    clean = {"roc_auc": 0.933, "pr_auc": 0.810}  # the worst clean day of the calibration
    assert live_metrics.drop_reasons(clean, offline, rule, where="fleet") == []
    assert (
        live_metrics.drop_reasons({"roc_auc": 0.94, "pr_auc": None}, offline, rule, where="x") == []
    )


def test_a_day_is_labelled_once_its_last_hour_horizon_has_passed() -> None:
    horizon = timedelta(hours=24)
    # Day D's last hour is D 23:00; its label needs work orders until D+1 23:00.
    assert live_labels.day_is_labelled(DAY, _at(0, DAY + timedelta(days=2)), horizon)
    assert live_labels.day_is_labelled(DAY, _at(23, DAY + timedelta(days=1)), horizon)
    assert not live_labels.day_is_labelled(DAY, _at(22, DAY + timedelta(days=1)), horizon)
    assert not live_labels.day_is_labelled(DAY, None, horizon)


def test_served_answers_keep_one_scored_answer_per_version_alias_machine_hour() -> None:
    hour = _at(10)
    rows = [
        answer_row(ts=hour + timedelta(minutes=5), feature_ts=hour, score=0.2),
        # The same machine-hour asked again: a repeat.
        answer_row(ts=hour + timedelta(minutes=9), feature_ts=hour, score=0.2),
        answer_row(ts=hour + timedelta(minutes=7), feature_ts=hour, score=0.2),
        # Another alias (the canary) on the same machine-hour counts on its own.
        answer_row(
            ts=hour + timedelta(minutes=6),
            feature_ts=hour,
            alias="challenger",
            model_version="2",
            score=0.3,
        ),
        # Not counted: an error answer, an unscored one, a machine-hour of another day.
        answer_row(ts=hour, feature_ts=hour, machine_id="M-0002", status=503, score=None),
        answer_row(ts=hour, feature_ts=hour, machine_id="M-0003", score=None),
        answer_row(ts=hour, feature_ts=hour + timedelta(days=1), machine_id="M-0004"),
    ]
    kept, repeats = live_labels.served_answers(pd.DataFrame(rows), DAY)
    assert repeats == 2
    assert sorted(zip(kept["alias"], kept["answers"], strict=True)) == [
        ("challenger", 1),
        ("champion", 3),
    ]
    champion = kept[kept["alias"] == "champion"].iloc[0]
    assert champion["ts"] == hour + timedelta(minutes=5)  # the first answer


def _curated() -> tuple[pd.DataFrame, pd.DataFrame]:
    machines = pd.DataFrame(
        {
            "machine_id": ["M-0001", "M-0002"],
            "plant_id": ["P1", "P2"],
            "install_date": ["2026-01-01", "2026-01-01"],
        }
    )
    work_orders = pd.DataFrame(
        {
            "machine_id": ["M-0001", "M-0002"],
            "order_type": ["failure", "failure"],
            "status": ["closed", "cancelled"],
            "opened_ts": [_at(12) + timedelta(minutes=30), _at(12)],
            "closed_ts": [_at(15), _at(13)],
        }
    )
    return machines, work_orders


def test_labels_are_the_training_labels_of_the_scored_machine_hour() -> None:
    machines, work_orders = _curated()
    answers = pd.DataFrame(
        [
            answer_row(machine_id="M-0001", feature_ts=_at(10), ts=_at(10)),  # failure in 2.5 h
            answer_row(machine_id="M-0001", feature_ts=_at(13), ts=_at(13)),  # down: left out
            answer_row(machine_id="M-0001", feature_ts=_at(16), ts=_at(16)),  # after the repair
            answer_row(machine_id="M-0002", feature_ts=_at(10), ts=_at(10)),  # cancelled order
        ]
    )
    served, _ = live_labels.served_answers(answers, DAY)
    labelled, dropped = live_labels.attach_labels(
        served,
        machines,
        work_orders,
        DAY,
        horizon=timedelta(hours=24),
        known_until=_at(0, DAY + timedelta(days=2)),
    )
    got = sorted(
        zip(labelled["machine_id"], labelled["feature_hour"].dt.hour, labelled["label"],
            labelled["plant_id"], strict=True)
    )  # fmt: skip
    assert got == [("M-0001", 10, 1, "P1"), ("M-0001", 16, 0, "P1"), ("M-0002", 10, 0, "P2")]
    assert dropped == 1


def _labelled(version: str, alias: str, scores: list[float], labels: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_version": version,
            "alias": alias,
            "machine_id": [f"M-{i:04d}" for i in range(len(scores))],
            "plant_id": ["P1" if i % 2 else "P2" for i in range(len(scores))],
            "score": scores,
            "alert": [s >= 0.5 for s in scores],
            "threshold": 0.5,
            "label": labels,
            "answers": 2,
        }
    )


def test_only_the_watched_alias_and_slice_raise_the_alarm() -> None:
    labels = [1, 0] * 10
    inverted = [0.1 if y else 0.9 for y in labels]  # ranks every failure last
    champion = _labelled("3", "champion", inverted, labels)
    frame = pd.concat([champion, _labelled("4", "challenger", inverted, labels)])
    live = LivePerformancePolicy(min_rows=4, min_positives=2)
    offline = {"3": {"roc_auc": 0.9}, "4": {"roc_auc": 0.9}}
    rows = compute_rows(frame, day=DAY, model_name="m", live=live, offline=offline)
    by_key = {(r["model_version"], r["slice"]): r for r in rows}
    assert set(by_key) == {
        (v, s) for v in ("3", "4") for s in ("all", "plant_id=P1", "plant_id=P2")
    }
    assert by_key["3", "all"]["in_alarm"] and by_key["3", "all"]["roc_auc"] == pytest.approx(0.0)
    assert by_key["3", "all"]["answers"] == 40 and by_key["3", "all"]["rows"] == 20
    # Plants are reported, not alarmed on (alarm_on: fleet); the challenger is reported only.
    # (Each plant holds one class here: its ranking metrics are not computed.)
    assert not by_key["3", "plant_id=P1"]["in_alarm"]
    assert not any(r["in_alarm"] for r in rows if r["model_version"] == "4")
    every = LivePerformancePolicy(min_rows=4, min_positives=2, alarm_on="every_slice")
    mixed = _labelled("3", "champion", inverted, [1, 0, 0, 1] * 5)
    mixed["score"] = [0.1 if y else 0.9 for y in mixed["label"]]
    rows = compute_rows(mixed, day=DAY, model_name="m", live=every, offline=offline)
    assert all(r["in_alarm"] for r in rows)


def test_policy_section_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(PolicyError, match="min_positive"):
        parse_policy({"drift": {"columns": ["a"]}, "live_performance": {"min_positive": 3}})
    with pytest.raises(PolicyError, match="alarm_on"):
        parse_policy({"drift": {"columns": ["a"]}, "live_performance": {"alarm_on": "plants"}})
    with pytest.raises(PolicyError, match="max_roc_auc_drop"):
        parse_policy({"drift": {"columns": ["a"]}, "live_performance": {"max_roc_auc_drop": 2}})
    policy = parse_policy(
        {"drift": {"columns": ["a"]}, "live_performance": {"alarm_aliases": ["champion", "x"]}}
    )
    assert policy.live_performance.alarm_aliases == ("champion", "x")


def test_a_live_performance_alarm_is_described_by_its_reason() -> None:
    from ml_tasks.monitoring.live_performance import alarm_extra
    from ml_tasks.training.trigger import DriftAlarm

    summary = {
        "day": "2026-10-06",
        "model_name": "failure_model",
        "champion_version": "3",
        "reasons": ["failure_model v3 @champion 2026-10-06 all: live ROC-AUC 0.40 ..."],
        "report_paths": ["/r/live_performance/2026-10-06/failure_model-v3-champion.html"],
        "versions": [],
    }
    alarm = DriftAlarm.from_event(alarm_extra(summary))
    assert alarm.model_version == "3" and alarm.report_dir == "/r/live_performance/2026-10-06"
    assert alarm.describe() == (
        "live-performance alarm of 2026-10-06: failure_model v3 @champion 2026-10-06 all: "
        "live ROC-AUC 0.40 ..."
    )
