"""The gate between a green build and the live (blue) index.

Three checks, every threshold from ``include/policies/search_index.yaml``:

1. **Corpus**: enough readable documents, not too many skipped (an empty or damaged export
   fails here, before anything is compared).
2. **Quality**: recall@k and MRR on the golden query set at or above the minimum, and not worse
   than blue beyond a tolerance.
3. **Embedding drift**: the cosine distance between the mean vectors of blue and green (the
   statistic of Evidently's embedding-drift distance method). A distance over the threshold
   passes only when the corpus change explains it (enough, but not too many, chunks added or
   removed). A reproducibility probe re-embeds reused chunks: if the stored vectors no longer
   match what the current model produces, old and new vectors would be mixed in one index,
   which fails.

The decision carries every number and a human-readable reason per failed check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ml_tasks.search import embedder
from ml_tasks.search.index import ManualIndex
from ml_tasks.search.policy import SearchPolicy
from ml_tasks.search.retrieval import GoldenQuery, GoldenScore, score_golden


class IndexGateFailed(RuntimeError):
    """The green version did not pass; the live alias was not moved."""

    def __init__(self, decision: dict[str, Any]) -> None:
        self.decision = decision
        reasons = "; ".join(decision.get("reasons", []))
        super().__init__(
            f"search index v{decision.get('green')} BLOCKED (live stays "
            f"v{decision.get('blue')}): {reasons}"
        )


@dataclass
class GateDecision:
    green: int
    blue: int | None
    passed: bool = True
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    corpus: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    blue_quality: dict[str, Any] | None = None
    drift: dict[str, Any] = field(default_factory=dict)
    # The policy's bounds the checks used: the decision's log lines and note name them.
    thresholds: dict[str, Any] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        self.passed = False
        self.reasons.append(reason)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_corpus(decision: GateDecision, stats: dict[str, Any], policy: SearchPolicy) -> None:
    documents = int(stats.get("documents", 0))
    skipped = len(stats.get("skipped", {}))
    files = documents + skipped
    share = skipped / files if files else 0.0
    decision.corpus = {"documents": documents, "skipped": skipped, "skipped_share": share}
    if documents < policy.corpus.min_documents:
        decision.fail(
            f"corpus: {documents} readable documents (< minimum {policy.corpus.min_documents})"
        )
    if share > policy.corpus.max_skipped_share:
        decision.fail(
            f"corpus: {skipped} of {files} files unreadable ({share:.0%} > "
            f"{policy.corpus.max_skipped_share:.0%})"
        )


def golden_key(golden: list[GoldenQuery], k: int, depth: int) -> str:
    """Identity of a golden-set measurement: the queries, k, depth and the embedding model."""
    payload = json.dumps(
        [embedder.model_id(), k, depth, [asdict(g) for g in golden]], sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def check_quality(
    decision: GateDecision,
    index: ManualIndex,
    golden: list[GoldenQuery],
    policy: SearchPolicy,
) -> None:
    q = policy.quality
    key = golden_key(golden, q.k, q.mrr_depth)
    vectors = embedder.encode([g.query for g in golden])
    green = score_golden(
        index.open_version(decision.green), golden, k=q.k, depth=q.mrr_depth, query_vectors=vectors
    )
    decision.quality = {**green.as_dict(), "golden_key": key}
    if green.recall_at_k < q.min_recall_at_k:
        decision.fail(
            f"quality: recall@{q.k} {green.recall_at_k:.3f} < minimum {q.min_recall_at_k:.3f}"
        )
    if green.mrr < q.min_mrr:
        decision.fail(f"quality: MRR {green.mrr:.3f} < minimum {q.min_mrr:.3f}")
    if decision.blue is None:
        return
    # Versions are immutable: live's score from its own gate holds while the golden set, k and
    # the model are the same (the key says so); otherwise score it again.
    stored = (index.build(decision.blue).gate or {}).get("quality") or {}
    if stored.get("golden_key") == key:
        blue = GoldenScore(
            k=q.k, queries=stored["queries"], recall_at_k=stored["recall_at_k"], mrr=stored["mrr"]
        )
        decision.notes.append(f"quality: live v{decision.blue} score from its own gate")
    else:
        blue = score_golden(
            index.open_version(decision.blue),
            golden,
            k=q.k,
            depth=q.mrr_depth,
            query_vectors=vectors,
        )
    decision.blue_quality = {k: v for k, v in blue.as_dict().items() if k != "misses"}
    recall_drop = blue.recall_at_k - green.recall_at_k
    if recall_drop > q.max_recall_drop:
        decision.fail(
            f"quality: recall@{q.k} {green.recall_at_k:.3f} is {recall_drop:.3f}"
            f" below live v{decision.blue} ({blue.recall_at_k:.3f}; tolerance {q.max_recall_drop})"
        )
    if blue.mrr - green.mrr > q.max_mrr_drop:
        decision.fail(
            f"quality: MRR {green.mrr:.3f} is {blue.mrr - green.mrr:.3f} below live "
            f"v{decision.blue} ({blue.mrr:.3f}; tolerance {q.max_mrr_drop})"
        )


def embedding_distance(blue: np.ndarray, green: np.ndarray) -> float:
    """Cosine distance between the mean embeddings of two versions (all rows).

    The statistic of Evidently's embedding drift with ``DistanceDriftMethod(dist="cosine")``
    (tests/unit/search check that both agree). Computed here directly because Evidently's
    metric also fits a t-SNE for its plot, 3-8 s per gate that nobody looks at, and on every
    row instead of a sample because that costs microseconds.
    """
    a = blue.astype(np.float64).mean(axis=0)
    b = green.astype(np.float64).mean(axis=0)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / norms if norms else 1.0


def reembed_distance(index: ManualIndex, version: int, chunk_ids: list[str]) -> float:
    """Largest cosine distance between stored vectors and fresh embeddings of those chunks."""
    if not chunk_ids:
        return 0.0
    import pyarrow as pa
    import pyarrow.compute as pc

    data = index.open_version(version).to_arrow()
    rows = data.filter(pc.is_in(data.column("chunk_id"), pa.array(chunk_ids))).to_pylist()
    stored = np.asarray([r["vector"] for r in rows], dtype=np.float32)
    texts = [f"{r['title']}\n{r['section']}\n{r['text']}" for r in rows]
    fresh = embedder.encode(texts)
    return float(np.max(1.0 - np.sum(stored * fresh, axis=1)))


def check_drift(
    decision: GateDecision,
    index: ManualIndex,
    policy: SearchPolicy,
    *,
    allow_large_change: bool = False,
    seed: int = 0,
) -> None:
    d = policy.drift
    if decision.blue is None:
        decision.notes.append("drift: no live version yet (first build), not compared")
        return
    blue_ids, blue_vectors = index.version_vectors(decision.blue)
    green_ids, green_vectors = index.version_vectors(decision.green)
    blue_set, green_set = set(blue_ids), set(green_ids)
    added, removed = len(green_set - blue_set), len(blue_set - green_set)
    changed = (added + removed) / max(len(blue_set), 1)
    shared = sorted(blue_set & green_set)
    probe = [shared[i] for i in np.random.default_rng(seed).permutation(len(shared))][
        : d.reembed_probe
    ]
    reembed = reembed_distance(index, decision.green, probe)
    distance = (
        embedding_distance(blue_vectors, green_vectors)
        if len(blue_vectors) and len(green_vectors)
        else 1.0
    )
    decision.drift = {
        "distance": round(distance, 6),
        "max_distance": d.max_distance,
        "added_chunks": added,
        "removed_chunks": removed,
        "changed_share": round(changed, 4),
        "reembed_probe": len(probe),
        "reembed_max_distance": reembed,
    }
    if reembed > d.max_reembed_distance:
        decision.fail(
            f"drift: stored embeddings are not reproducible by the current model (max cosine "
            f"distance {reembed:.2e} > {d.max_reembed_distance:.0e} on {len(probe)} reused "
            "chunks): the model or its runtime changed; rebuild the index fully"
        )
    if distance <= d.max_distance:
        return
    if changed < d.explained_min_changed_share:
        decision.fail(
            f"drift: embedding distance {distance:.4f} > {d.max_distance} with only "
            f"{changed:.1%} of the chunks changed: not explained by the corpus change"
        )
    elif changed > d.max_changed_share and not allow_large_change:
        decision.fail(
            f"drift: embedding distance {distance:.4f} > {d.max_distance} with {changed:.0%} of "
            f"the chunks changed (> {d.max_changed_share:.0%} in one refresh): review the corpus "
            "and run with allow_large_change"
        )
    else:
        decision.notes.append(
            f"drift: distance {distance:.4f} > {d.max_distance}, explained by the corpus change "
            f"({added} chunks added, {removed} removed, {changed:.1%})"
        )


def gate(
    index: ManualIndex,
    green: int,
    blue: int | None,
    stats: dict[str, Any],
    golden: list[GoldenQuery],
    policy: SearchPolicy,
    *,
    allow_large_change: bool = False,
) -> GateDecision:
    """Run every check; the decision lists all failures, not just the first."""
    decision = GateDecision(green=green, blue=blue if blue != green else None)
    decision.thresholds = {
        "corpus": asdict(policy.corpus),
        "quality": asdict(policy.quality),
        "drift": asdict(policy.drift),
    }
    if blue == green:
        decision.notes.append(f"green is the live version v{green} (corpus unchanged)")
    check_corpus(decision, stats, policy)
    check_quality(decision, index, golden, policy)
    check_drift(decision, index, policy, allow_large_change=allow_large_change)
    return decision
