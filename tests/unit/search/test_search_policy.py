"""The search-index policy file: the repository's file loads; typos fail loudly."""

from __future__ import annotations

import pytest

from ml_tasks.search.policy import PolicyError, load_policy, parse_policy


def test_repository_policy_loads():
    policy = load_policy()
    assert policy.quality.k == 5
    assert 0 < policy.quality.min_recall_at_k <= 1
    assert policy.retention.keep_versions >= 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"qualty": {}}, "unknown section"),
        ({"quality": {"min_recal_at_k": 0.9}}, "unknown key"),
        ({"quality": {"k": "five"}}, "not a int"),
        ({"chunking": {"max_words": 50, "overlap_words": 50}}, "overlap_words"),
        ({"retention": {"keep_versions": 1}}, "keep_versions"),
    ],
)
def test_invalid_policies_are_rejected(raw, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(raw)
