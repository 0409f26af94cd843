"""Staged promotion and rollback on the real registry (functions, no Airflow)."""

from __future__ import annotations

import pytest

from ml_tasks.registry import history
from ml_tasks.registry.aliases import ReleaseContext
from ml_tasks.registry.models import aliases, client
from ml_tasks.release import flip, rollback, staged, versions
from tests.release_fixtures import MODEL, cheap_policy, reset, set_aliases
from tests.tampering import tampered

CTX = ReleaseContext(actor="test", dag_id="promote_model", run_id="unit")


@pytest.fixture
def reg(release_registry, tmp_path):
    """The shared registry, reset, with a history table of this test's own."""
    reset(release_registry)
    yield release_registry, release_registry.for_test(tmp_path)
    reset(release_registry)


def test_first_release_becomes_champion_without_stages(reg):
    registry, s = reg
    result = flip.promote(MODEL, registry.good, context=CTX, settings=s)
    assert result["changed"] and result["previous_champion"] is None
    assert aliases(client(s), MODEL) == {"champion": registry.good}
    [event] = history.read_events(MODEL, s)
    assert (event.alias, event.from_version, event.to_version) == ("champion", None, registry.good)
    assert event.reason.startswith("first champion") and event.dag_id == "promote_model"
    # Idempotent: promoting the champion again changes nothing and records nothing.
    assert not flip.promote(MODEL, registry.good, context=CTX, settings=s)["changed"]
    assert len(history.read_events(MODEL, s)) == 1


def test_better_challenger_walks_shadow_canary_champion(reg):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    shadow = staged.shadow(MODEL, registry.better, context=CTX, settings=s)
    assert shadow["champion_version"] == registry.good and 0 <= shadow["alert_disagreement"] <= 1
    assert "offline replay" in shadow["mode"]
    canary = staged.canary(MODEL, registry.better, [10, 50, 100], context=CTX, settings=s)
    assert [step["percent"] for step in canary["steps"]] == [10, 50, 100]
    assert canary["steps"][-1]["rows"] == shadow["rows"]  # 100 %: all replayed traffic
    c = client(s)
    assert c.get_registered_model(MODEL).tags["canary.traffic_percent"] == "100"
    flipped = flip.promote(MODEL, registry.better, context=CTX, settings=s)
    assert flipped["previous_champion"] == registry.good
    assert aliases(c, MODEL) == {"champion": registry.better, "previous_champion": registry.good}
    assert "canary.traffic_percent" not in c.get_registered_model(MODEL).tags
    steps = [
        (e.alias, e.action, e.details.get("traffic_percent")) for e in history.read_events(MODEL, s)
    ]
    assert steps == [
        ("champion", "set", None),
        ("shadow", "set", None),
        ("shadow", "delete", None),
        ("canary", "set", None),
        ("canary", "traffic", 10),
        ("canary", "traffic", 50),
        ("canary", "traffic", 100),
        ("previous_champion", "set", None),
        ("champion", "set", None),
        ("canary", "delete", None),
    ]
    assert c.get_model_version(MODEL, registry.better).tags["release.status"] == "champion"
    assert c.get_model_version(MODEL, registry.good).tags["release.status"] == "previous_champion"
    # The same events are in the registry's own tags.
    assert {e.event_id for e in history.registry_events(c, MODEL)} == {
        e.event_id for e in history.read_events(MODEL, s)
    }
    run_id = c.get_model_version(MODEL, registry.better).run_id
    assert {f.path for f in c.list_artifacts(run_id, "release")} == {
        "release/shadow.json",
        "release/canary.json",
    }


def test_shadow_stops_the_release_when_the_models_disagree_too_much(reg, tmp_path):
    from ml_tasks.release.policy import load_policy

    registry, s = reg
    set_aliases(registry, champion=registry.better)
    strict = load_policy(
        cheap_policy(tmp_path, {"max_alert_disagreement: 0.9": "max_alert_disagreement: 0.0"})
    )
    with pytest.raises(versions.ReleaseError, match="alert disagreement"):
        staged.shadow(MODEL, registry.worse, context=CTX, settings=s, policy=strict)
    assert "shadow" not in aliases(client(s), MODEL)  # removed even though the stage failed


def test_rollback_restores_the_previous_champion_and_is_recorded(reg):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    flip.promote(MODEL, registry.better, context=CTX, settings=s)
    result = rollback.rollback(MODEL, context=CTX, reason="alarms in P2", settings=s)
    assert (result["from_version"], result["to_version"]) == (registry.better, registry.good)
    c = client(s)
    assert aliases(c, MODEL) == {"champion": registry.good}  # nothing older than v-good
    assert c.get_model_version(MODEL, registry.better).tags["release.status"] == "rolled_back"
    last = history.read_events(MODEL, s)[-2]
    assert (last.alias, last.from_version, last.to_version) == (
        "champion",
        registry.better,
        registry.good,
    )
    assert last.reason == f"rollback from v{registry.better}: alarms in P2"
    with pytest.raises(rollback.RollbackRefused, match="no @previous_champion"):
        rollback.rollback(MODEL, context=CTX, settings=s)


def test_rollback_walks_back_one_step_at_a_time(reg):
    registry, s = reg
    for version in (registry.good, registry.better, registry.worse):
        flip.promote(MODEL, version, context=CTX, settings=s)
    rollback.rollback(MODEL, context=CTX, reason="one", settings=s)
    assert aliases(client(s), MODEL) == {
        "champion": registry.better,
        "previous_champion": registry.good,
    }
    rollback.rollback(MODEL, context=CTX, reason="two", settings=s)
    assert aliases(client(s), MODEL) == {"champion": registry.good}


def test_a_tampered_artifact_refuses_the_rollback(reg):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    flip.promote(MODEL, registry.better, context=CTX, settings=s)
    with tampered(s, registry.good):
        with pytest.raises(rollback.RollbackRefused) as err:
            rollback.rollback(MODEL, context=CTX, reason="incident", settings=s)
        assert f"refusing to roll back: {MODEL} v{registry.good}: model files hash" in str(
            err.value
        )
        assert "registered as" in str(err.value)
        c = client(s)
        # Champion unchanged; the tampered version lost @previous_champion to its quarantine.
        assert aliases(c, MODEL) == {"champion": registry.better}
        assert c.get_model_version(MODEL, registry.good).tags["quarantined.stage"] == "rollback"
    # Files restored and the quarantine lifted (by a person): a released version, so allowed.
    result = rollback.rollback(MODEL, registry.good, context=CTX, settings=s)
    assert result["to_version"] == registry.good and not result["forced"]


def test_resolve_version_prefers_param_then_asset_event_then_alias(reg):
    registry, s = reg
    set_aliases(registry, challenger=registry.worse, champion=registry.good)
    got = versions.resolve_version(MODEL, registry.better, settings=s)
    assert (got["version"], got["source"], got["champion_version"]) == (
        registry.better,
        "param",
        registry.good,
    )
    got = versions.resolve_version(
        MODEL, None, event_extra=[{"version": registry.good}], settings=s
    )
    assert got["source"] == "asset event" and got["already_champion"]
    assert versions.resolve_version(MODEL, None, settings=s)["version"] == registry.worse
