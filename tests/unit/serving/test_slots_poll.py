"""A poll that finds nothing moved skips the per-version registry reads (they stalled the
gateway's event loop every 2 s); an alias move, an admin reload or 30 s read everything."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from ml_tasks.registry.digest import DIGEST_TAG
from ml_tasks.serving import slots
from ml_tasks.serving.scorer import LoadedModel
from ml_tasks.serving.slots import SlotLoader, SlotTable


class _Registry:
    """Counts the registry calls a poll makes (the real registry is in the component tests)."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.version_reads = 0

    def get_registered_model(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(aliases=dict(self.aliases), tags={})

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        self.version_reads += 1
        return SimpleNamespace(tags={DIGEST_TAG: f"sha-{version}"})


def _model(version: str) -> LoadedModel:
    return LoadedModel(
        version=version,
        sha256=f"sha-{version}",
        booster=None,
        features=("a",),
        threshold=None,
        loaded_at=datetime.now(UTC),
    )


def test_unchanged_polls_skip_version_reads_until_something_moves(monkeypatch) -> None:
    registry = _Registry({"champion": "1"})
    loader = SlotLoader(registry, "failure_model", tracking_uri="sqlite://")
    table = SlotTable(models={"champion": _model("1")})
    table = loader.read(table).table  # the first read is a full one
    assert registry.version_reads == 1
    for _ in range(5):
        table = loader.read(table).table
    assert registry.version_reads == 1 and table.versions() == {"champion": "1"}
    # An admin reload reads everything.
    table = loader.read(table, retry_refused=True).table
    assert registry.version_reads == 2
    # So does a poll after FULL_READ_SECONDS.
    monkeypatch.setattr(slots, "FULL_READ_SECONDS", 0.0)
    table = loader.read(table).table
    assert registry.version_reads == 3
    monkeypatch.setattr(slots, "FULL_READ_SECONDS", 30.0)
    # An alias move at once (v1 is loaded already: reused, no download).
    registry.aliases = {"champion": "1", "previous_champion": "1"}
    table = loader.read(table).table
    assert registry.version_reads == 5
    assert table.versions() == {"champion": "1", "previous_champion": "1"}
