"""The versioned LanceDB index: versions, the live alias, rollback, retention, killed builds.

Vectors here are random unit vectors: the index does not care where they come from.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ml_tasks.search.index import ManualIndex, vectors_array, version_table


def _rows(ids: list[str], seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(len(ids), 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return pa.table(
        {
            "chunk_id": ids,
            "doc_id": [i.split("-")[0] for i in ids],
            "title": ["t"] * len(ids),
            "section": ["Procedure"] * len(ids),
            "part": pa.array([0] * len(ids), pa.int32()),
            "text": [f"text {i}" for i in ids],
            "vector": vectors_array(v),
        }
    )


def _build(index: ManualIndex, ids: list[str], interval: str = "2026-10-01") -> int:
    version = index.next_version()
    index.write_version(
        version,
        _rows(ids, seed=version),
        {
            "interval": interval,
            "run_id": "r",
            "fingerprint": f"fp{version}",
            "model_id": "m",
            "documents": 1,
            "embedded": len(ids),
            "reused": 0,
        },
    )
    return version


@pytest.fixture
def index(platform_home):
    return ManualIndex(platform_home)


def test_versions_are_registered_with_their_rows(index):
    v1 = _build(index, ["a-1", "a-2"])
    v2 = _build(index, ["a-1", "b-1", "b-2"], "2026-10-02")
    assert (v1, v2) == (1, 2)
    assert [(b.version, b.rows, b.interval) for b in index.builds()] == [
        (1, 2, "2026-10-01"),
        (2, 3, "2026-10-02"),
    ]
    ids, vectors = index.version_vectors(2)
    assert ids == ["a-1", "b-1", "b-2"]
    assert vectors.shape == (3, 384)
    assert index.find_build("fp2", "m").version == 2
    assert index.find_build("fp2", "other-model") is None


def test_live_alias_moves_atomically_and_rolls_back(index):
    v1, v2 = _build(index, ["a-1"]), _build(index, ["a-2"])
    assert index.live_version() is None
    index.set_alias(v1, reason="first")
    index.set_alias(v2, reason="second")
    alias = index.alias()
    assert (alias.version, alias.previous) == (v2, v1)
    index.set_alias(v1, reason="rollback", action="rollback", previous=v2)
    assert (index.alias().version, index.alias().previous) == (v1, v2)
    assert [e["action"] for e in index.events()] == ["promote", "promote", "rollback"]
    with pytest.raises(KeyError, match="not kept"):
        index.set_alias(99, reason="nope")


def test_clean_keeps_the_newest_and_never_live_or_its_rollback_target(index):
    versions = [_build(index, [f"a-{i}"]) for i in range(6)]
    index.set_alias(versions[0], reason="old live")
    index.set_alias(versions[1], reason="live")
    dropped = index.clean(keep=2)
    assert dropped == versions[2:4]
    assert index.kept_versions() == [versions[0], versions[1], versions[4], versions[5]]
    # the registry keeps the record of dropped versions; they can no longer be made live
    assert len(index.builds()) == 6
    with pytest.raises(KeyError):
        index.set_alias(versions[2], reason="gone")


def test_a_killed_build_is_never_registered_and_is_cleaned(index):
    v1 = _build(index, ["a-1"])
    index.set_alias(v1, reason="live")
    # a build killed after writing its table but before registering it
    index.db.create_table(version_table(2), data=_rows(["x-1"]))
    assert [b.version for b in index.builds()] == [1]
    assert index.next_version() == 3  # never reuses the orphan's name
    assert index.clean(keep=5) == [2]
    assert index.kept_versions() == [1]
