"""The search-index policy (``include/policies/search_index.yaml``) as typed settings.

Every gate threshold lives in the YAML file. Unknown sections or keys are rejected when the file
is loaded (:mod:`ml_tasks.policy`), so a typo fails the run with the key's name instead of
silently using a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_tasks.policy import PolicyError, read_policy_file, reject_unknown, section
from ml_tasks.settings import get_settings


@dataclass(frozen=True)
class ChunkingPolicy:
    max_words: int = 200
    overlap_words: int = 40


@dataclass(frozen=True)
class CorpusPolicy:
    min_documents: int = 10
    max_skipped_share: float = 0.2


@dataclass(frozen=True)
class QualityPolicy:
    k: int = 5
    mrr_depth: int = 10
    min_recall_at_k: float = 0.85
    min_mrr: float = 0.65
    max_recall_drop: float = 0.02
    max_mrr_drop: float = 0.03


@dataclass(frozen=True)
class DriftPolicy:
    max_distance: float = 0.01
    explained_min_changed_share: float = 0.05
    max_changed_share: float = 0.5
    reembed_probe: int = 8
    max_reembed_distance: float = 0.0001


@dataclass(frozen=True)
class RetentionPolicy:
    keep_versions: int = 5


@dataclass(frozen=True)
class SearchPolicy:
    name: str = "search_index"
    version: int = 1
    chunking: ChunkingPolicy = field(default_factory=ChunkingPolicy)
    corpus: CorpusPolicy = field(default_factory=CorpusPolicy)
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    drift: DriftPolicy = field(default_factory=DriftPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


_SECTIONS = {
    "chunking": ChunkingPolicy,
    "corpus": CorpusPolicy,
    "quality": QualityPolicy,
    "drift": DriftPolicy,
    "retention": RetentionPolicy,
}


def _section(name: str, cls: type, raw: Any) -> Any:
    def coerce(key: str, value: Any) -> Any:
        # Every field has a scalar default: its type is the one the YAML value must take.
        kind = type(getattr(cls(), key))
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise PolicyError(f"{name}.{key}: {value!r} is not a {kind.__name__}") from None

    return section(name, cls, raw, coerce)


def parse_policy(raw: dict[str, Any]) -> SearchPolicy:
    """Validate a policy mapping (as read from YAML)."""
    reject_unknown("search policy", raw, {"name", "version", *_SECTIONS}, what="section")
    policy = SearchPolicy(
        name=str(raw.get("name", "search_index")),
        version=int(raw.get("version", 1)),
        **{name: _section(name, cls, raw.get(name)) for name, cls in _SECTIONS.items()},
    )
    if not 0 <= policy.chunking.overlap_words < policy.chunking.max_words:
        raise PolicyError("chunking: overlap_words must be >= 0 and < max_words")
    if policy.quality.k < 1 or policy.quality.mrr_depth < policy.quality.k:
        raise PolicyError("quality: k must be >= 1 and mrr_depth >= k")
    if policy.retention.keep_versions < 2:
        raise PolicyError("retention.keep_versions must be >= 2 (live and its rollback target)")
    return policy


def load_policy(path: Path | None = None) -> SearchPolicy:
    """Read and validate the policy file (default: the settings' search_policy_path)."""
    raw, _ = read_policy_file(path or get_settings().search_policy_path, "search")
    return parse_policy(raw)
