"""Tamper with a registered version's files on the local MLflow store, and undo it afterwards.

The digest checkpoint quarantines a tampered version (tags that outlive the test); the shared
registry must be clean for the next test, so :func:`tampered` restores the bytes and lifts the
quarantine, as an operator would once the files are proven sound.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.model_fixtures import model_artifact_dir
from tests.release_fixtures import MODEL


def flip_a_byte(settings: Any, version: str) -> tuple[Path, bytes]:
    """Change the last byte of the version's booster file; the file and its original bytes."""
    model_file = next(model_artifact_dir(settings, version).rglob("model.ubj"))
    original = model_file.read_bytes()
    model_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    return model_file, original


def lift_quarantine(settings: Any, version: str, status: str | None) -> None:
    """Remove the quarantine tags and put the ``release.status`` tag back as it was."""
    from ml_tasks.registry.aliases import QUARANTINE_TAG, STATUS_TAG
    from ml_tasks.registry.models import client

    c = client(settings)
    for key in list(c.get_model_version(MODEL, version).tags):
        if key.startswith(QUARANTINE_TAG):
            c.delete_model_version_tag(MODEL, version, key)
    if status is None:
        c.delete_model_version_tag(MODEL, version, STATUS_TAG)
    else:
        c.set_model_version_tag(MODEL, version, STATUS_TAG, status)


@contextmanager
def tampered(
    settings: Any, version: str, *, now: bool = True
) -> Generator[Callable[[], None], None, None]:
    """Inside: the version's files differ from what was registered (``now=False``: call the
    yielded function to tamper later). Afterwards: files restored, quarantine lifted."""
    from ml_tasks.registry.models import client

    status = client(settings).get_model_version(MODEL, version).tags.get("release.status")
    done: list[tuple[Path, bytes]] = []

    def tamper() -> None:
        if not done:
            done.append(flip_a_byte(settings, version))

    if now:
        tamper()
    try:
        yield tamper
    finally:
        for model_file, original in done:
            model_file.write_bytes(original)
        lift_quarantine(settings, version, status)
