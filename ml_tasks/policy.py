"""Policy files (``include/policies/*.yaml``) read into frozen dataclasses, strictly.

Policy as code: every gate threshold is in a reviewed YAML file. The three policies (promotion:
:mod:`ml_tasks.release.policy`, monitoring: :mod:`ml_tasks.monitoring.policy`, search index:
:mod:`ml_tasks.search.policy`) keep only their dataclasses and their own value checks; reading
the file, refusing unknown sections and keys, and building a section's dataclass are done here
once, so a typo fails every policy the same way: with the key's name, never with a silent
default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class PolicyError(ValueError):
    """A policy file is missing or invalid (the message names the file, section or key)."""


def read_policy_file(path: str | Path, kind: str) -> tuple[dict[str, Any], str]:
    """The file's top-level mapping and its text (for a digest); ``kind`` names it in errors."""
    import yaml

    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise PolicyError(f"{kind} policy not found: {target}") from err
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise PolicyError(f"{target}: expected a mapping at the top level")
    return raw, text


def mapping(where: str, raw: Any) -> dict[str, Any]:
    """``raw`` as a mapping (an absent section is an empty one)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def reject_unknown(where: str, raw: dict[str, Any], known: set[str], what: str = "key") -> None:
    """Fail on any key of ``raw`` outside ``known``, naming it and what is allowed."""
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PolicyError(f"{where}: unknown {what}(s) {unknown}; known: {sorted(known)}")


def section(
    where: str,
    cls: type[T],
    raw: Any,
    convert: Callable[[str, Any], Any] | None = None,
) -> T:
    """One section's dataclass from its mapping: unknown keys refused, YAML lists as tuples.

    ``convert(key, value)`` turns a value into the field's type (raising :class:`PolicyError`
    when it cannot); an absent section gives the dataclass's defaults.
    """
    values = mapping(where, raw)
    reject_unknown(where, values, {f.name for f in fields(cls)})  # type: ignore[arg-type]
    built = {}
    for key, value in values.items():
        if isinstance(value, list):
            value = tuple(value)
        built[key] = convert(key, value) if convert else value
    return cls(**built)
