"""The gateway on a real registry and online store: answers, statuses, the champion only."""

from __future__ import annotations

import pytest

from ml_tasks.serving.gateway import Gateway, GatewayUnavailable
from tests.release_fixtures import set_aliases
from tests.serving_fixtures import ListLog


def test_champion_answers_with_its_version_and_unknown_machines_get_404(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    plog = ListLog()
    with Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=False) as gw:
        assert gw.readiness() == (True, None)
        ids = [stack.machines[0], "M-9999", stack.machines[1], stack.machines[0]]
        result = gw.predict(ids)
    assert [a["machine_id"] for a in result.answers] == [ids[0], "M-9999", ids[2]]
    first, unknown, second = result.answers
    assert first["status"] == 200 and first["model_version"] == stack.registry.better
    assert first["alias"] == "champion" and 0.0 <= first["probability"] <= 1.0
    assert first["feature_timestamp"] is not None and first["stale"] is False
    assert unknown["status"] == 404 and unknown["probability"] is None and unknown["error"]
    assert second["status"] == 200
    assert plog.closed and len(plog.rows) == 3
    assert {r["request_id"] for r in plog.rows} == {result.request_id}


def test_no_champion_is_not_ready(stack, tmp_path):
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
        ready, reason = gw.readiness()
        assert not ready and "no champion" in reason
        with pytest.raises(GatewayUnavailable, match="no champion"):
            gw.predict([stack.machines[0]])


def test_a_closed_gateway_answers_unavailable_and_closes_once(stack, tmp_path):
    set_aliases(stack.registry, champion=stack.registry.better)
    plog = ListLog()
    gw = Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=True)
    gw.start()
    gw.predict([stack.machines[0]])
    gw.close()
    gw.close()
    assert plog.closed and len(plog.rows) == 1
    assert gw.readiness() == (False, "gateway closed")
    with pytest.raises(GatewayUnavailable, match="gateway closed"):
        gw.predict([stack.machines[0]])
