"""The audit history: events in, "who was champion when" out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from ml_tasks.registry import history
from ml_tasks.registry.history import AliasEvent


def ev(alias, action, frm, to, at, reason="r"):
    return AliasEvent(
        model_name="failure_model",
        alias=alias,
        action=action,
        from_version=frm,
        to_version=to,
        reason=reason,
        actor="test",
        at=datetime.fromisoformat(at).replace(tzinfo=UTC),
    )


EVENTS = [
    ev("champion", "set", None, "1", "2026-10-01T08:00", "first champion"),
    ev("canary", "set", None, "2", "2026-10-03T09:00"),
    ev("canary", "traffic", "2", "2", "2026-10-03T09:05"),
    ev("previous_champion", "set", None, "1", "2026-10-03T10:00"),
    ev("champion", "set", "1", "2", "2026-10-03T10:00", "passed the gates"),
    ev("champion", "set", "2", "1", "2026-10-05T16:30", "rollback from v2: alarms"),
]


def test_periods_follow_the_alias():
    held = history.periods(EVENTS)
    assert [(p.version, p.start.day, p.end.day if p.end else None) for p in held] == [
        ("1", 1, 3),
        ("2", 3, 5),
        ("1", 5, None),
    ]
    assert held[1].ended_by == "rollback from v2: alarms"


def test_which_version_was_champion_on_a_day():
    assert [p.version for p in history.on_day(EVENTS, date(2026, 10, 2))] == ["1"]
    assert [p.version for p in history.on_day(EVENTS, date(2026, 10, 3))] == ["1", "2"]
    assert [p.version for p in history.on_day(EVENTS, date(2026, 10, 4))] == ["2"]
    assert history.on_day(EVENTS, date(2026, 9, 30)) == []
    assert history.at_time(EVENTS, datetime(2026, 10, 5, 16, 0, tzinfo=UTC)) == "2"
    assert history.at_time(EVENTS, datetime(2026, 10, 5, 17, 0, tzinfo=UTC)) == "1"


def test_previous_holder_is_what_the_version_replaced():
    assert history.previous_holder(EVENTS, "2") == "1"
    assert history.previous_holder(EVENTS, "1") == "2"  # the latest take-over: the rollback


def test_reconcile_spots_aliases_moved_outside_the_platform():
    assert history.reconcile(EVENTS, EVENTS, {"champion": "1", "previous_champion": "1"}) == [
        "@canary is vNone in the registry but v2 in the history (moved outside the platform?)"
    ]
    problems = history.reconcile(
        EVENTS, [], {"champion": "3", "canary": "2", "previous_champion": "1"}
    )
    assert problems == [
        "@champion is v3 in the registry but v1 in the history (moved outside the platform?)"
    ]


def test_events_round_trip_through_the_delta_table(tmp_path, monkeypatch):
    from ml_tasks.settings import get_settings

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    s = get_settings()
    assert s.release_history_uri == str(tmp_path / "lake" / "release_history")
    assert history.read_events("failure_model", s) == []
    for event in EVENTS:
        history.append(event, s)
    read = history.read_events("failure_model", s)
    assert sorted(e.event_id for e in read) == sorted(e.event_id for e in EVENTS)
    assert [e.at for e in read] == [e.at for e in EVENTS]  # time order
    assert history.periods(read) == history.periods(EVENTS)
    assert read[-1].reason == "rollback from v2: alarms"


def test_the_cli_format_answers_the_question():
    text = history.format_history(
        "failure_model", EVENTS, day=date(2026, 10, 3), current={"champion": "1"}
    )
    assert "On 2026-10-03: @champion was v1 (00:00-10:00 UTC), then v2 (10:00-24:00 UTC)" in text
    assert "aliases now: @champion v1" in text


def test_released_as_champion_ignores_forced_moves():
    forced = replace(
        ev("champion", "set", "2", "3", "2026-10-06T08:00", "FORCED rollback from v2: INC-9"),
        details={"forced": True},
    )
    events = [*EVENTS, forced]
    assert history.released_as_champion(events, "2").reason == "passed the gates"
    assert history.released_as_champion(events, "3") is None  # only ever forced in
    assert history.released_as_champion(events, "4") is None


def test_a_quarantine_event_moves_no_alias():
    mark = ev("quarantined", "quarantine", "2", None, "2026-10-06T09:00", "digest_mismatch")
    assert "v2 quarantined" in mark.describe()
    assert history.periods([*EVENTS, mark], "quarantined") == []
    now = {"champion": "1", "canary": "2", "previous_champion": "1"}
    assert history.reconcile([*EVENTS, mark], [], now) == history.reconcile(EVENTS, [], now) == []
