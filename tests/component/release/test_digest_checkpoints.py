"""The digest checkpoint at every stage: a tampered version never gets traffic, nor a score.

Each test changes one byte of a registered version's booster file on the local MLflow store
after registration, at one stage of the release (challenger registration, evaluation, shadow,
before the canary and each of its steps, the flip), and checks that the release stops right
there: an error, no alias left on the version, the quarantine mark, the audit history entry and
the platform alert.
"""

from __future__ import annotations

import logging

import pytest

from ml_tasks.registry import history
from ml_tasks.registry.aliases import ReleaseContext
from ml_tasks.registry.digest import DigestMismatch
from ml_tasks.registry.models import aliases, client
from ml_tasks.release import flip, staged
from tests.model_fixtures import train_and_register
from tests.release_fixtures import MODEL, reset, set_aliases
from tests.tampering import flip_a_byte, tampered

CTX = ReleaseContext(actor="test", dag_id="promote_model", run_id="unit")


@pytest.fixture
def reg(release_registry, tmp_path, caplog):
    """The shared registry, reset, with a history table of this test's own."""
    caplog.set_level(logging.ERROR, logger="ml_tasks.alerts")
    reset(release_registry)
    yield release_registry, release_registry.for_test(tmp_path)
    reset(release_registry)


def assert_quarantined(settings, version: str, stage: str, caplog) -> list[history.AliasEvent]:
    """No alias on ``version``, the mark, the history entry, the alert; the history events."""
    c = client(settings)
    assert version not in aliases(c, MODEL).values()
    tags = c.get_model_version(MODEL, version).tags
    assert tags["quarantined"] == "digest_mismatch" and tags["quarantined.stage"] == stage
    assert tags["release.status"] == "quarantined"
    events = history.read_events(MODEL, settings)
    [mark] = [e for e in events if e.action == "quarantine"]
    assert (mark.from_version, mark.details["stage"]) == (version, stage)
    assert "registered as" in mark.reason
    alerts = [r.getMessage() for r in caplog.records if "PLATFORM ALERT" in r.getMessage()]
    assert len(alerts) == 1 and f"v{version} failed its sha256 check at {stage}" in alerts[0]
    return events


def test_registration_refuses_to_make_a_tampered_version_challenger(reg, caplog):
    registry, s = reg
    set_aliases(registry, challenger=registry.worse)
    with tampered(s, registry.worse):
        with pytest.raises(DigestMismatch, match="release stopped at challenger registration"):
            # The training task retried: it finds the version registered from the same run.
            train_and_register(
                registry.training_set, run_id="worse", settings=s, shuffle_labels=True
            )
        events = assert_quarantined(s, registry.worse, "challenger registration", caplog)
    assert [(e.alias, e.action, e.from_version) for e in events] == [
        ("challenger", "delete", registry.worse),
        ("quarantined", "quarantine", registry.worse),
    ]
    assert aliases(client(s), MODEL) == {}


def test_evaluation_computes_no_metric_for_a_tampered_version(reg, caplog, monkeypatch):
    from ml_tasks.evaluation import pipeline

    registry, s = reg
    set_aliases(registry, champion=registry.good, challenger=registry.better)
    scored = []
    real_load_scorer = pipeline.load_scorer
    monkeypatch.setattr(
        pipeline, "load_scorer", lambda mv: scored.append(mv.version) or real_load_scorer(mv)
    )
    with tampered(s, registry.better):
        with pytest.raises(DigestMismatch, match="release stopped at evaluation"):
            pipeline.evaluate_version(registry.better, settings=s)
        assert scored == []  # neither model was even loaded
        assert_quarantined(s, registry.better, "evaluation", caplog)
        assert aliases(client(s), MODEL) == {"champion": registry.good}


def test_shadow_never_starts_for_a_tampered_version(reg, caplog):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    set_aliases(registry, challenger=registry.better)
    with tampered(s, registry.better):
        with pytest.raises(DigestMismatch, match="release stopped at shadow"):
            staged.shadow(MODEL, registry.better, context=CTX, settings=s)
        events = assert_quarantined(s, registry.better, "shadow", caplog)
    assert not [e for e in events if e.alias == "shadow"]  # never set, not even briefly
    assert aliases(client(s), MODEL) == {"champion": registry.good}


@pytest.mark.parametrize(
    ("when", "stage", "traffic_before"),
    [
        ("before the canary", "canary", []),
        ("once the canary alias is set", "canary step 10 %", []),
        ("after the 10 % step", "canary step 50 %", [10]),
        ("after the 50 % step", "canary step 100 %", [10, 50]),
    ],
)
def test_each_canary_step_is_refused_for_a_tampered_version(
    reg, caplog, monkeypatch, when, stage, traffic_before
):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    with tampered(s, registry.better, now=False) as tamper:
        if when == "before the canary":
            tamper()
        elif when == "once the canary alias is set":
            real_move = staged.move_alias

            def move_then_tamper(c, name, alias, version, **kwargs):
                event = real_move(c, name, alias, version, **kwargs)
                if alias == "canary" and version is not None:
                    tamper()
                return event

            monkeypatch.setattr(staged, "move_alias", move_then_tamper)
        else:
            last = traffic_before[-1]
            real_record = staged.record_traffic

            def record_then_tamper(c, name, version, percent, **kwargs):
                event = real_record(c, name, version, percent, **kwargs)
                if percent == last:
                    tamper()
                return event

            monkeypatch.setattr(staged, "record_traffic", record_then_tamper)
        with pytest.raises(DigestMismatch, match=f"release stopped at {stage}"):
            staged.canary(MODEL, registry.better, [10, 50, 100], context=CTX, settings=s)
        events = assert_quarantined(s, registry.better, stage, caplog)
    traffic = [e.details["traffic_percent"] for e in events if e.action == "traffic"]
    assert traffic == traffic_before  # no step after the tampering got any traffic
    c = client(s)
    assert aliases(c, MODEL) == {"champion": registry.good}
    assert "canary.traffic_percent" not in c.get_registered_model(MODEL).tags
    canary_moves = [e.action for e in events if e.alias == "canary" and e.action != "traffic"]
    assert canary_moves == ([] if stage == "canary" else ["set", "delete"])


def test_the_flip_quarantines_a_tampered_canary_and_it_stays_refused(reg, caplog):
    registry, s = reg
    flip.promote(MODEL, registry.good, context=CTX, settings=s)
    set_aliases(registry, canary=registry.better, challenger=registry.better)
    with tampered(s, registry.better):
        with pytest.raises(DigestMismatch, match="release stopped at flip"):
            flip.promote(MODEL, registry.better, context=CTX, settings=s)
        assert_quarantined(s, registry.better, "flip", caplog)
        # Not left on @canary (the defect): no alias at all, the champion untouched.
        assert aliases(client(s), MODEL) == {"champion": registry.good}
        flip_a_byte(s, registry.better)  # the same bit back: the files match again
        # Sound bytes do not lift the quarantine: a person does, after looking.
        with pytest.raises(DigestMismatch, match="is quarantined"):
            flip.promote(MODEL, registry.better, context=CTX, settings=s)
    assert aliases(client(s), MODEL) == {"champion": registry.good}
