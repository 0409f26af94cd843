"""Chunking: section splitting, size limit with overlap, content-hash ids, unreadable files."""

from __future__ import annotations

import pytest

from ml_tasks.search.chunking import (
    OVERVIEW,
    UnreadableManual,
    chunk_document,
    decode_manual,
    load_corpus,
    split_sections,
    split_words,
)

DOC = """# PUMP-C centrifugal pump: F03 seal leak

Applies to every PUMP-C.

## Symptoms

Fluid weeps at the shaft.

## Procedure

1. Lock out the pump.
2. Replace the mechanical seal.
"""


def test_sections_follow_h2_headings_with_the_intro_as_overview():
    title, sections = split_sections(DOC, default_title="x")
    assert title == "PUMP-C centrifugal pump: F03 seal leak"
    assert [name for name, _ in sections] == [OVERVIEW, "Symptoms", "Procedure"]
    assert sections[2][1] == "1. Lock out the pump.\n2. Replace the mechanical seal."


def test_a_long_section_is_split_into_overlapping_windows():
    body = " ".join(f"w{i}" for i in range(450))
    pieces = split_words(body, max_words=200, overlap_words=40)
    words = [p.split() for p in pieces]
    assert [len(w) for w in words] == [200, 200, 130]
    assert words[0][-40:] == words[1][:40]  # the overlap
    assert words[-1][-1] == "w449"  # nothing lost at the end
    assert split_words("short text", 200, 40) == ["short text"]


def test_chunk_ids_change_with_the_text_and_the_model_only():
    a = chunk_document("pump-c-f03", DOC, model_id="m1")
    b = chunk_document("pump-c-f03", DOC, model_id="m1")
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    edited = chunk_document("pump-c-f03", DOC.replace("weeps", "drips"), model_id="m1")
    changed = [x.section for x, y in zip(a, edited, strict=True) if x.chunk_id != y.chunk_id]
    assert changed == ["Symptoms"]
    other_model = chunk_document("pump-c-f03", DOC, model_id="m2")
    assert not {c.chunk_id for c in a} & {c.chunk_id for c in other_model}
    assert a[1].embed_text.startswith("PUMP-C centrifugal pump: F03 seal leak\nSymptoms\n")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"# Title\n\xff\xfe caf\xe9 \x93quoted\x94", "not UTF-8: byte 0xff at offset 8"),
        (b"# Title\n\n## Symptoms\n   \n", "no text"),
        (b"  \n\t\n", "no text"),
        (b"abc\x00def", "binary content"),
    ],
)
def test_unreadable_manuals_have_a_reason(raw, reason):
    with pytest.raises(UnreadableManual, match=reason):
        decode_manual(raw)


def test_load_corpus_skips_bad_files_and_keeps_the_rest(tmp_path):
    (tmp_path / "good.md").write_text(DOC, encoding="utf-8")
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "latin1.md").write_bytes("# Titel\n\nÖl wechseln".encode("cp1252"))
    (tmp_path / "notes.txt").write_text("not a manual", encoding="utf-8")
    corpus = load_corpus(tmp_path, model_id="m")
    assert corpus.documents == ["good"]
    assert set(corpus.skipped) == {"empty", "latin1"}
    assert corpus.skipped["latin1"].startswith("not UTF-8")
    assert corpus.files == 3
    assert {c.doc_id for c in corpus.chunks} == {"good"}
    assert len(corpus.chunks) == 3
