"""Rollback only to a released version: champion before, or passed every gate; else --force.

The story of the defect: ``worse`` fails the promotion gates and never serves; ``rollback
--to-version <worse>`` installed it anyway, and it then became ``previous_champion``, so the
next one-step rollback would install it again.
"""

from __future__ import annotations

import pytest

from ml_tasks.cli import main
from ml_tasks.registry import history
from ml_tasks.registry.aliases import ReleaseContext
from ml_tasks.registry.models import aliases, client
from ml_tasks.release import flip, gates, rollback
from tests.release_fixtures import MODEL, reset, set_aliases

CTX = ReleaseContext(actor="test", dag_id="rollback_model", run_id="unit")


@pytest.fixture
def story(release_registry, evaluations, tmp_path, monkeypatch):
    """good, then better released (in the history); worse never champion.

    The environment points at the registry too, for the CLI.
    """
    reset(release_registry)
    reg, s = release_registry, release_registry.for_test(tmp_path)
    monkeypatch.setenv("PLATFORM_HOME", str(s.platform_home))
    monkeypatch.setenv("PLATFORM_RELEASE_HISTORY_URI", s.release_history_uri)
    monkeypatch.setenv("PLATFORM_PROMOTION_POLICY", str(reg.policy_path))
    flip.promote(MODEL, reg.good, context=CTX, settings=s)
    flip.promote(MODEL, reg.better, context=CTX, settings=s)
    yield reg, s
    reset(reg)


def block_at_the_gates(registry, settings) -> None:
    """What the gate sensor does in promote_model: decide, and keep the verdict on the version."""
    decision = gates.decide("metrics", MODEL, registry.worse, settings=settings, record=True)
    assert not decision.passed  # worse learned nothing: far below the champion


def test_rollback_to_a_blocked_never_champion_version_is_refused(story, capsys):
    registry, s = story
    c = client(s)
    before = aliases(c, MODEL)
    events_before = len(history.read_events(MODEL, s))
    with pytest.raises(rollback.RollbackRefused) as err:
        rollback.rollback(MODEL, registry.worse, context=CTX, reason="INC-9", settings=s)
    message = str(err.value)
    assert f"refusing to roll back {MODEL} to v{registry.worse}" in message
    assert "--force" in message
    block_at_the_gates(registry, s)
    with pytest.raises(rollback.RollbackRefused) as err:
        rollback.rollback(MODEL, registry.worse, context=CTX, reason="INC-9", settings=s)
    assert "was never champion and was blocked by the promotion gate(s) metrics" in str(err.value)
    # The CLI says the same and exits 1.
    assert main(["rollback", "--model", MODEL, "--to-version", registry.worse]) == 1
    assert "was blocked by the promotion gate(s) metrics" in capsys.readouterr().err
    # Refused means untouched: aliases, statuses and the history.
    assert (
        aliases(c, MODEL)
        == before
        == {
            "champion": registry.better,
            "previous_champion": registry.good,
        }
    )
    assert len(history.read_events(MODEL, s)) == events_before
    assert c.get_model_version(MODEL, registry.better).tags["release.status"] == "champion"


def test_forced_rollback_needs_a_reason_and_is_recorded(story, capsys):
    registry, s = story
    block_at_the_gates(registry, s)
    # --force alone (the default reason) is not enough.
    argv = ["rollback", "--model", MODEL, "--to-version", registry.worse, "--force"]
    assert main(argv) == 1
    assert "needs a reason of its own" in capsys.readouterr().err
    assert aliases(client(s), MODEL)["champion"] == registry.better
    assert main([*argv, "--reason", "INC-9: every other version crashes the gateway"]) == 0
    out = capsys.readouterr().out
    assert f"champion v{registry.better} -> v{registry.worse}" in out and "FORCED" in out
    assert aliases(client(s), MODEL)["champion"] == registry.worse
    event = [e for e in history.read_events(MODEL, s) if e.alias == "champion"][-1]
    assert (event.from_version, event.to_version) == (registry.better, registry.worse)
    assert event.details["forced"] is True
    assert event.reason.startswith(f"FORCED rollback from v{registry.better}: INC-9: every")
    assert "was blocked by the promotion gate(s) metrics" in event.details["not_released"]
    # The history command shows it.
    assert main(["history", "--model", MODEL]) == 0
    assert "FORCED rollback" in capsys.readouterr().out


def test_a_blocked_version_never_becomes_previous_champion(story):
    registry, s = story
    block_at_the_gates(registry, s)
    c = client(s)
    # Forced in (recorded), then the next release: worse must not be kept for rollback.
    rollback.rollback(MODEL, registry.worse, context=CTX, reason="INC-9", force=True, settings=s)
    flip.promote(MODEL, registry.better, context=CTX, settings=s)
    assert aliases(c, MODEL) == {"champion": registry.better}
    assert c.get_model_version(MODEL, registry.worse).tags["release.status"] == "retired"
    with pytest.raises(rollback.RollbackRefused, match="no @previous_champion"):
        rollback.rollback(MODEL, context=CTX, settings=s)
    # better took over from worse; rolling back onto better must not make worse its way back.
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    assert aliases(c, MODEL) == {"champion": registry.good, "previous_champion": registry.better}
    rollback.rollback(MODEL, context=CTX, reason="one step back", settings=s)
    assert aliases(c, MODEL) == {"champion": registry.better}
    assert registry.worse not in {
        e.to_version for e in history.read_events(MODEL, s) if e.alias == "previous_champion"
    }


def test_a_champion_moved_outside_the_release_is_not_kept_for_rollback(story):
    registry, s = story
    # worse became champion without the release (by hand, or by the old unchecked rollback).
    set_aliases(registry, champion=registry.worse)
    result = flip.promote(MODEL, registry.better, context=CTX, settings=s)
    assert result["previous_champion"] == registry.good  # the released one stays the way back
    assert aliases(client(s), MODEL) == {
        "champion": registry.better,
        "previous_champion": registry.good,
    }


def test_released_versions_stay_rollback_targets(story):
    registry, s = story
    result = rollback.rollback(MODEL, registry.good, context=CTX, reason="INC-10", settings=s)
    assert result["to_version"] == registry.good and not result["forced"]
    assert "was champion" in result["release_record"]
    # Never champion, but every gate passed (the verdicts the gate sensors keep): a target.
    c = client(s)
    for gate in gates.GATES:
        c.set_model_version_tag(MODEL, registry.worse, f"gate.{gate}", "passed")
    try:
        result = rollback.rollback(MODEL, registry.worse, context=CTX, reason="x", settings=s)
        assert result["release_record"] == f"v{registry.worse} passed every promotion gate"
    finally:  # worse as the rest of the session knows it: blocked, nothing else recorded
        for gate in gates.GATES:
            c.delete_model_version_tag(MODEL, registry.worse, f"gate.{gate}")
        block_at_the_gates(registry, s)
