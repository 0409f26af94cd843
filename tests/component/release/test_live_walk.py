"""Shadow and canary on live traffic: the release walk against a real Gateway under load.

The Gateway runs in-process on the serving stack (registry with three versions evaluated, so
each has its serving.alert_threshold; 150 machines in a SQLite online store), writing the real
prediction log; a thread sends single-machine requests meanwhile. The walk's reload calls go
to a URL nobody listens on: they only warn, and the gateway's 0.2 s poll picks each move up.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ml_tasks.registry import history
from ml_tasks.registry.aliases import TRAFFIC_TAG, ReleaseContext
from ml_tasks.registry.models import aliases, client, read_run_json
from ml_tasks.release import live_walk
from ml_tasks.release.live_walk import LiveReleaseBlocked
from ml_tasks.release.policy import load_policy
from ml_tasks.serving.gateway import Gateway
from ml_tasks.serving.prediction_log import PredictionLogWriter
from tests.release_fixtures import MODEL, set_aliases

NOWHERE = "http://127.0.0.1:9"  # the discard port: the reload call fails, polling takes over


@dataclasses.dataclass
class Live:
    settings: Any
    gateway: Gateway
    registry: Any
    sent: list[int]


@pytest.fixture
def live(stack, evaluations, tmp_path) -> Iterator[Live]:
    """Champion ``good`` serving traffic from a thread, answers in the prediction log."""
    reg = stack.registry
    settings = stack.fresh(tmp_path)
    set_aliases(reg, champion=reg.good)
    c = client(settings)
    if TRAFFIC_TAG in c.get_registered_model(MODEL).tags:  # an earlier test's canary share
        c.delete_registered_model_tag(MODEL, TRAFFIC_TAG)
    writer = PredictionLogWriter(settings, flush_seconds=0.2)
    gateway = Gateway(settings, prediction_log=writer, poll=True)
    gateway.start()
    stop = threading.Event()
    sent = [0]
    rng = random.Random(7)

    def traffic() -> None:
        while not stop.is_set():
            gateway.predict([rng.choice(stack.machines)])
            sent[0] += 1
            time.sleep(0.001)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        yield Live(settings, gateway, reg, sent)
    finally:
        stop.set()
        thread.join()
        gateway.close()


def walk(step, *, deadline_s: float = 120.0, pause_s: float = 0.5) -> Any:
    """Call ``step()`` until the stage is done (its LiveProgress), as the sensor's pokes do."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        progress = step()
        if progress.done:
            return progress
        time.sleep(pause_s)
    raise AssertionError("the stage did not finish in time")


def policy_for(live: Live, **values: Any):
    pol = load_policy(live.registry.policy_path)
    release = dataclasses.replace(pol.release, live=dataclasses.replace(pol.release.live, **values))
    return dataclasses.replace(pol, release=release)


def released(settings) -> dict[str, str]:
    return {k: v for k, v in aliases(client(settings), MODEL).items() if k != "challenger"}


def test_a_healthy_challenger_walks_shadow_and_canary_on_live_traffic(live):
    reg, s = live.registry, live.settings
    context = ReleaseContext(actor="test", run_id="live-healthy")
    pol = policy_for(live, wait_seconds=90)
    kwargs = {"gateway": NOWHERE, "context": context, "settings": s, "policy": pol}

    shadow = walk(lambda: live_walk.advance_shadow(MODEL, reg.better, **kwargs)).result
    assert shadow["mode"] == live_walk.LIVE and shadow["passed"]
    assert shadow["mirrored_answers"] >= pol.release.live.min_shadow_answers
    assert shadow["error_rate"] == 0
    assert released(s) == {"champion": reg.good}  # shadow removed, champion untouched

    canary = walk(lambda: live_walk.advance_canary(MODEL, reg.better, [10, 50, 100], **kwargs))
    result = canary.result
    print(
        "healthy shadow:",
        {k: shadow[k] for k in ("mean_abs_score_difference", "alert_disagreement")},
    )
    print("healthy canary steps:", result["steps"])
    assert [step["percent"] for step in result["steps"]] == [10, 50, 100]
    for step in result["steps"]:
        assert step["passed"] and step["canary_answers"] >= pol.release.live.min_canary_answers
        assert step["error_rate"] == 0
    assert released(s) == {"champion": reg.good, "canary": reg.better}
    assert client(s).get_registered_model(MODEL).tags[TRAFFIC_TAG] == "100"
    assert live.gateway.status()["canary_percent"] == 100
    # The record on the challenger's run names the mode.
    run_id = client(s).get_model_version(MODEL, reg.better).run_id
    assert read_run_json(client(s), run_id, "release/canary.json")["mode"] == live_walk.LIVE
    moves = [
        (e.alias, e.action, e.details.get("traffic_percent"))
        for e in history.read_events(MODEL, s)
        if e.run_id == context.run_id
    ]
    assert moves == [
        ("shadow", "set", None),
        ("shadow", "delete", None),
        ("canary", "set", None),
        ("canary", "traffic", 10),
        ("canary", "traffic", 50),
        ("canary", "traffic", 100),
    ]


def test_a_challenger_without_skill_is_rolled_back_at_the_first_canary_step(live):
    reg, s = live.registry, live.settings
    context = ReleaseContext(actor="test", run_id="live-bad")
    pol = policy_for(live, wait_seconds=90)
    kwargs = {"gateway": NOWHERE, "context": context, "settings": s, "policy": pol}
    with pytest.raises(LiveReleaseBlocked) as blocked:
        walk(lambda: live_walk.advance_canary(MODEL, reg.worse, [10, 50, 100], **kwargs))
    decision = blocked.value.decision
    print("shuffled-label canary:", decision["reasons"], decision["numbers"]["agreement"])
    assert decision["step"] == 10 and decision["ready"] and not decision["passed"]
    failed = {c["metric"] for c in decision["checks"] if not c["passed"]}
    assert failed & {"mean_abs_score_difference", "alert_disagreement"}
    assert released(s) == {"champion": reg.good}  # canary removed, champion untouched
    assert client(s).get_registered_model(MODEL).tags[TRAFFIC_TAG] == "0"
    deadline = time.monotonic() + 10
    while live.gateway.table.has_canary and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not live.gateway.table.has_canary  # the gateway polled the rollback


def test_a_step_without_answers_in_time_fails_and_rolls_back(live):
    reg, s = live.registry, live.settings
    context = ReleaseContext(actor="test", run_id="live-timeout")
    # More answers than the traffic can give in the wait.
    pol = policy_for(live, min_canary_answers=10**6, wait_seconds=2)
    kwargs = {"gateway": NOWHERE, "context": context, "settings": s, "policy": pol}
    with pytest.raises(LiveReleaseBlocked, match="still waiting for 1000000 answers by the canary"):
        walk(lambda: live_walk.advance_canary(MODEL, reg.better, [20], **kwargs), deadline_s=30)
    assert released(s) == {"champion": reg.good}
