"""The manuals library: structure, determinism, the daily changes versus the truth, the files."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ml_platform_demo.generate import FAILURE_CODES, MODEL_BASELINES, generate
from ml_platform_demo.manuals import (
    CORE_SECTIONS,
    CORRUPT_KINDS,
    core_doc_ids,
    day_changes,
    library,
    manuals_dir,
    snapshots,
    truth_path,
    write_manuals,
)
from ml_platform_demo.manuals.changes import edit_document
from ml_platform_demo.manuals.documents import Document, rng_for
from ml_platform_demo.manuals.facts import FAILURE_MODES, GENERAL_KINDS, default_models

START = date(2026, 10, 1)
DEFAULT_MODELS = tuple(MODEL_BASELINES)


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


def parse(data: bytes) -> tuple[str, str, dict[str, str]]:
    """(title, intro, {H2 heading: body}) of a valid manual file."""
    text = data.decode("utf-8")
    head, *blocks = re.split(r"^## ", text, flags=re.MULTILINE)
    title_line, _, intro = head.partition("\n")
    assert title_line.startswith("# ")
    sections = {}
    for block in blocks:
        name, _, body = block.partition("\n")
        assert name not in sections, f"duplicate section {name}"
        sections[name] = body.strip()
    return title_line[2:], intro.strip(), sections


def corruption(data: bytes) -> str | None:
    """How a file is unusable for an indexer, or None for a valid manual."""
    if not data:
        return "empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    lines = [line for line in text.splitlines() if line.strip()]
    return "no_text" if all(line.lstrip().startswith("#") for line in lines) else None


@pytest.fixture(scope="module")
def history() -> list[Any]:
    """Snapshots of the default library (seed 7) for days 0..30."""
    return list(snapshots(START, _day(30), seed=7))


# --- facts and structure ------------------------------------------------------------------


def test_facts_cover_the_generators_models_and_failure_codes() -> None:
    assert tuple(m.model for m in default_models()) == DEFAULT_MODELS
    assert tuple(FAILURE_MODES) == FAILURE_CODES
    for machine in default_models():
        assert tuple(mode.code for mode in machine.modes) == FAILURE_CODES
        assert tuple(g.kind for g in machine.general) == GENERAL_KINDS


def test_default_library_has_core_general_and_bulletin_documents() -> None:
    files = library(START, start=START)
    assert 40 <= len(files) <= 50
    core = core_doc_ids()
    assert len(core) == 24 and "press-x-f03" in core and "pump-c-f06" in core
    general = {f"{m.lower()}-{kind}" for m in DEFAULT_MODELS for kind in GENERAL_KINDS}
    bulletins = {d for d in files if d.startswith("sb-")}
    assert set(files) == set(core) | general | bulletins
    assert len(bulletins) >= 2
    assert all(re.fullmatch(r"[a-z0-9-]+", doc_id) for doc_id in files)


def test_every_core_manual_has_the_six_sections_and_a_telling_title() -> None:
    files = library(_day(30), start=START)
    for doc_id in core_doc_ids():
        title, intro, sections = parse(files[doc_id])
        assert tuple(sections) == CORE_SECTIONS, doc_id
        model, code = doc_id.rsplit("-", 1)
        assert title.startswith(model.upper()) and code.upper() in title
        assert intro and all(sections.values())
        assert re.search(r"^1\. ", sections["Procedure"], re.MULTILINE)
        assert "part no." in sections["Parts and tools"]


def test_sections_are_mostly_40_to_170_words() -> None:
    files = library(START, start=START)
    counts = [
        len(body.split())
        for doc_id, data in files.items()
        if not doc_id.startswith("sb-")
        for body in parse(data)[2].values()
    ]
    inside = sum(40 <= n <= 170 for n in counts) / len(counts)
    assert inside >= 0.95 and max(counts) <= 300


def test_manuals_of_different_models_are_distinguishable() -> None:
    files = library(START, start=START)
    cnc = parse(files["cnc-a-f01"])[2]["Procedure"]
    press = parse(files["press-x-f01"])[2]["Procedure"]
    pump = parse(files["pump-c-f01"])[2]["Procedure"]
    assert "spindle" in cnc and "flywheel" in press and "bearing housing" in pump
    assert len({cnc, press, pump}) == 3


def test_extra_models_scale_the_library_to_hundreds_of_documents() -> None:
    files = library(START, start=START, extra_models=40)
    assert 380 <= len(files) <= 440
    assert "conv-d1-f01" in files and "conv-d1-lockout-tagout" in files
    assert set(library(START, start=START)) < set(files) | {
        d for d in library(START, start=START) if d.startswith("sb-")
    }
    assert tuple(parse(files["comp-d1-f05"])[2]) == CORE_SECTIONS
    assert len(core_doc_ids(40)) == 44 * 6


# --- determinism --------------------------------------------------------------------------


def test_same_arguments_give_the_same_bytes_and_another_seed_differs() -> None:
    first = library(_day(12), seed=5, start=START, extra_models=3)
    assert first == library(_day(12), seed=5, start=START, extra_models=3)
    other = library(_day(12), seed=6, start=START, extra_models=3)
    assert first["press-x-f03"] != other["press-x-f03"]  # values and part numbers
    # The facts do not depend on the seed: same documents, same section headings.
    assert parse(first["press-x-f03"])[2].keys() == parse(other["press-x-f03"])[2].keys()


def test_a_document_does_not_depend_on_the_number_of_extra_models() -> None:
    small = library(START, start=START, extra_models=2)
    large = library(START, start=START, extra_models=9)
    assert small["conv-d1-f02"] == large["conv-d1-f02"]
    assert small["pump-c-f03"] == large["pump-c-f03"]


def test_library_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        library(START - timedelta(days=1), start=START)
    with pytest.raises(ValueError):
        library(START, start=START, extra_models=-1)
    with pytest.raises(ValueError):
        write_manuals(Path("unused"), start=START, days=0)


# --- daily changes versus the truth -------------------------------------------------------


def test_day_one_adds_everything() -> None:
    changes = day_changes(START, start=START).truth()
    assert changes["added"] == sorted(library(START, start=START))
    assert changes["edited"] == {} and changes["removed"] == []


def test_each_day_differs_from_the_previous_only_by_the_truth(history: list[Any]) -> None:
    for previous, current in itertools.pairwise(history):
        before, after = previous.files(), current.files()
        truth = current.changes.truth()
        assert set(after) - set(before) == set(truth["added"])
        assert set(before) - set(after) == set(truth["removed"])
        assert 1 <= len(truth["edited"]) <= 3
        was_corrupt = previous.changes.corrupt
        assert set(truth["restored"]) == {
            d for d in was_corrupt if d in after and d not in truth["corrupt"]
        }
        explained = set(truth["edited"]) | set(truth["corrupt"]) | set(was_corrupt)
        changed = {d for d in set(before) & set(after) if before[d] != after[d]}
        assert changed <= explained, current.day
        for doc_id, section in truth["edited"].items():
            if doc_id in truth["corrupt"] or doc_id in was_corrupt:
                continue
            old_title, old_intro, old = parse(before[doc_id])
            new_title, new_intro, new = parse(after[doc_id])
            assert (old_title, old_intro, list(old)) == (new_title, new_intro, list(new))
            assert old[section] != new[section]
            assert {s: b for s, b in old.items() if s != section} == {
                s: b for s, b in new.items() if s != section
            }


def test_core_and_general_documents_are_never_removed(history: list[Any]) -> None:
    lasting = {doc_id for doc_id, doc in history[0].documents.items() if doc.family != "bulletin"}
    for snapshot in history:
        assert lasting <= set(snapshot.documents)
        assert all(d.startswith("sb-") for d in snapshot.changes.removed)


def test_bulletins_come_and_go() -> None:
    truths = [s.changes.truth() for s in snapshots(START, _day(60))][1:]
    assert any(d.startswith("sb-") for t in truths for d in t["added"])
    assert any(t["removed"] for t in truths)


def test_corrupt_files_are_exactly_the_truths(history: list[Any]) -> None:
    for snapshot in history:
        files = snapshot.files()
        found = {d: kind for d, data in files.items() if (kind := corruption(data))}
        assert found == snapshot.changes.truth()["corrupt"], snapshot.day
        for doc_id in found:
            doc = snapshot.documents[doc_id]
            assert doc.family == "bulletin" or doc.model not in DEFAULT_MODELS
        for doc_id, data in files.items():
            if doc_id not in found:
                parse(data)  # every other file is a valid manual


def test_about_one_day_in_four_has_a_corrupt_file() -> None:
    days = list(snapshots(START, _day(199), extra_models=4))
    bad = [s for s in days if s.corrupt]
    assert 0.15 <= len(bad) / len(days) <= 0.35
    assert {kind for s in bad for kind in s.corrupt.values()} == set(CORRUPT_KINDS)
    assert all(len(s.corrupt) == 1 for s in bad)
    invalid = next(s for s in bad if "invalid_utf8" in s.corrupt.values())
    data = invalid.files()[next(iter(invalid.corrupt))]
    assert data.startswith(b"\xff\xfe") and any(0x80 <= b <= 0x9F for b in data)


def test_an_edit_changes_one_section_and_keeps_every_fact() -> None:
    procedure = "1. One 45 Nm.\n2. Two."
    doc = Document("x", "core", "M", "T", "", (("Procedure", procedure), ("B", "- b")))
    kinds = set()
    for key in range(40):
        edited, section = edit_document(doc, START, rng_for(1, 2, key))
        old, new = doc.section(section), edited.section(section)
        assert new != old
        words = set(re.sub(r"[\d.]+", "", old).split())
        assert words <= set(re.sub(r"[\d.]+", "", new).split())  # nothing removed
        other = next(name for name in doc.section_names if name != section)
        assert edited.section(other) == doc.section(other)
        if "Note (" in new:
            kinds.add("note")
        elif new.count("\n") > old.count("\n"):
            kinds.add("step")
            assert re.findall(r"^(\d+)\. ", new, re.MULTILINE) == ["1", "2", "3"]
            assert new.endswith("3. Two.")
        else:
            kinds.add("value")
            assert re.fullmatch(r"1\. One \d+ Nm\.\n2\. Two\.", new)
    assert kinds == {"note", "step", "value"}


def test_notes_are_capped_per_section() -> None:
    doc = Document("x", "core", "M", "T", "", (("A", "- a"),))
    for offset in range(30):
        doc, _ = edit_document(doc, _day(offset), rng_for(3, 4, offset))
    assert doc.section("A").count("Note (") <= 2


# --- files in the landing zone ------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_write_manuals_writes_snapshots_and_truth(tmp_path: Path) -> None:
    summary = write_manuals(tmp_path, start=START, days=3, seed=7)
    for offset in range(3):
        day = _day(offset)
        folder = manuals_dir(tmp_path, day)
        written = {p.stem: p.read_bytes() for p in folder.glob("*.md")}
        assert written == library(day, start=START)
        truth = json.loads(truth_path(tmp_path, day).read_text())
        assert truth == day_changes(day, start=START).truth()
        assert summary.documents[day] == len(written)
    assert not [p for p in tmp_path.rglob(".*")]  # no temp folders or files left
    assert all(p.exists() for p in summary.paths)
    assert summary.added == len(library(START, start=START)) + sum(
        len(day_changes(_day(i), start=START).added) for i in (1, 2)
    )
    assert f"documents on {_day(2)}" in summary.describe()


def test_write_manuals_replaces_a_day_idempotently(tmp_path: Path) -> None:
    write_manuals(tmp_path, start=START, days=2, seed=7)
    first = _tree(tmp_path)
    folder = manuals_dir(tmp_path, _day(1))
    (folder / "stray.md").write_text("left over from an older run")
    (folder.parent / f".{folder.name}.999.tmp").mkdir()  # a killed run's half-written day
    write_manuals(tmp_path, start=START, days=2, seed=7)
    assert _tree(tmp_path) == first
    write_manuals(tmp_path, start=START, days=2, seed=8)
    assert _tree(tmp_path) != first


def test_generate_writes_the_manuals_too(tmp_path: Path) -> None:
    summary = generate(START, 2, 3, interval_minutes=1440, landing_dir=tmp_path, manual_models=2)
    assert summary.manuals is not None and summary.manuals.extra_models == 2
    assert (manuals_dir(tmp_path, _day(1)) / "conv-d1-f01.md").exists()
    assert truth_path(tmp_path, _day(1)).exists()
    assert "manuals:" in summary.describe()
    with pytest.raises(ValueError):
        generate(START, 1, 3, landing_dir=tmp_path, manual_models=-1)
