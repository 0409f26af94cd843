"""The drift gate's statistic and rules, on vectors built so every distance is known.

The gate runs as built (its distances, the LanceDB index); only the embedding model is a
stand-in, so no model is loaded.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ml_tasks.search import embedder
from ml_tasks.search.gates import GateDecision, check_corpus, check_drift, embedding_distance
from ml_tasks.search.index import ManualIndex, vectors_array
from ml_tasks.search.policy import DriftPolicy, SearchPolicy


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_distance_is_evidently_embedding_drift_distance_method():
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import EmbeddingsDrift
    from evidently.metrics.embeddings import DistanceDriftMethod

    rng = np.random.default_rng(3)
    blue = _unit(rng.normal(size=(60, 16)) + 1.0)
    green = blue.copy()
    green[:20] = _unit(green[:20] + rng.normal(size=(1, 16)))
    columns = [f"e{i}" for i in range(16)]
    definition = DataDefinition(embeddings={"chunks": columns})
    metric = EmbeddingsDrift(
        embeddings_name="chunks", drift_method=DistanceDriftMethod(dist="cosine")
    )
    report = Report([metric])
    snapshot = report.run(
        Dataset.from_pandas(pd.DataFrame(green, columns=columns), definition),
        Dataset.from_pandas(pd.DataFrame(blue, columns=columns), definition),
    )
    expected = snapshot.dict()["metrics"][0]["value"]
    assert embedding_distance(blue, green) == pytest.approx(expected, rel=1e-5)
    assert embedding_distance(blue, blue) == pytest.approx(0.0, abs=1e-9)


# --- The drift check on a real (LanceDB) index, with vectors whose distances are known -------
# Blue and green share PAIRS pairs of opposite unit vectors (+e_k, -e_k), which sum to zero, so
# each version's mean vector is the mean of its own chunks alone: blue's `changed` old chunks
# are all e0, green's `changed` new chunks all c e0 + sqrt(1 - c^2) e1. The cosine distance of
# the means is then 1 - c (to float32 precision), whatever share of the chunks changed.

PAIRS = 100  # 200 shared chunks
SPARE = embedder.DIMENSION - 1  # an axis no chunk uses: re-embedding rotates towards it


def _basis(k: int) -> np.ndarray:
    v = np.zeros(embedder.DIMENSION, dtype=np.float32)
    v[k] = 1.0
    return v


def _version(index: ManualIndex, ids: list[str], vectors: list[np.ndarray]) -> int:
    version = index.next_version()
    rows = pa.table(
        {
            "chunk_id": ids,
            "doc_id": ["doc"] * len(ids),
            "title": ["Manual"] * len(ids),
            "section": ["Procedure"] * len(ids),
            "part": pa.array([0] * len(ids), pa.int32()),
            "text": [f"text of {i}" for i in ids],
            "vector": vectors_array(np.stack(vectors)),
        }
    )
    build = {"interval": "2026-10-01", "run_id": "r", "fingerprint": f"fp{version}"}
    build |= {"model_id": "m", "documents": 1, "embedded": len(ids), "reused": 0}
    index.write_version(version, rows, build)
    return version


class _Model:
    """Stands in for MiniLM: embeds a chunk's text as the vector green stored for it, turned
    by ``angle`` towards the spare axis (a runtime whose numerics moved)."""

    def __init__(self, index: ManualIndex, version: int, angle: float = 0.0) -> None:
        rows = index.open_version(version).to_arrow().to_pylist()
        turn = math.sin(angle) * _basis(SPARE)
        self.vectors: dict[str, np.ndarray] = {}
        for r in rows:
            stored = np.asarray(r["vector"], np.float32)
            self.vectors[f"{r['title']}\n{r['section']}\n{r['text']}"] = (
                math.cos(angle) * stored + turn
            )

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


@pytest.fixture
def versions(platform_home, monkeypatch):
    """``make(changed, distance, reembed=0.0)``: blue v1 and green v2 in a fresh index, with
    ``changed`` chunks replaced, the means ``distance`` apart and the re-embedding of reused
    chunks ``reembed`` away from what green stored."""

    def make(changed: int, distance: float, reembed: float = 0.0) -> ManualIndex:
        index = ManualIndex(platform_home)
        shared = [f"s{i}" for i in range(2 * PAIRS)]
        pairs = [sign * _basis(2 + i) for i in range(PAIRS) for sign in (1, -1)]
        cos = 1.0 - distance  # 0 exactly for orthogonal means
        new = (cos * _basis(0) + math.sqrt(1.0 - cos * cos) * _basis(1)).astype(np.float32)
        old_ids = [f"old{i}" for i in range(changed)]
        new_ids = [f"new{i}" for i in range(changed)]
        assert _version(index, shared + old_ids, pairs + [_basis(0)] * changed) == 1
        assert _version(index, shared + new_ids, pairs + [new] * changed) == 2
        model = _Model(index, 2, angle=math.acos(1.0 - reembed))
        monkeypatch.setattr(embedder, "load_model", lambda device="cpu": model)
        return index

    return make


def _drift(index, policy=None, **kw) -> GateDecision:
    decision = GateDecision(green=2, blue=1)
    check_drift(decision, index, policy or SearchPolicy(drift=DriftPolicy(max_distance=0.01)), **kw)
    return decision


def test_a_distance_just_under_the_threshold_passes_without_a_drift_note(versions):
    d = _drift(versions(2, 0.0099))
    assert d.drift["distance"] == pytest.approx(0.0099, abs=1e-6)
    assert (d.drift["added_chunks"], d.drift["removed_chunks"]) == (2, 2)
    assert d.drift["changed_share"] == pytest.approx(4 / 202, abs=1e-4)
    assert d.passed and not d.notes and not d.reasons
    assert d.drift["reembed_probe"] == 8 and d.drift["reembed_max_distance"] < 1e-6


def test_a_distance_exactly_at_the_threshold_passes(versions):
    # orthogonal means: the distance is exactly 1, the float at the bound itself
    index = versions(2, 1.0)
    at = _drift(index, SearchPolicy(drift=DriftPolicy(max_distance=1.0)))
    assert at.drift["distance"] == pytest.approx(1.0, rel=0, abs=0)
    assert at.passed and not at.notes
    beyond = _drift(index, SearchPolicy(drift=DriftPolicy(max_distance=0.999)))
    assert not beyond.passed and "not explained by the corpus change" in beyond.reasons[0]


def test_a_distance_just_over_the_threshold_with_few_changed_chunks_is_unexplained(versions):
    d = _drift(versions(2, 0.0101))  # 2 % of the chunks changed, < the 5 % that explains drift
    assert d.drift["distance"] == pytest.approx(0.0101, abs=1e-6)
    assert not d.passed
    assert d.reasons == [
        "drift: embedding distance 0.0101 > 0.01 with only 2.0% of the chunks changed: "
        "not explained by the corpus change"
    ]


def test_a_large_distance_with_a_large_but_allowed_change_is_explained(versions):
    d = _drift(versions(25, 0.3))  # 50 of 225 chunks added or removed
    assert d.drift["distance"] == pytest.approx(0.3, abs=1e-6)
    assert d.drift["changed_share"] == pytest.approx(50 / 225, abs=1e-4)
    assert d.passed and "explained by the corpus change" in d.notes[-1]


def test_a_change_over_the_maximum_needs_allow_large_change(versions):
    index = versions(150, 0.3)  # 300 of 350 chunks added or removed
    blocked = _drift(index)
    assert not blocked.passed and "allow_large_change" in blocked.reasons[0]
    assert _drift(index, allow_large_change=True).passed


@pytest.mark.parametrize(("reembed", "passed"), [(0.5e-4, True), (2e-4, False)])
def test_reused_embeddings_are_checked_against_the_model_at_the_known_distance(
    versions, reembed, passed
):
    policy = SearchPolicy(drift=DriftPolicy(max_distance=0.01, max_reembed_distance=1e-4))
    d = _drift(versions(2, 0.001, reembed=reembed), policy)
    assert d.drift["reembed_max_distance"] == pytest.approx(reembed, abs=2e-6)
    assert d.passed is passed
    if not passed:
        assert "not reproducible by the current model" in d.reasons[0]


def test_first_build_has_no_drift_check(platform_home):
    decision = GateDecision(green=1, blue=None)
    check_drift(decision, ManualIndex(platform_home), SearchPolicy())
    assert decision.passed and "first build" in decision.notes[0]


def test_corpus_check_counts_documents_and_skipped_share():
    decision = GateDecision(green=2, blue=1)
    check_corpus(
        decision, {"documents": 8, "skipped": {"a": "x", "b": "y", "c": "z"}}, SearchPolicy()
    )
    assert not decision.passed
    assert decision.reasons == [
        "corpus: 8 readable documents (< minimum 10)",
        "corpus: 3 of 11 files unreadable (27% > 20%)",
    ]


def test_encode_of_nothing_is_an_empty_matrix():
    assert embedder.encode([]).shape == (0, 384)


def test_golden_key_changes_with_the_queries_k_and_model(monkeypatch):
    from dataclasses import replace

    from ml_tasks.search.gates import golden_key
    from ml_tasks.search.retrieval import load_golden

    golden = load_golden()
    key = golden_key(golden, 5, 10)
    assert golden_key(load_golden(), 5, 10) == key
    assert golden_key([replace(golden[0], query="other"), *golden[1:]], 5, 10) != key
    assert golden_key(golden, 3, 10) != key
    monkeypatch.setattr(embedder, "model_id", lambda: "another-model")
    assert golden_key(golden, 5, 10) != key
