"""Release on live requests: canary share and stickiness, shadow that never changes an answer,
alias flips under concurrent load, rollback without I/O, a tampered model refused."""

from __future__ import annotations

import math
import threading

from ml_tasks.registry.aliases import TRAFFIC_TAG
from ml_tasks.registry.models import client
from ml_tasks.serving.gateway import Gateway
from ml_tasks.serving.router import route
from tests.release_fixtures import MODEL, set_aliases
from tests.serving_fixtures import ListLog
from tests.tampering import tampered


def _share(stack, percent: int) -> None:
    client(stack.settings).set_registered_model_tag(MODEL, TRAFFIC_TAG, str(percent))


def _own_scores(gw: Gateway, machines: list[str]) -> dict[str, dict[str, float]]:
    """version -> machine -> that version's own score (straight from its booster)."""
    found = gw.features.fetch(machines)
    out = {}
    for model in gw.table.models.values():
        scores = model.score(model.matrix([found[m].values for m in machines]))
        out[model.version] = dict(zip(machines, map(float, scores), strict=True))
    return out


def test_canary_share_is_binomial_and_sticky_and_each_side_mirrors_the_other(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.good, canary=reg.better)
    _share(stack, 30)
    plog = ListLog()
    with Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=False) as gw:
        assert gw.status()["canary_percent"] == 30 and gw.table.has_canary
        first = gw.predict(stack.machines).answers
        again = [gw.predict([m]).answers[0] for m in stack.machines[:40]]
        own = _own_scores(gw, stack.machines)
    sides = [a["alias"] for a in first]
    n, p = len(sides), 0.3
    share = sides.count("canary") / n
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), share
    assert sides == [route(m, gw.table) for m in stack.machines]
    assert [a["alias"] for a in again] == sides[:40]  # sticky
    for a in first:
        assert a["model_version"] == (reg.better if a["alias"] == "canary" else reg.good)
        assert a["probability"] == own[a["model_version"]][a["machine_id"]]
    # Canary answers are mirrored to the champion, champion answers to the canary (no shadow).
    rows = plog.rows
    assert len(rows) == n + 40 and {r["shadow_outcome"] for r in rows} == {"scored"}
    for r in rows:
        assert {r["alias"], r["shadow_alias"]} == {"champion", "canary"}
        assert r["shadow_version"] != r["model_version"]
        assert r["shadow_score"] == own[r["shadow_version"]][r["machine_id"]]


def test_shadow_never_changes_an_answer(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better)
    plog = ListLog()
    machines = stack.machines[:60]
    with Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=False) as gw:
        without = gw.predict(machines).answers
        set_aliases(reg, shadow=reg.worse)
        assert gw.reload()["after"] == {"champion": reg.better, "shadow": reg.worse}
        with_shadow = gw.predict(machines).answers
        own = _own_scores(gw, machines)
    assert with_shadow == without
    mirrored = plog.rows[len(machines) :]
    assert {r["shadow_outcome"] for r in plog.rows[: len(machines)]} == {"none"}
    assert {(r["shadow_alias"], r["shadow_version"], r["shadow_outcome"]) for r in mirrored} == {
        ("shadow", reg.worse, "scored")
    }
    for r in mirrored:
        assert r["shadow_score"] == own[reg.worse][r["machine_id"]]
        assert r["score"] == own[reg.better][r["machine_id"]]


def test_alias_flips_under_four_threads_lose_nothing_and_name_the_version(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better, previous_champion=reg.good)
    machines = stack.machines[:20]
    plog = ListLog()
    with Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=False) as gw:
        own = _own_scores(gw, machines)
        stop = threading.Event()
        answers: list[list[dict]] = [[] for _ in range(4)]
        errors: list[BaseException] = []

        def client_loop(i: int) -> None:
            try:
                while not stop.is_set():
                    answers[i].extend(gw.predict(machines[i * 5 : i * 5 + 5]).answers)
            except BaseException as err:  # surfaced by the assertion below
                errors.append(err)

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        flips = []
        for k in range(10):
            champion, previous = (reg.good, reg.better) if k % 2 == 0 else (reg.better, reg.good)
            set_aliases(reg, champion=champion, previous_champion=previous)
            flips.append(gw.reload())
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert all(f["changed"] and f["loaded"] == [] for f in flips)  # no download on a flip
    seen = [a for per_thread in answers for a in per_thread]
    assert len(seen) >= 40 and len(plog.rows) == len(seen)
    assert {a["status"] for a in seen} == {200}
    assert {a["model_version"] for a in seen} <= {reg.good, reg.better}
    for a in seen:
        assert a["probability"] == own[a["model_version"]][a["machine_id"]]


def test_rollback_is_visible_without_restart_or_download(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better, previous_champion=reg.good)
    machine = stack.machines[3]
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=True) as gw:
        assert gw.predict([machine]).answers[0]["model_version"] == reg.better
        loaded_at = gw.status()["slots"]["previous_champion"]["loaded_at"]
        set_aliases(reg, champion=reg.good, previous_champion=reg.better)
        summary = gw.reload()
        assert summary["loaded"] == [] and summary["after"]["champion"] == reg.good
        assert gw.predict([machine]).answers[0]["model_version"] == reg.good
        assert gw.status()["slots"]["champion"]["loaded_at"] == loaded_at  # the same booster


def test_an_alias_move_is_picked_up_by_the_poller(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better)
    settings = stack.fresh(tmp_path, gateway_poll_seconds=0.1)
    with Gateway(settings, prediction_log=ListLog(), poll=True) as gw:
        set_aliases(reg, champion=reg.good)
        for _ in range(100):
            if gw.table.versions().get("champion") == reg.good:
                break
            threading.Event().wait(0.05)
        assert gw.predict([stack.machines[0]]).answers[0]["model_version"] == reg.good
        swaps = gw.metrics.model_swaps.labels("poll")._value.get()
        assert swaps >= 1


def test_a_tampered_model_is_refused_and_serving_continues(stack, tmp_path):
    reg = stack.registry
    set_aliases(reg, champion=reg.better)
    machine = stack.machines[0]
    with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
        before = gw.predict([machine]).answers[0]
        with tampered(reg.settings, reg.good):
            set_aliases(reg, champion=reg.good)
            summary = gw.reload("poll")
            assert summary["after"] == {"champion": reg.better}
            assert [r["version"] for r in summary["refused"]] == [reg.good]
            assert gw.predict([machine]).answers[0] == before
            status = gw.status()
            assert status["ready"] and status["slots"]["champion"]["version"] == reg.better
            assert [(r["version"], r["kind"]) for r in status["refused"]] == [
                (reg.good, "digest_mismatch")
            ]
            assert "hash to" in status["last_error"]
            # A poll does not download it again; the refusal is counted once.
            assert gw.reload("poll")["refused"] == []
            failures = gw.metrics.model_load_failures.labels("digest_mismatch")._value.get()
            assert failures == 1
        # Files restored: an admin reload retries and loads it.
        assert gw.reload("admin")["after"] == {"champion": reg.good}
        assert gw.status()["refused"] == []


def test_a_version_without_its_digest_is_refused_and_no_champion_is_not_ready(stack, tmp_path):
    from ml_tasks.registry.digest import DIGEST_TAG

    reg = stack.registry
    c = client(stack.settings)
    digest = c.get_model_version(MODEL, reg.good).tags[DIGEST_TAG]
    set_aliases(reg, champion=reg.good)
    c.delete_model_version_tag(MODEL, reg.good, DIGEST_TAG)
    try:
        with Gateway(stack.fresh(tmp_path), prediction_log=ListLog(), poll=False) as gw:
            ready, reason = gw.readiness()
            assert not ready and "no champion" in reason and DIGEST_TAG in reason
            assert [r["kind"] for r in gw.status()["refused"]] == ["digest_mismatch"]
            # The alias moves on: the refusal is no longer news.
            set_aliases(reg, champion=reg.better)
            assert gw.reload("poll")["after"] == {"champion": reg.better}
            assert gw.readiness() == (True, None) and gw.status()["refused"] == []
    finally:
        c.set_model_version_tag(MODEL, reg.good, DIGEST_TAG, digest)


def test_a_canary_that_fails_answers_503_for_its_machines_and_logs_them(
    stack, tmp_path, monkeypatch
):
    """A throwing canary model: its machines get a named 503 (rows in the log, so the live
    error rate sees it at once); the champion's machines in the same batch are still scored."""
    reg = stack.registry
    set_aliases(reg, champion=reg.good, canary=reg.better)
    _share(stack, 50)
    plog = ListLog()
    with Gateway(stack.fresh(tmp_path), prediction_log=plog, poll=False) as gw:
        model_type = type(gw.table.models["canary"])
        real_score = model_type.score

        def score(self, matrix):
            if self.version == reg.better:
                raise RuntimeError("corrupt booster")
            return real_score(self, matrix)

        monkeypatch.setattr(model_type, "score", score)
        answers = gw.predict(stack.machines).answers
    by_alias = {a["alias"]: a for a in answers}
    assert set(by_alias) == {"champion", "canary"}
    for a in answers:
        if a["alias"] == "canary":
            assert a["status"] == 503 and a["probability"] is None
            assert a["model_version"] == reg.better and "model error" in a["error"]
        else:
            assert a["status"] == 200 and a["probability"] is not None
    logged = {r["machine_id"]: r["status"] for r in plog.rows}
    assert logged == {a["machine_id"]: a["status"] for a in answers}
