"""``python -m ml_tasks promote`` (``make promote``) on the shared registry: the gates stop a
blocked version before any alias moves; a better one walks shadow -> canary -> flip (the offline
replay: no gateway runs here)."""

from __future__ import annotations

from ml_tasks.cli import main
from ml_tasks.registry import history
from ml_tasks.registry.models import aliases, client
from tests.release_fixtures import MODEL, reset


def test_promote_refuses_a_blocked_version_and_releases_a_better_one(
    release_registry, evaluations, tmp_path, monkeypatch, capsys
):
    registry = release_registry
    reset(registry)
    s = registry.for_test(tmp_path)
    monkeypatch.setenv("PLATFORM_HOME", str(s.platform_home))
    monkeypatch.setenv("PLATFORM_RELEASE_HISTORY_URI", s.release_history_uri)
    monkeypatch.setenv("PLATFORM_PROMOTION_POLICY", str(registry.policy_path))
    try:
        # good was evaluated with no champion: the first release goes straight to the flip.
        assert main(["promote", "--version", registry.good]) == 0
        out = capsys.readouterr().out
        assert "path flip" in out and f"champion none -> v{registry.good}" in out

        # better was evaluated against good: gates pass, then the staged walk and the flip.
        argv = ["promote", "--version", registry.better, "--canary-steps", "20,100"]
        assert main([*argv, "--reason", "INC-7 retrain"]) == 0
        out = capsys.readouterr().out
        assert "path shadow -> canary -> flip" in out
        assert f"champion v{registry.good} -> v{registry.better}" in out
        assert aliases(client(s), MODEL) == {
            "champion": registry.better,
            "previous_champion": registry.good,
        }
        events = history.read_events(MODEL, s)
        staged = [(e.alias, e.action) for e in events if e.to_version == registry.better]
        assert staged[0] == ("shadow", "set") and ("canary", "set") in staged
        assert staged[-1][0] == "champion"
        assert [e.reason for e in events if e.alias == "champion"][-1] == "INC-7 retrain"

        # worse was evaluated against better: blocked, nothing moves.
        assert main(["promote", "--version", registry.worse]) == 1
        err = capsys.readouterr().err
        assert f"{MODEL} v{registry.worse} is blocked by the promotion gates" in err
        assert "decision: BLOCKED" in err
        assert aliases(client(s), MODEL)["champion"] == registry.better
        assert len(history.read_events(MODEL, s)) == len(events)
    finally:
        reset(registry)
