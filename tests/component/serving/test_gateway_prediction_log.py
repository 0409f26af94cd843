"""The real prediction log behind the gateway: after a graceful stop it holds exactly the
answered machines of each request, with the mirror's version and score beside the answer."""

from __future__ import annotations

from ml_tasks.serving.gateway import Gateway
from ml_tasks.serving.prediction_log import read_predictions
from tests.release_fixtures import set_aliases


def test_the_log_holds_exactly_the_answers_after_close(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better, shadow=reg.worse)
    settings = stack.fresh(tmp_path, predictions_flush_seconds=30.0)  # only close() flushes
    machines = stack.machines[:25]
    sent: dict[str, list[dict]] = {}
    with Gateway(settings, poll=False) as gw:
        for machine in machines:
            result = gw.predict([machine], request_id=f"r-{machine}")
            sent[result.request_id] = result.answers
        batch = gw.predict([machines[0], "M-9999", machines[0], machines[1]], route="v2")
        sent[batch.request_id] = batch.answers
    table = read_predictions(settings).to_pylist()
    assert len(table) == sum(len(a) for a in sent.values()) == len(machines) + 3
    logged = {(r["request_id"], r["machine_id"]): r for r in table}
    for request_id, answers in sent.items():
        for answer in answers:
            row = logged[request_id, answer["machine_id"]]
            assert row["status"] == answer["status"]
            assert row["score"] == answer["probability"]
            assert row["model_version"] == answer["model_version"]
            if answer["status"] == 200:
                assert (row["shadow_version"], row["shadow_outcome"]) == (reg.worse, "scored")
                assert row["shadow_score"] is not None and row["latency_s"] > 0
            else:
                assert row["shadow_outcome"] == "none" and row["error"]
    assert {r["route"] for r in table if r["request_id"] == batch.request_id} == {"v2"}
