"""The refresh end to end on the generated manuals, with the real model and the real gate.

One full build of the default library is made once per module and copied for each test, so
each test pays only for what it changes.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ml_tasks.search import embedder
from ml_tasks.search.gates import IndexGateFailed
from ml_tasks.search.index import ManualIndex
from ml_tasks.search.pipeline import refresh, rollback
from ml_tasks.search.policy import load_policy
from ml_tasks.search.retrieval import Searcher, load_golden, score_golden

DAY0 = date(2026, 10, 1)


def _snapshot(settings, day: date) -> Path:
    return settings.landing_dir / "manuals" / f"date={day.isoformat()}"


def _copy_day(settings, src: date, dst: date) -> Path:
    target = _snapshot(settings, dst)
    shutil.copytree(_snapshot(settings, src), target)
    return target


def _edit_section(path: Path, section: str, extra: str) -> None:
    """Append a sentence to one H2 section of a manual, leaving the rest byte-identical."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"## {section}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    lines.insert(end, f"{extra}\n")
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def built_home(tmp_path_factory):
    """PLATFORM_HOME with the day-0 library indexed (v1 live)."""
    from ml_platform_demo.manuals import write_manuals
    from ml_tasks.settings import get_settings

    home = tmp_path_factory.mktemp("search") / "platform"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLATFORM_HOME", str(home))
        s = get_settings()
        write_manuals(s.landing_dir, start=DAY0, days=1, seed=7)
        result = refresh(DAY0, settings=s)
    assert result["swap"]["live"] == 1
    return home, result


@pytest.fixture
def home(built_home, tmp_path, monkeypatch):
    src, result = built_home
    dst = tmp_path / "platform"
    shutil.copytree(src, dst)
    monkeypatch.setenv("PLATFORM_HOME", str(dst))
    from ml_tasks.settings import get_settings

    return get_settings(), result


def test_first_build_embeds_everything_and_meets_the_golden_policy(home):
    s, first = home
    e = first["embedded"]
    assert e["embedded"] == e["chunks"] > 100 and e["reused"] == 0
    policy = load_policy()
    live = ManualIndex(s).open_version(1)
    score = score_golden(live, load_golden(), k=policy.quality.k, depth=policy.quality.mrr_depth)
    assert score.queries >= 50
    assert score.recall_at_k >= policy.quality.min_recall_at_k, score.misses
    assert score.mrr >= policy.quality.min_mrr
    assert first["decision"]["passed"]
    assert first["decision"]["quality"]["recall_at_k"] == score.recall_at_k


def test_editing_one_document_re_embeds_only_its_changed_chunk(home):
    s, first = home
    folder = _copy_day(s, DAY0, date(2026, 10, 2))
    _edit_section(folder / "pump-c-f03.md", "Symptoms", "A faint whistle may come from the seal.")
    result = refresh(date(2026, 10, 2), settings=s)
    e = result["embedded"]
    assert e["embedded"] == 1
    assert e["reused"] == first["embedded"]["chunks"] - 1
    assert result["swap"] == {"live": 2, "previous": 1, "changed": True}
    index = ManualIndex(s)
    ids1, v1 = index.version_vectors(1)
    ids2, v2 = index.version_vectors(2)
    old = dict(zip(ids1, v1, strict=True))
    reused = [i for i, cid in enumerate(ids2) if cid in old]
    assert len(reused) == e["reused"]
    assert all(np.array_equal(v2[i], old[ids2[i]]) for i in reused)  # stored, not recomputed
    assert result["decision"]["drift"]["added_chunks"] == 1
    assert "quality: live v1 score from its own gate" in result["decision"]["notes"]
    assert result["decision"]["drift"]["removed_chunks"] == 1


def test_rerunning_a_day_reuses_its_version(home):
    s, _ = home
    again = refresh(DAY0, settings=s)
    assert again["built"]["green"] == 1 and again["built"]["reused_version"]
    assert again["embedded"]["embedded"] == 0
    assert again["swap"] == {"live": 1, "previous": None, "changed": False}
    assert ManualIndex(s).kept_versions() == [1]


def test_a_degraded_green_is_blocked_blue_stays_live_and_rollback_works(home):
    s, _ = home
    folder = _copy_day(s, DAY0, date(2026, 10, 2))
    docs = sorted(folder.glob("*.md"))
    for path in docs[len(docs) // 3 :]:  # an export cut short: two thirds of it missing
        path.unlink()
    with pytest.raises(IndexGateFailed) as blocked:
        refresh(date(2026, 10, 2), settings=s)
    decision = blocked.value.decision
    assert not decision["passed"] and decision["green"] == 2 and decision["blue"] == 1
    assert any(r.startswith("quality: recall@5") for r in decision["reasons"])
    index = ManualIndex(s)
    assert index.live_version() == 1
    assert Searcher(s).search("pump leaking at the shaft", 3)  # blue still serves
    assert index.build(2).gate["passed"] is False

    # the next good night goes live; rollback returns to the version before it
    folder = _copy_day(s, DAY0, date(2026, 10, 3))
    _edit_section(folder / "press-x-f01.md", "Procedure", "Record the new bearing's serial.")
    assert refresh(date(2026, 10, 3), settings=s)["swap"]["live"] == 3
    assert rollback(settings=s) == {"live": 1, "previous": 3}
    assert index.live_version() == 1
    assert Searcher(s).version == 1
    assert [e["action"] for e in index.events()][-3:] == ["gate_passed", "promote", "rollback"]


def test_an_empty_export_fails_the_gate(home):
    s, _ = home
    _snapshot(s, date(2026, 10, 2)).mkdir(parents=True)
    with pytest.raises(IndexGateFailed, match=r"corpus: 0 readable documents"):
        refresh(date(2026, 10, 2), settings=s)
    assert ManualIndex(s).live_version() == 1


def test_a_corrupt_manual_is_skipped_and_its_live_revision_kept(home):
    s, _ = home
    folder = _copy_day(s, DAY0, date(2026, 10, 2))
    (folder / "cnc-a-f02.md").write_bytes(b"\xff\xfe" + "Spindel überhitzt".encode("cp1252"))
    (folder / "pump-c-lubrication.md").write_bytes(b"")
    result = refresh(date(2026, 10, 2), settings=s)
    e = result["embedded"]
    assert e["skipped"] == {
        "cnc-a-f02": "not UTF-8: byte 0xff at offset 0",
        "pump-c-lubrication": "empty file (0 bytes)",
    }
    assert e["carried_forward"] == ["cnc-a-f02", "pump-c-lubrication"]
    assert e["embedded"] == 0  # nothing new: the kept revisions are the live ones
    # identical chunk set -> the live version is reused, nothing moves
    assert result["built"]["green"] == 1


def test_embeddings_that_no_longer_reproduce_block_the_swap(home, monkeypatch):
    s, _ = home
    folder = _copy_day(s, DAY0, date(2026, 10, 2))
    _edit_section(folder / "pump-c-f01.md", "Symptoms", "Noise rises with the flow rate.")
    real = embedder.encode

    def drifted(texts, **kwargs):  # a runtime whose numerics moved (e.g. a library upgrade)
        v = real(texts, **kwargs) + 0.05
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    monkeypatch.setattr(embedder, "encode", drifted)
    with pytest.raises(IndexGateFailed, match="not reproducible by the current model"):
        refresh(date(2026, 10, 2), settings=s)
    assert ManualIndex(s).live_version() == 1


def test_cli_search_status_history_and_rollback(home, capsys):
    import json

    from ml_tasks.cli import main

    s, _ = home
    assert main(["search", "press ram creeps down when stopped", "--k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == 1 and len(out["hits"]) == 3
    assert {"doc_id", "section", "score", "text"} <= set(out["hits"][0])
    assert out["hits"][0]["score"] >= out["hits"][-1]["score"]
    assert main(["search", "   "]) == 1
    assert "empty query" in capsys.readouterr().err

    assert main(["index", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["live"] == 1 and status["versions"][0]["gate"] == "passed"
    assert main(["index", "rollback"]) == 1
    assert "no previous version" in capsys.readouterr().err

    folder = _copy_day(s, DAY0, date(2026, 10, 2))
    _edit_section(folder / "cnc-b-f04.md", "Diagnosis", "Check the belt tension first.")
    assert main(["index", "refresh", "--date", "2026-10-02"]) == 0
    assert "gate PASSED: green v2 vs live v1" in capsys.readouterr().out
    assert main(["index", "rollback", "--reason", "test"]) == 0
    assert "v2 -> v1" in capsys.readouterr().out
    assert main(["index", "history"]) == 0
    history = capsys.readouterr().out
    assert "rollback" in history and "test" in history
