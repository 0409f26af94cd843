"""make run's lifecycle table: each version's gates, release path and aliases, from the runs."""

from __future__ import annotations

from ml_platform_demo.steps.lifecycle import LifecycleRow, format_lifecycle, row_for
from ml_platform_demo.steps.release import ReleaseOutcome

GATES_OK = {
    "gate_metrics": {"passed": True},
    "gate_robustness": {"passed": True},
    "gate_artifacts": {"passed": True},
    "gate_drift": {"passed": True},
}


def test_first_release_goes_straight_to_the_flip() -> None:
    outcome = ReleaseOutcome(
        "1",
        evaluated=True,
        states={"shadow": "skipped", "canary": "skipped", "promote_to_champion": "success"},
        decisions=GATES_OK,
    )
    assert outcome.path() == "first release: flip"
    assert outcome.gate_summary() == "metrics ok, robustness ok, artifacts ok, drift ok"


def test_live_walk_names_its_steps_and_mode() -> None:
    outcome = ReleaseOutcome(
        "2",
        evaluated=True,
        states={"shadow": "success", "canary": "success", "promote_to_champion": "success"},
        decisions=GATES_OK,
        results={
            "shadow": {"mode": "live gateway traffic"},
            "canary": {
                "mode": "live gateway traffic",
                "steps": [{"percent": 25}, {"percent": 100}],
            },
        },
    )
    assert outcome.path() == "shadow -> canary 25/100 % -> flip (live traffic)"


def test_blocked_versions_say_which_gate_and_that_nothing_moved() -> None:
    decisions = {**GATES_OK, "gate_metrics": {"passed": False, "reasons": ["roc_auc ..."]}}
    outcome = ReleaseOutcome(
        "3",
        evaluated=True,
        states={"gate_metrics": "failed", "shadow": "upstream_failed"},
        decisions=decisions,
    )
    assert outcome.path() == "blocked at the gates"
    assert outcome.gate_summary().startswith("metrics BLOCKED, robustness ok")
    offline = ReleaseOutcome(
        "4",
        evaluated=True,
        states={"shadow": "success", "canary": "failed"},
        decisions=GATES_OK,
        results={"shadow": {"mode": "offline replay of the holdout traffic"}},
    )
    assert offline.path() == "shadow -> canary BLOCKED (offline replay)"


def test_table_shows_where_each_alias_ended() -> None:
    rows = [
        row_for(
            ReleaseOutcome("1", evaluated=True, states={"promote_to_champion": "success"}),
            "2026-10-01..2026-10-16",
            "first weeks",
        ),
        LifecycleRow("2", "2026-10-01..2026-10-23", "later window"),
    ]
    text = format_lifecycle(rows, {"champion": "1", "challenger": "2", "previous_champion": "1"})
    lines = text.splitlines()
    assert any(line.startswith("v1") and "first weeks" in line for line in lines)
    assert "      now      @champion, @previous_champion" in lines
    assert "      now      @challenger" in lines
