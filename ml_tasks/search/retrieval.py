"""Search a version of the index, and score a version on the golden query set.

Search is exact (a flat cosine scan in LanceDB): a few thousand 384-d chunks scan in about a
millisecond, and an approximate index would only cost recall at this size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ml_tasks.search import embedder
from ml_tasks.search.index import LIVE, ManualIndex, NoLiveIndex
from ml_tasks.settings import Settings, get_settings

_COLUMNS = ["chunk_id", "doc_id", "title", "section", "part", "text"]


@dataclass(frozen=True)
class GoldenQuery:
    id: str
    query: str
    doc_id: str
    section: str
    kind: str


def load_golden(path: Path | None = None) -> list[GoldenQuery]:
    """The golden query set (``include/search/golden_queries.yaml``)."""
    p = Path(path) if path is not None else get_settings().golden_queries_path
    raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    queries = [
        GoldenQuery(
            id=str(q["id"]),
            query=str(q["query"]),
            doc_id=str(q["doc_id"]),
            section=str(q["section"]),
            kind=str(q.get("kind", "direct")),
        )
        for q in raw.get("queries", [])
    ]
    if not queries:
        raise ValueError(f"{p}: no golden queries")
    return queries


def search_table(table: Any, vector: np.ndarray, k: int) -> list[dict[str, Any]]:
    """Top ``k`` chunks of one LanceDB table for a normalised query vector."""
    rows = (
        table.search(vector.astype(np.float32), vector_column_name="vector")
        .distance_type("cosine")
        .select([*_COLUMNS, "_distance"])
        .limit(k)
        .to_list()
    )
    for row in rows:
        row["score"] = round(1.0 - float(row.pop("_distance")), 6)
    return rows


@dataclass
class GoldenScore:
    """Retrieval quality of one version on the golden set."""

    k: int
    queries: int
    recall_at_k: float
    mrr: float
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "queries": self.queries,
            "recall_at_k": self.recall_at_k,
            "mrr": self.mrr,
            "by_kind": self.by_kind,
            "misses": self.misses,
        }


def score_golden(
    table: Any,
    queries: list[GoldenQuery],
    *,
    k: int = 5,
    depth: int = 10,
    query_vectors: np.ndarray | None = None,
) -> GoldenScore:
    """recall@k and MRR (first relevant chunk within ``depth``) of a version's table."""
    vectors = (
        query_vectors if query_vectors is not None else embedder.encode([q.query for q in queries])
    )
    ranks: list[int | None] = []
    misses = []
    for q, vector in zip(queries, vectors, strict=True):
        hits = search_table(table, vector, depth)
        rank = next(
            (
                i + 1
                for i, h in enumerate(hits)
                if h["doc_id"] == q.doc_id and h["section"] == q.section
            ),
            None,
        )
        ranks.append(rank)
        if rank is None or rank > k:
            top = hits[0] if hits else {}
            misses.append(
                {
                    "id": q.id,
                    "query": q.query,
                    "expected": f"{q.doc_id}#{q.section}",
                    "rank": rank,
                    "top": f"{top.get('doc_id')}#{top.get('section')}" if top else None,
                }
            )

    def summary(idx: list[int]) -> dict[str, float]:
        sel = [ranks[i] for i in idx]
        n = max(len(sel), 1)
        return {
            "queries": len(sel),
            "recall_at_k": round(sum(r is not None and r <= k for r in sel) / n, 4),
            "mrr": round(sum(1.0 / r for r in sel if r is not None) / n, 4),
        }

    overall = summary(list(range(len(queries))))
    kinds = sorted({q.kind for q in queries})
    return GoldenScore(
        k=k,
        queries=len(queries),
        recall_at_k=overall["recall_at_k"],
        mrr=overall["mrr"],
        by_kind={
            kind: summary([i for i, q in enumerate(queries) if q.kind == kind]) for kind in kinds
        },
        misses=misses,
    )


class Searcher:
    """Search over one version (the live one unless given); keeps the table and model open."""

    def __init__(self, settings: Settings | None = None, version: int | None = None) -> None:
        self.settings = settings or get_settings()
        self.index = ManualIndex(self.settings)
        live = self.index.live_version()
        if version is None:
            version = live
            if version is None:
                raise NoLiveIndex(
                    "no live search index yet: run the refresh_embeddings DAG "
                    "(or python -m ml_tasks index refresh --date YYYY-MM-DD)"
                )
        self.version = version
        self.alias = LIVE if version == live else None
        self.table = self.index.open_version(version)

    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        """The top ``k`` chunks for ``query`` with document, section and score."""
        if not query.strip():
            raise ValueError("empty query")
        vector = embedder.encode([query], batch_size=1)[0]
        return search_table(self.table, vector, k)
