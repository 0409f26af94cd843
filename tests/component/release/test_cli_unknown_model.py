"""``python -m ml_tasks history`` with a model name nobody registered: an error, exit code 1."""

from __future__ import annotations

from ml_tasks.cli import main
from tests.release_fixtures import MODEL, reset


def test_unknown_model_without_a_registry_is_an_error(platform_home, capsys):
    assert main(["history", "--model", "nope"]) == 1
    captured = capsys.readouterr()
    assert "unknown model 'nope'" in captured.err and captured.out == ""


def test_unknown_model_next_to_a_registered_one(release_registry, tmp_path, monkeypatch, capsys):
    reset(release_registry)
    s = release_registry.for_test(tmp_path)
    monkeypatch.setenv("PLATFORM_HOME", str(s.platform_home))
    monkeypatch.setenv("PLATFORM_RELEASE_HISTORY_URI", s.release_history_uri)
    assert main(["history", "--model", "nope", "--json"]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err
    # The registered model still answers, even before any alias moved.
    assert main(["history", "--model", MODEL]) == 0
