"""Pseudonymise personal fields with a keyed hash (HMAC-SHA256).

The same person always maps to the same token, so analytics still work, while the name cannot
be recovered without the key. The key comes from ``PLATFORM_PSEUDONYM_KEY`` (production: a
secret in the environment); on the embedded default one is generated once under the secrets
folder with owner-only permissions. It is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

KEY_ENV = "PLATFORM_PSEUDONYM_KEY"


def load_key(secrets_dir: Path) -> bytes:
    """The pseudonymisation key: from the environment, else the embedded key file."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode()
    path = secrets_dir / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive create: two concurrent first runs cannot end up with different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pseudonym(value: str, key: bytes) -> str:
    """Stable token for one value."""
    return "p_" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise(values: pl.Series, key: bytes) -> pl.Series:
    """Replace every non-null value by its token (hashing each distinct value once)."""
    mapping = {v: pseudonym(str(v), key) for v in values.drop_nulls().unique().to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)
