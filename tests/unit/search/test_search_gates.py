"""The drift gate's statistic and rules, on synthetic vectors (no model needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_tasks.search import embedder, gates
from ml_tasks.search.gates import GateDecision, check_corpus, check_drift, embedding_distance
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


class _FakeIndex:
    """Two versions held in memory, with the row shape reembed_distance reads."""

    def __init__(self, versions: dict[int, tuple[list[str], np.ndarray]]) -> None:
        self.versions = versions

    def version_vectors(self, version: int):
        return self.versions[version]


@pytest.fixture
def two_versions(monkeypatch):
    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(200)]
    vectors = _unit(rng.normal(size=(200, 384)) + 0.5)
    direction = rng.normal(size=(1, 384))  # new content, somewhere else in the space

    def make(changed: int, shift: float):
        green = vectors.copy()
        green[:changed] = _unit(green[:changed] + shift * direction)
        green_ids = [f"n{i}" for i in range(changed)] + ids[changed:]
        return _FakeIndex({1: (ids, vectors), 2: (green_ids, green)})

    # reused vectors reproduce exactly unless a test says otherwise
    monkeypatch.setattr(gates, "reembed_distance", lambda index, version, ids: 0.0)
    return make


def _drift(index, policy=None, **kw) -> GateDecision:
    decision = GateDecision(green=2, blue=1)
    check_drift(decision, index, policy or SearchPolicy(drift=DriftPolicy(max_distance=0.01)), **kw)
    return decision


def test_small_change_small_distance_passes(two_versions):
    d = _drift(two_versions(2, 0.2))
    assert d.passed and d.drift["added_chunks"] == 2 and d.drift["removed_chunks"] == 2
    assert d.drift["distance"] <= 0.01


def test_large_distance_with_a_large_but_allowed_change_is_explained(two_versions):
    d = _drift(two_versions(40, 3.0))  # 20 % of the chunks replaced by very different ones
    assert d.drift["distance"] > 0.01 and d.drift["changed_share"] == pytest.approx(0.4)
    assert d.passed and "explained by the corpus change" in d.notes[-1]


def test_a_change_over_the_maximum_needs_allow_large_change(two_versions):
    index = two_versions(150, 3.0)
    blocked = _drift(index)
    assert not blocked.passed and "allow_large_change" in blocked.reasons[0]
    assert _drift(index, allow_large_change=True).passed


def test_distance_without_enough_changed_chunks_is_unexplained(two_versions):
    policy = SearchPolicy(drift=DriftPolicy(max_distance=0.01, explained_min_changed_share=0.5))
    d = _drift(two_versions(40, 3.0), policy)
    assert not d.passed and "not explained by the corpus change" in d.reasons[0]


def test_first_build_has_no_drift_check():
    decision = GateDecision(green=1, blue=None)
    check_drift(decision, _FakeIndex({}), SearchPolicy())
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
