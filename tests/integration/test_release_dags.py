"""``evaluate_model``, ``promote_model`` and ``rollback_model`` under real Airflow (dag.test).

One release story on one registry, in order: a missing evaluation times out at the gates; the
first version becomes champion; a better one walks shadow -> canary -> champion; a worse one is
blocked at the gates with its reasons; a rollback restores the previous champion; a rollback to
a tampered artifact is refused and quarantines it; a tampered challenger is stopped at shadow;
a rollback to the blocked version is refused unless forced with a reason. Models are tiny
boosters registered by the training code's own registration (tests/model_fixtures.py), not Ray
runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from ml_platform_demo.steps.release import gate_decisions, task_states
from ml_tasks.registry import history
from ml_tasks.registry.models import aliases, client
from tests.release_fixtures import MODEL, reset
from tests.tampering import tampered

pytestmark = pytest.mark.integration

EVALUATION_GATES = ("gate_metrics", "gate_robustness", "gate_artifacts")


@pytest.fixture(scope="module")
def story(airflow_db, release_registry, tmp_path_factory):
    """The DAG tasks read their settings from the environment: point it at the registry."""
    keys = ("PLATFORM_HOME", "PLATFORM_PROMOTION_POLICY", "PLATFORM_RELEASE_HISTORY_URI")
    saved = {k: os.environ.get(k) for k in keys}
    settings = release_registry.for_test(tmp_path_factory.mktemp("release_story"))
    os.environ["PLATFORM_HOME"] = str(settings.platform_home)
    os.environ["PLATFORM_PROMOTION_POLICY"] = str(release_registry.policy_path)
    os.environ["PLATFORM_RELEASE_HISTORY_URI"] = settings.release_history_uri
    reset(release_registry)
    yield release_registry, settings
    reset(release_registry)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def load(dag_id: str):
    from ml_platform_demo.orchestration import load_dag

    dag = load_dag(dag_id)
    for task in dag.tasks:  # dag.test() waits out retry delays: the first failure is final
        task.retries = 0
    return dag


def run(dag_id: str, **conf):
    return load(dag_id).test(run_conf=conf)


def released(settings) -> dict[str, str]:
    """The release aliases (``challenger`` is training's)."""
    return {k: v for k, v in aliases(client(settings), MODEL).items() if k != "challenger"}


def test_a_missing_evaluation_times_out_at_the_gates(story):
    from ml_tasks.evaluation.records import STATUS_TAG

    registry, s = story
    c = client(s)
    version = registry.worse
    status = c.get_model_version(MODEL, version).tags.get(STATUS_TAG)
    if status is not None:  # evaluated earlier in this session: hide it for this test
        c.delete_model_version_tag(MODEL, version, STATUS_TAG)
    dag = load("promote_model")
    for task_id in EVALUATION_GATES:
        dag.get_task(task_id).timeout = 1
        dag.get_task(task_id).poke_interval = 1
    try:
        dr = dag.test(run_conf={"version": version})
    finally:
        if status is not None:
            c.set_model_version_tag(MODEL, version, STATUS_TAG, status)
    states = task_states(dr)
    assert str(dr.state) == "failed"
    assert all(states[t] == "failed" for t in EVALUATION_GATES)
    assert states["gate_drift"] == "success"
    assert states["promote_to_champion"] == "upstream_failed"
    reason = gate_decisions(dr)["gate_metrics"]["reasons"][0]
    assert reason.startswith(f"gate metrics: timed out waiting for the evaluation of {MODEL} v")
    assert released(s) == {}


def test_the_first_version_becomes_champion(story):
    from ml_tasks.evaluation.pipeline import evaluate_version

    registry, s = story
    evaluate_version(registry.good, settings=s)
    dr = run("promote_model", version=registry.good)
    states = task_states(dr)
    assert str(dr.state) == "success", states
    assert states["shadow"] == states["canary"] == "skipped"  # nothing to compare with yet
    assert states["promote_to_champion"] == "success"
    assert released(s) == {"champion": registry.good}


def test_a_better_challenger_walks_shadow_canary_champion(story):
    registry, s = story
    evaluated = run("evaluate_model", version=registry.better)
    assert str(evaluated.state) == "success"
    dr = run("promote_model", version=registry.better, canary_steps=[10, 50, 100])
    states = task_states(dr)
    assert str(dr.state) == "success", states
    assert all(states[t] == "success" for t in ("shadow", "canary", "promote_to_champion"))
    decisions = gate_decisions(dr)
    assert set(decisions) == {"gate_metrics", "gate_robustness", "gate_artifacts", "gate_drift"}
    assert all(d["passed"] and not d["reasons"] for d in decisions.values())
    assert released(s) == {
        "champion": registry.better,
        "previous_champion": registry.good,
    }
    steps = [
        (e.alias, e.action, e.details.get("traffic_percent"))
        for e in history.read_events(MODEL, s)
        if e.run_id == dr.run_id
    ]
    assert steps == [
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


def test_a_worse_challenger_is_blocked_with_its_reasons(story, capfd):
    registry, s = story
    assert str(run("evaluate_model", version=registry.worse).state) == "success"
    before = len(history.read_events(MODEL, s))
    dr = run("promote_model", version=registry.worse)
    states = task_states(dr)
    assert str(dr.state) == "failed"
    assert states["gate_metrics"] == "failed"
    # No promotion task ran.
    for task_id in ("choose_release_path", "shadow", "canary", "promote_to_champion"):
        assert states[task_id] == "upstream_failed", (task_id, states[task_id])
    decision = gate_decisions(dr)["gate_metrics"]
    failed = {(c["metric"], c["rule"]): c for c in decision["checks"] if not c["passed"]}
    roc = failed["roc_auc", "max_regression_abs"]
    assert roc["challenger"] < 0.65 and roc["champion"] > 0.9 and roc["threshold"] > 0
    assert any(r.startswith("roc_auc: challenger ") for r in decision["reasons"])
    # The reasons are in the task log too (the sensor logs the decision at error level).
    log = capfd.readouterr()
    assert f"gate metrics: BLOCKED {MODEL} v{registry.worse}" in log.out + log.err
    assert released(s)["champion"] == registry.better  # unchanged
    assert len(history.read_events(MODEL, s)) == before


def test_rollback_dag_restores_the_previous_champion(story):
    registry, s = story
    dr = run("rollback_model", reason="INC-7: false alarms on P2")
    assert str(dr.state) == "success", task_states(dr)
    assert released(s) == {"champion": registry.good}
    event = [e for e in history.read_events(MODEL, s) if e.alias == "champion"][-1]
    assert (event.from_version, event.to_version, event.dag_id) == (
        registry.better,
        registry.good,
        "rollback_model",
    )
    assert event.reason == f"rollback from v{registry.better}: INC-7: false alarms on P2"
    today = datetime.now(UTC).date()
    assert [p.version for p in history.on_day(history.read_events(MODEL, s), today)] == [
        registry.good,
        registry.better,
        registry.good,
    ]


def test_rollback_dag_refuses_a_tampered_artifact(story):
    registry, s = story
    with tampered(s, registry.better):
        dr = run("rollback_model", to_version=int(registry.better), reason="back to the new one")
        tags = client(s).get_model_version(MODEL, registry.better).tags
    states = task_states(dr)
    assert states["verify_rollback_target"] == "failed"
    assert states["switch_champion"] == "upstream_failed"
    assert released(s)["champion"] == registry.good
    assert (tags["quarantined"], tags["quarantined.stage"]) == ("digest_mismatch", "rollback")


def test_a_tampered_challenger_is_stopped_before_shadow(story):
    registry, s = story
    with tampered(s, registry.better):
        dr = run("promote_model", version=registry.better)
        tags = client(s).get_model_version(MODEL, registry.better).tags
    states = task_states(dr)
    assert all(d["passed"] for d in gate_decisions(dr).values())  # evaluated before the tamper
    assert states["shadow"] == "failed"
    assert states["canary"] == states["promote_to_champion"] == "upstream_failed"
    assert tags["quarantined.stage"] == "shadow"
    assert released(s) == {"champion": registry.good}
    [mark] = [e for e in history.read_events(MODEL, s) if e.run_id == dr.run_id]
    assert (mark.action, mark.from_version, mark.dag_id) == (
        "quarantine",
        registry.better,
        "promote_model",
    )


def test_rollback_dag_to_a_blocked_version_needs_force_and_a_reason(story):
    registry, s = story
    # worse was blocked by gate_metrics earlier in this story: the sensor kept the verdict.
    assert client(s).get_model_version(MODEL, registry.worse).tags["gate.metrics"] == "blocked"
    dr = run("rollback_model", to_version=int(registry.worse), reason="INC-8")
    assert task_states(dr)["verify_rollback_target"] == "failed"
    assert released(s)["champion"] == registry.good
    dr = run("rollback_model", to_version=int(registry.worse), force=True, reason="INC-8: drill")
    assert str(dr.state) == "success", task_states(dr)
    assert released(s)["champion"] == registry.worse
    event = [e for e in history.read_events(MODEL, s) if e.alias == "champion"][-1]
    assert event.details["forced"] and event.reason.startswith("FORCED rollback from v")
    assert event.dag_id == "rollback_model"
