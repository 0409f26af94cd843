"""Pseudonymise personal fields with a keyed hash (HMAC-SHA256).

The same person always maps to the same token, so analytics still work, while the name cannot
be recovered without the key. The key comes from ``PLATFORM_PSEUDONYM_KEY`` (production: a
secret in the environment); on the embedded default one is generated once under the secrets
folder with owner-only permissions. It is never logged.

The same tokens replace personal fields inside quarantined raw lines (:func:`redact_line`), so
the quarantine keeps the evidence of a bad record without the person's name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Collection
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


# A quoted JSON string value of a field, escapes included: "<field>" : "<value>".
_QUOTED_VALUE = r'"{field}"\s*:\s*"((?:[^"\\]|\\.)*)"'
# What a redacted value of a field looks like: a pseudonym or an explicit null.
_SAFE_VALUE = r'"{field}"\s*:\s*(?:"p_[0-9a-f]{{20}}"|null)'


def _token(value: object, key: bytes) -> str:
    # The curated table sees the value as DuckDB's VARCHAR: the text itself, else its JSON text.
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return pseudonym(text, key)


def redact_line(line: str, fields: Collection[str], key: bytes) -> tuple[str, str | None]:
    """``line`` with the values of ``fields`` replaced by their pseudonyms; and a note or None.

    A JSON object gets each top-level field's value replaced by the same token the curated table
    holds (re-serialised, so the line's spacing may change). Other text is redacted by a regex on
    ``"<field>": "<value>"``. Field names match case-insensitively (a ``"Technician"`` key is an
    unknown column, but still a name). When a field name is left next to a value neither method
    could isolate (``"technician": Ann``, a line cut inside the value), the whole line is replaced
    by a marker with a keyed hash, and the note says so: no raw personal value is ever returned.
    """
    wanted = {f.lower() for f in fields}
    if not wanted or not any(f in line.lower() for f in wanted):
        return line, None
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict):
        for name, value in record.items():
            if name.lower() in wanted and value is not None:
                record[name] = _token(value, key)
        redacted = json.dumps(record, ensure_ascii=False)
    else:
        redacted = line
        for name in wanted:
            pattern = re.compile(_QUOTED_VALUE.format(field=re.escape(name)), re.IGNORECASE)
            redacted = pattern.sub(lambda m: _replace_value(m, key), redacted)
    if _has_unsafe_field(redacted, wanted):
        digest = hmac.new(key, line.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return (
            f"<redacted: personal field not isolable; hmac_sha256={digest[:32]}>",
            "raw_line redacted whole: a personal field could not be isolated",
        )
    return redacted, None


def _replace_value(match: re.Match[str], key: bytes) -> str:
    head = match.group(0)[: match.start(1) - match.start(0)]
    return f'{head}{_unescaped_token(match, key)}"'


def _unescaped_token(match: re.Match[str], key: bytes) -> str:
    try:
        value = json.loads(f'"{match.group(1)}"')
    except ValueError:
        value = match.group(1)
    return pseudonym(value, key)


def _has_unsafe_field(text: str, fields: Collection[str]) -> bool:
    """True when a field name occurs anywhere except as ``"<field>": "p_..."`` or ``: null``."""
    for name in fields:
        safe = re.compile(_SAFE_VALUE.format(field=re.escape(name)), re.IGNORECASE)
        if name.lower() in safe.sub("", text).lower():
            return True
    return False


def redact_raw_lines(
    raw_lines: pl.Series, fields: Collection[str], key: bytes
) -> tuple[pl.Series, pl.Series]:
    """:func:`redact_line` over a column: (redacted lines, notes: None where nothing to say)."""
    if not fields:
        return raw_lines, pl.Series(raw_lines.name, [None] * len(raw_lines), dtype=pl.String)
    pairs = [
        (None, None) if line is None else redact_line(line, fields, key)
        for line in raw_lines.to_list()
    ]
    return (
        pl.Series(raw_lines.name, [p[0] for p in pairs], dtype=pl.String),
        pl.Series("note", [p[1] for p in pairs], dtype=pl.String),
    )


def redact_quarantine_rows(
    frame: pl.DataFrame, fields: Collection[str], key: bytes
) -> pl.DataFrame:
    """Quarantine rows with ``raw_line`` redacted; a whole-line redaction is noted in details."""
    if not fields:
        return frame
    lines, notes = redact_raw_lines(frame["raw_line"].cast(pl.String), fields, key)
    details = (
        pl.when(notes.is_null())
        .then(pl.col("details"))
        .otherwise(pl.concat_str(pl.col("details"), pl.lit("; "), pl.lit(notes)))
    )
    return frame.with_columns(raw_line=lines, details=details)
