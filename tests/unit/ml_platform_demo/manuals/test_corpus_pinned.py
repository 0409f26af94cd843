"""The manual corpus is pinned byte for byte: moving its text into YAML data files changed nothing.

The digest was taken from the corpus the Python-literal facts wrote (before the move to
``ml_platform_demo/manuals/data``); any change to the facts, the templates or the daily edits
shows here, and a deliberate one updates the digest with a note on why.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from ml_platform_demo.manuals import write_manuals

# Days 0..30 from 2026-10-01, seed 7, no extra models: 1296 files (manuals and truth files).
PINNED_SHA256 = "a5b0438d1fe689ce5b20d8fb51e85e89065361b643f29e515653ae42a9d9e9dc"
PINNED_FILES = 1296


def _tree_digest(root: Path) -> tuple[str, int]:
    """sha256 over every file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest(), len(files)


def test_corpus_of_days_0_to_30_at_seed_7_is_byte_identical(tmp_path: Path):
    write_manuals(tmp_path, start=date(2026, 10, 1), days=31, seed=7)
    assert _tree_digest(tmp_path) == (PINNED_SHA256, PINNED_FILES)
