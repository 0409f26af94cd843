"""``promote_model`` on live traffic: real ``dag.test()`` with the gateway serving over HTTP.

The gateway (uvicorn + the Starlette app, :func:`ml_tasks.serving.server.build_server`) runs in
a thread on a free port over the serving stack (the release registry's three evaluated versions,
150 machines in a SQLite online store); ``PLATFORM_GATEWAY_URL`` points the DAG at it and a
client thread sends single-machine ``/v1/predict`` requests throughout. In order:

1. a healthy challenger (``better``) walks shadow -> canary 10/50/100 % -> flip on live answers,
   and the gateway serves it as champion without a restart;
2. a challenger that learned nothing (``worse``, shuffled labels) under a policy that lets it
   past the offline gates and watches the shadow without judging alerts: the canary is blocked
   at its first step on the live numbers, rolled back to 0 % with its alias removed, the
   reasons in the XCom ``live_decision``; the champion is unchanged.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ml_platform_demo.steps.release import task_states
from ml_tasks.registry.aliases import TRAFFIC_TAG
from ml_tasks.registry.models import aliases, client
from ml_tasks.release.live_walk import LIVE
from ml_tasks.serving.server import build_server
from tests.release_fixtures import MODEL, reset, set_aliases

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Floor:
    settings: Any
    registry: Any
    url: str
    sent: list[int]
    errors: list[str]


def _env(settings: Any, policy: str, url: str) -> dict[str, str]:
    """The environment the DAG's tasks resolve the same settings from."""
    return {
        "PLATFORM_HOME": str(settings.platform_home),
        "PLATFORM_LAKE_URI": settings.lake_uri,
        "PLATFORM_RELEASE_HISTORY_URI": settings.release_history_uri,
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "MLFLOW_REGISTRY_URI": settings.mlflow_registry_uri,
        "PLATFORM_MLFLOW_ARTIFACT_ROOT": settings.mlflow_artifact_root,
        "PLATFORM_PROMOTION_POLICY": policy,
        "PLATFORM_GATEWAY_URL": url,
    }


@pytest.fixture(scope="module")
def floor(airflow_db, serving_stack, evaluations, tmp_path_factory) -> Iterator[Floor]:
    """The gateway over HTTP with champion ``good``, and shop-floor traffic from a thread."""
    import httpx

    root = tmp_path_factory.mktemp("live_release")
    reg = serving_stack.registry
    settings = dataclasses.replace(serving_stack.fresh(root), platform_home=root / "platform")
    reset(reg)
    c = client(settings)
    if TRAFFIC_TAG in c.get_registered_model(MODEL).tags:
        c.delete_registered_model_tag(MODEL, TRAFFIC_TAG)
    set_aliases(reg, champion=reg.good)

    server = build_server(settings, "127.0.0.1", 0, log_level="warning")
    serving = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    serving.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert serving.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    url = server.url
    stop = threading.Event()
    sent, errors = [0], []

    def traffic() -> None:
        rng = random.Random(11)
        with httpx.Client(base_url=url, timeout=10) as http:
            while not stop.is_set():
                machine = rng.choice(serving_stack.machines)
                response = http.post("/v1/predict", json={"machine_ids": [machine]})
                sent[0] += 1
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.002)

    client_thread = threading.Thread(target=traffic, name="shop-floor", daemon=True)
    client_thread.start()
    saved = {k: os.environ.get(k) for k in _env(settings, "", "")}
    try:
        yield Floor(settings, reg, url, sent, errors)
    finally:
        stop.set()
        client_thread.join(timeout=30)
        server.should_exit = True
        serving.join(timeout=60)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset(reg)


def promote(floor: Floor, policy: str, version: str, steps: list[int]) -> Any:
    from ml_platform_demo.orchestration import load_dag

    os.environ.update(_env(floor.settings, policy, floor.url))
    dag = load_dag("promote_model")
    for task in dag.tasks:  # dag.test() waits out retry delays: the first failure is final
        task.retries = 0
    for task_id in ("shadow", "canary"):
        dag.get_task(task_id).poke_interval = 1
    return dag.test(run_conf={"version": version, "canary_steps": steps})


def xcoms(dag_run: Any, key: str, task_ids: list[str]) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id, key=key, dag_ids=dag_run.dag_id, task_ids=task_ids
            )
        ).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def released(settings: Any) -> dict[str, str]:
    return {k: v for k, v in aliases(client(settings), MODEL).items() if k != "challenger"}


def gateway_status(url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(f"{url}/v1/status", timeout=10).json()


def wait_for(check, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_healthy_challenger_is_released_on_live_traffic(floor):
    reg = floor.registry
    before = floor.sent[0]
    dr = promote(floor, str(reg.policy_path), reg.better, [10, 50, 100])
    states = task_states(dr)
    assert str(dr.state) == "success", states
    results = xcoms(dr, "return_value", ["shadow", "canary"])
    shadow, canary = results["shadow"], results["canary"]
    assert shadow["mode"] == canary["mode"] == LIVE
    assert shadow["gateway"] == floor.url and shadow["passed"]
    assert [s["percent"] for s in canary["steps"]] == [10, 50, 100]
    assert all(s["passed"] and s["canary_answers"] >= 200 for s in canary["steps"])
    now = released(floor.settings)
    assert now["champion"] == reg.better and not {"canary", "shadow"} & set(now)
    # Blue/green: the running gateway serves the new champion, no restart.
    assert wait_for(lambda: gateway_status(floor.url)["slots"]["champion"]["version"] == reg.better)
    assert floor.sent[0] - before > 1000 and not floor.errors


def test_a_bad_canary_is_blocked_on_live_numbers_and_rolled_back(floor, tmp_path):
    reg = floor.registry
    champion = released(floor.settings)["champion"]
    # Let the shuffled-label model past the offline gates, and watch (not judge) the shadow's
    # alerts: the canary's live numbers are what must stop it.
    raw = yaml.safe_load(reg.policy_path.read_text())
    raw["gates"]["metrics"], raw["gates"]["robustness"] = {}, {}
    raw["release"]["shadow"]["max_alert_disagreement"] = 1.0
    policy = tmp_path / "promotion.yaml"
    policy.write_text(yaml.safe_dump(raw))
    dr = promote(floor, str(policy), reg.worse, [10, 100])
    states = task_states(dr)
    assert str(dr.state) == "failed"
    assert states["shadow"] == "success" and states["canary"] == "failed", states
    assert states["promote_to_champion"] == "upstream_failed"
    decision = xcoms(dr, "live_decision", ["canary"])["canary"]
    assert decision["step"] == 10 and decision["ready"] and not decision["passed"]
    assert any(r.startswith("mean_abs_score_difference: ") for r in decision["reasons"])
    now = released(floor.settings)
    assert now["champion"] == champion and not {"canary", "shadow"} & set(now)
    assert client(floor.settings).get_registered_model(MODEL).tags[TRAFFIC_TAG] == "0"
    assert wait_for(lambda: "canary" not in gateway_status(floor.url)["slots"])
    assert not floor.errors
