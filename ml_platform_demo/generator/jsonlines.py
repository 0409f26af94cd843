"""The landing files' JSON line style, and how a malformed line is made from a good one."""

from __future__ import annotations

import json
from typing import Any


def json_line(record: dict[str, Any]) -> str:
    """One JSON line in the landing style (compact, keys in the given order)."""
    return json.dumps(record, separators=(",", ":")) + "\n"


def truncate_line(line: str, u: float) -> str:
    """Cut a JSON object line mid-way: without its closing brace it can never parse."""
    body = line.rstrip("\n")
    cut = 5 + int(u * max(len(body) - 7, 1))
    return body[:cut] + "\n"
