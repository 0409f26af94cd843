"""Live release decisions on hand-built prediction-log tables: a pass and each breach."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ml_tasks.release import live
from ml_tasks.release.policy import LivePolicy, load_policy
from ml_tasks.serving.prediction_log import to_table
from ml_tasks.settings import REPO_ROOT
from tests.prediction_fixtures import T0, answer_row

POLICY = load_policy(REPO_ROOT / "include" / "policies" / "promotion.yaml")
CANDIDATE = "2"


def policy(**live_values):
    """The shipped policy with some ``release.live`` values replaced."""
    release = replace(POLICY.release, live=replace(POLICY.release.live, **live_values))
    return replace(POLICY, release=release)


def champion_rows(n, *, mirrored_to=None, score=0.2, mirror_score=0.21, alerts=(), **extra):
    """``n`` champion answers; mirrored to ``mirrored_to`` (scored) when given. ``alerts``: the
    indexes where (champion alert, mirror alert) are given as pairs."""
    rows = []
    for i in range(n):
        row = answer_row(machine_id=f"M-{i:04d}", score=score, **extra)
        if mirrored_to:
            row.update(
                shadow_alias=mirrored_to,
                shadow_version=CANDIDATE,
                shadow_score=mirror_score,
                shadow_alert=False,
                shadow_outcome="scored",
            )
        rows.append(row)
    for i, (mine, theirs) in alerts:
        rows[i]["alert"], rows[i]["shadow_alert"] = mine, theirs
    return rows


def canary_rows(n, *, score=0.2, champion_score=0.21, latency_s=0.002, status=200, alerts=()):
    """``n`` canary answers of the candidate, each mirrored to the champion (scored)."""
    rows = []
    for i in range(n):
        rows.append(
            answer_row(
                machine_id=f"C-{i:04d}",
                alias="canary",
                model_version=CANDIDATE,
                score=score if status == 200 else None,
                status=status,
                latency_s=latency_s,
                shadow_alias="champion" if status == 200 else None,
                shadow_version="1" if status == 200 else None,
                shadow_score=champion_score if status == 200 else None,
                shadow_alert=False if status == 200 else None,
                shadow_outcome="scored" if status == 200 else "none",
                error=None if status == 200 else "model failed",
            )
        )
    for i, (mine, theirs) in alerts:
        rows[i]["alert"], rows[i]["shadow_alert"] = mine, theirs
    return rows


def numbers(rows, stage):
    return live.live_numbers(to_table(rows)[0], stage=stage, version=CANDIDATE, since=T0)


def shadow(rows, pol=POLICY):
    return live.decide_shadow(
        numbers(rows, "shadow"), pol, model_name="failure_model", champion_version="1"
    )


def canary(rows, pol=POLICY, baseline=None):
    return live.decide_canary(
        numbers(rows, "canary"),
        pol,
        model_name="failure_model",
        champion_version="1",
        percent=10,
        baseline_p99_ms=baseline,
    )


def failed(decision) -> set[str]:
    return {c.metric for c in decision.checks if not c.passed}


# Shared alerts: 10 where both alert, 2 where only one does -> disagreement 2/12.
AGREEING = [(i, (True, True)) for i in range(10)] + [(10, (True, False)), (11, (False, True))]
# Disjoint alerts: nobody alerts on the same machine -> disagreement 1.0.
DISJOINT = [(i, (True, False)) for i in range(10)] + [(i, (False, True)) for i in range(10, 20)]


def test_shadow_passes_on_enough_agreeing_mirrors():
    d = shadow(champion_rows(250, mirrored_to="shadow", alerts=AGREEING))
    assert d.ready and d.passed, d.reasons
    n = d.numbers
    assert n.candidate_answers == 250 and n.error_rate == 0
    assert n.agreement.pairs == 250
    assert n.agreement.mean_abs_score_difference == pytest.approx(0.01)
    assert n.agreement.alert_disagreement == pytest.approx(2 / 12)
    assert d.to_dict()["reasons"] == [] and "PASSED" in d.summary()


def test_shadow_waits_for_enough_mirrors():
    d = shadow(champion_rows(50, mirrored_to="shadow"))
    assert not d.ready and not d.passed
    assert d.waiting_for == "200 mirrored answers scored by the shadow (50 so far)"
    assert "waiting for" in d.summary()


def test_shadow_blocks_on_alert_disagreement():
    d = shadow(champion_rows(250, mirrored_to="shadow", alerts=DISJOINT))
    assert d.ready and not d.passed
    assert failed(d) == {"alert_disagreement"}
    assert "1.0000 > maximum 0.9000" in d.reasons[0]


def test_shadow_blocks_on_failed_mirrors_before_it_has_enough_answers():
    rows = champion_rows(150, mirrored_to="shadow")
    for row in champion_rows(60):  # the shadow failed to score these
        row.update(shadow_alias="shadow", shadow_outcome="error")
        rows.append(row)
    d = shadow(rows)
    assert d.ready and not d.passed  # 210 attempts: enough to judge a failing shadow
    assert failed(d) == {"shadow_answers", "error_rate"}
    assert d.numbers.error_rate == pytest.approx(60 / 210)


def test_canary_passes_when_healthy():
    rows = canary_rows(220, alerts=AGREEING) + champion_rows(400, latency_s=0.002)
    d = canary(rows)
    assert d.ready and d.passed, d.reasons
    assert d.numbers.traffic["canary"].answers == 220
    assert d.numbers.traffic["champion"].answers == 400
    assert d.step == 10 and d.name == "canary step 10 %"


def test_canary_waits_for_answers():
    d = canary(canary_rows(120) + champion_rows(400))
    assert not d.ready and d.waiting_for == "200 answers by the canary (120 so far)"


def test_canary_blocks_on_server_errors():
    d = canary(canary_rows(195) + canary_rows(10, status=503) + champion_rows(400))
    assert d.ready and not d.passed
    assert failed(d) == {"canary_answers", "error_rate"}
    assert d.numbers.traffic["canary"].errors == 10


def test_canary_blocks_on_latency_against_the_champion():
    rows = canary_rows(220, latency_s=0.060) + champion_rows(400, latency_s=0.004)
    d = canary(rows)
    assert failed(d) == {"p99_latency_ms"}
    assert "60.00 ms > 2 x champion 4.00 ms (same window)" in d.reasons[0]


def test_sub_floor_latency_never_fails():
    # 10x the champion, but both far under the floor: scheduling noise, not a slow model.
    d = canary(canary_rows(220, latency_s=0.005) + champion_rows(400, latency_s=0.0005))
    assert d.passed, d.reasons


def test_at_full_share_the_latency_baseline_comes_from_earlier_in_the_stage():
    rows = canary_rows(220, latency_s=0.060)  # 100 %: no champion answers in the window
    assert failed(canary(rows, baseline=10.0)) == {"p99_latency_ms"}
    assert canary(rows, baseline=40.0).passed
    check = next(c for c in canary(rows).checks if c.metric == "p99_latency_ms")
    assert check.passed and "no champion answers" in check.message


def test_canary_blocks_on_score_difference():
    d = canary(canary_rows(220, score=0.45, champion_score=0.05) + champion_rows(400))
    assert failed(d) == {"mean_abs_score_difference"}
    assert d.numbers.agreement.mean_abs_score_difference == pytest.approx(0.4)


def test_canary_blocks_on_alert_disagreement():
    d = canary(canary_rows(220, alerts=DISJOINT) + champion_rows(400))
    assert failed(d) == {"alert_disagreement"}


def test_canary_pairs_count_both_mirror_directions():
    # Canary answers mirrored to the champion, and champion answers mirrored to the canary.
    rows = canary_rows(220) + champion_rows(100, mirrored_to="canary", score=0.2, mirror_score=0.5)
    n = numbers(rows, "canary")
    assert n.agreement.pairs == 320
    assert n.agreement.mean_abs_score_difference == pytest.approx((220 * 0.01 + 100 * 0.3) / 320)


def test_other_versions_and_unknown_machines_do_not_count():
    rows = canary_rows(220)
    for row in canary_rows(50):
        row["model_version"] = "3"  # an older canary's answers in the window
        rows.append(row)
    rows += [answer_row(alias="canary", model_version=CANDIDATE, status=404) for _ in range(30)]
    n = numbers(rows, "canary")
    assert n.candidate_answers == n.candidate_attempts == 220
    assert n.agreement.pairs == 220
    assert n.traffic["canary"].not_found == 30


def test_alerts_without_a_threshold_are_left_out():
    rows = canary_rows(220, alerts=AGREEING)
    for row in rows[:5]:
        row["shadow_alert"] = None  # the champion version had no serving.alert_threshold
    agreement = numbers(rows, "canary").agreement
    assert agreement.alerts_both == 5 and agreement.alert_disagreement == pytest.approx(2 / 7)


def test_numbers_read_from_the_prediction_log(platform_home):
    from ml_tasks.serving.prediction_log import PredictionLogWriter

    writer = PredictionLogWriter(platform_home, flush_seconds=3600)
    early = champion_rows(5, mirrored_to="shadow", ts=T0 - timedelta(minutes=5))
    writer.append(early + champion_rows(210, mirrored_to="shadow", ts=T0 + timedelta(seconds=1)))
    writer.close()
    n = live.measure(platform_home, stage="shadow", version=CANDIDATE, since=T0)
    assert n.candidate_answers == 210 and n.rows == 210  # the earlier window is not read


def test_the_shipped_live_policy_is_complete():
    assert POLICY.release.live == LivePolicy(**vars(POLICY.release.live))
    assert POLICY.release.live.min_canary_answers >= 100
    assert 0 < POLICY.release.live.max_error_rate < 0.05


def test_alert_disagreement_counts_machines_and_needs_enough_of_them():
    # Five machines asked about 50 times each, every answer disagreeing: five machines, not 250
    # alerts, and fewer than min_alert_machines: reported, not judged.
    rows = canary_rows(250, alerts=[(i, (True, False)) for i in range(250)])
    for i, row in enumerate(rows):
        row["machine_id"] = f"C-{i % 5:04d}"
    d = canary(rows)
    agreement = d.numbers.agreement
    assert agreement.alert_machines == 5 and agreement.alert_disagreement == pytest.approx(1)
    check = next(c for c in d.checks if c.metric == "alert_disagreement")
    assert check.passed and "not judged, 5 alerting machine(s) < 10" in check.message
    assert failed(canary(rows, policy(min_alert_machines=5))) == {"alert_disagreement"}
