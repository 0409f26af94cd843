"""``python -m ml_tasks evaluate | history | rollback`` on the shared registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ml_tasks.cli import main
from ml_tasks.registry.aliases import ReleaseContext
from ml_tasks.release import flip
from tests.release_fixtures import MODEL, reset, set_aliases


@pytest.fixture
def cli_env(release_registry, tmp_path, monkeypatch):
    """The CLI resolves its settings from the environment: point it at the registry."""
    reset(release_registry)
    s = release_registry.for_test(tmp_path)
    monkeypatch.setenv("PLATFORM_HOME", str(s.platform_home))
    monkeypatch.setenv("PLATFORM_RELEASE_HISTORY_URI", s.release_history_uri)
    monkeypatch.setenv("PLATFORM_PROMOTION_POLICY", str(release_registry.policy_path))
    yield release_registry, s
    reset(release_registry)


def test_history_answers_which_version_was_champion_on_a_day(cli_env, capsys):
    registry, s = cli_env
    ctx = ReleaseContext.cli()
    flip.promote(MODEL, registry.good, context=ctx, settings=s)
    flip.promote(MODEL, registry.better, context=ctx, settings=s)
    today = datetime.now(UTC).date().isoformat()
    assert main(["history", "--model", MODEL, "--on", today]) == 0
    out = capsys.readouterr().out
    assert f"@champion          v{registry.good} -> v{registry.better}" in out
    assert f"On {today}: @champion was v{registry.good} (" in out
    assert f"then v{registry.better} (" in out and "WARNING" not in out
    assert main(["history", "--model", MODEL, "--on", "2020-01-01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["on"]["versions"] == [] and len(data["events"]) == 3
    assert data["aliases"] == {"champion": registry.better, "previous_champion": registry.good}


def test_rollback_command_and_its_refusal(cli_env, capsys):
    registry, s = cli_env
    assert main(["rollback", "--model", MODEL]) == 1
    assert "rollback refused: failure_model has no champion" in capsys.readouterr().err
    ctx = ReleaseContext.cli()
    flip.promote(MODEL, registry.good, context=ctx, settings=s)
    flip.promote(MODEL, registry.better, context=ctx, settings=s)
    assert main(["rollback", "--model", MODEL, "--reason", "INC-42"]) == 0
    out = capsys.readouterr().out
    assert f"champion v{registry.better} -> v{registry.good}" in out and "verified" in out
    assert main(["rollback", "--model", MODEL, "--to-version", registry.good]) == 1
    assert "already the champion" in capsys.readouterr().err


def test_evaluate_command_prints_the_gate_decision(cli_env, capsys):
    registry, _ = cli_env
    set_aliases(registry, champion=registry.better)
    assert main(["evaluate", "--model", MODEL, "--version", registry.worse]) == 0
    out = capsys.readouterr().out
    assert f"Evaluated {MODEL} v{registry.worse} against champion v{registry.better}" in out
    assert f"gate metrics: BLOCKED {MODEL} v{registry.worse}" in out
    assert "roc_auc: challenger" in out and out.rstrip().endswith("decision: BLOCKED")
