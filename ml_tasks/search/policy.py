"""The search-index policy (``include/policies/search_index.yaml``) as typed settings.

Every gate threshold lives in the YAML file. Unknown sections or keys are rejected when the file
is loaded, so a typo fails the run with the key's name instead of silently using a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ml_tasks.settings import get_settings


class PolicyError(ValueError):
    """The search-index policy file is invalid."""


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
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise PolicyError(f"{name}: expected a mapping, got {type(raw).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise PolicyError(f"{name}: unknown key(s) {', '.join(unknown)}")
    values = {}
    for key, value in raw.items():
        kind = type(getattr(cls(), key))
        try:
            values[key] = kind(value)
        except (TypeError, ValueError):
            raise PolicyError(f"{name}.{key}: {value!r} is not a {kind.__name__}") from None
    return cls(**values)


def parse_policy(raw: dict[str, Any]) -> SearchPolicy:
    """Validate a policy mapping (as read from YAML)."""
    unknown = sorted(set(raw) - {"name", "version", *_SECTIONS})
    if unknown:
        raise PolicyError(f"unknown section(s) {', '.join(unknown)}")
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
    p = Path(path) if path is not None else get_settings().search_policy_path
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise PolicyError(f"search policy not found: {p}") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{p}: expected a mapping at the top level")
    return parse_policy(raw)
