"""Evaluation test fixtures: the shared registry with three versions (see release_fixtures)."""

from __future__ import annotations

from tests.release_fixtures import evaluations, release_registry  # ruff: ignore[unused-import]  (fixtures)
