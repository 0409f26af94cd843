"""Daily change simulation of the manuals library: edits, service bulletins, corrupt files.

The snapshot of day D is the start-day library with the changes of days start+1..D applied in
order (:func:`snapshots` replays them; it is cheap). Each day, drawn from that day's own stream:

* 1 to 3 documents are edited in one section each: a measured value changes, a step is added to
  a repair procedure, or a dated note is appended (at most two notes per section: the oldest note
  makes way). Nothing else in the document changes, and no fact is ever removed;
* sometimes a new service bulletin is published, sometimes an old one is withdrawn; core and
  general documents are never removed;
* on about one day in four, one non-core file (a bulletin, or a general document of an extra
  model) is written corrupted: invalid UTF-8, empty, or without any text. The file is back to
  its valid content the next day ("restored" in the truth).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from ml_platform_demo.manuals.documents import (
    FIRST_BULLETIN,
    VALUE_PATTERN,
    Document,
    all_models,
    base_documents,
    bulletin_document,
    format_number,
    rng_for,
    sentence,
)
from ml_platform_demo.manuals.facts import DEFAULT_MODEL_NAMES

CorruptKind = Literal["invalid_utf8", "empty", "no_text"]
CORRUPT_KINDS: tuple[CorruptKind, ...] = ("invalid_utf8", "empty", "no_text")
CORRUPT_DAY_SHARE = 0.25
BULLETIN_ADD_SHARE = 0.4
BULLETIN_REMOVE_SHARE = 0.25
MIN_BULLETINS = 2
MAX_NOTES_PER_SECTION = 2
_STREAM_CHANGES, _STREAM_CORRUPT = 21, 22

_DEFAULT_MODELS = frozenset(DEFAULT_MODEL_NAMES)
_NUMBERED_LINE = re.compile(r"^(\d+)\. ", re.MULTILINE)
_NOTE = re.compile(r"\n\nNote \(\d{4}-\d{2}-\d{2}\): [^\n]*")
# Steps the edits add to a repair procedure: generic, so they fit any troubleshooting manual.
_EXTRA_STEPS: tuple[str, ...] = (
    "photograph the as-found condition and attach the photos to the work order",
    "record the as-found and as-left readings in the work order",
    "ask a second technician to check the torque marks before the covers go back on",
    "count the tools and loose parts before closing the guards",
    "put used oil, rags and filters in the marked waste bins",
)
# Notes the edits append to any section: document-control remarks, they fit everywhere.
_NOTES: tuple[str, ...] = (
    "reviewed by maintenance engineering after feedback from plant {plant}; no change.",
    "checked against the machines in plant {plant} during the last audit.",
    "plant {plant} has a translated copy of this section for contractors.",
    "questions about this section go to the maintenance engineer of plant {plant}.",
    "plant {plant} asks technicians to confirm this section on the work order.",
)


def base_bulletin_count(extra_models: int) -> int:
    """Bulletins in force on the start day: a few, plus one per five extra models."""
    return 4 + extra_models // 5


@dataclass(frozen=True)
class DayChanges:
    """How one day's snapshot differs from the previous day's (day 1: everything added)."""

    day: date
    added: tuple[str, ...] = ()
    edited: dict[str, str] = field(default_factory=dict)  # doc_id -> edited section
    removed: tuple[str, ...] = ()
    corrupt: dict[str, CorruptKind] = field(default_factory=dict)  # doc_id -> corruption
    restored: tuple[str, ...] = ()  # corrupt the day before, valid again today

    def truth(self) -> dict[str, Any]:
        """The ``_truth/manuals/date=...json`` record."""
        return {
            "added": sorted(self.added),
            "edited": dict(sorted(self.edited.items())),
            "removed": sorted(self.removed),
            "corrupt": dict(sorted(self.corrupt.items())),
            "restored": sorted(self.restored),
        }


@dataclass(frozen=True)
class Snapshot:
    """The library on one day: valid documents, which files are corrupt, and the changes."""

    day: date
    documents: dict[str, Document]
    corrupt: dict[str, CorruptKind]
    changes: DayChanges

    def files(self) -> dict[str, bytes]:
        """doc_id -> file bytes, corrupt files included, in doc_id order."""
        return {
            doc_id: corrupt_bytes(doc, self.corrupt[doc_id])
            if doc_id in self.corrupt
            else doc.render().encode()
            for doc_id, doc in sorted(self.documents.items())
        }


# --- Edits --------------------------------------------------------------------------------


def _change_value(body: str, rng: np.random.Generator) -> str:
    """Move one measured value by 5 to 15 % up or down, keeping its precision."""
    matches = list(VALUE_PATTERN.finditer(body))
    match = matches[int(rng.integers(len(matches)))]
    text = match.group(1)
    decimals = len(text.partition(".")[2])
    step = 10.0**-decimals
    factor = rng.uniform(1.05, 1.15) if rng.random() < 0.5 else rng.uniform(0.85, 0.95)
    new = format_number(float(text) * factor, step)
    if float(new) in (float(text), 0.0):  # too small a number to move by a rounding step
        new = format_number(float(text) + step, step)
    return body[: match.start(1)] + new + body[match.end(1) :]


def _add_step(body: str, step: str) -> str:
    """Insert ``step`` before the last numbered item and renumber the list."""
    lines = body.split("\n")
    numbered = [i for i, line in enumerate(lines) if _NUMBERED_LINE.match(line)]
    lines.insert(numbered[-1], f"0. {sentence(step)}")
    count = 0
    for i, line in enumerate(lines):
        if _NUMBERED_LINE.match(line):
            count += 1
            lines[i] = _NUMBERED_LINE.sub(f"{count}. ", line, count=1)
    return "\n".join(lines)


def _add_note(body: str, day: date, note: str) -> str:
    """Append a dated note; with too many notes already, the oldest one goes."""
    if len(_NOTE.findall(body)) >= MAX_NOTES_PER_SECTION:
        body = _NOTE.sub("", body, count=1)
    return f"{body}\n\nNote ({day.isoformat()}): {sentence(note)}"


def edit_document(doc: Document, day: date, rng: np.random.Generator) -> tuple[Document, str]:
    """One edit of one section of ``doc``; returns the new document and the section name."""
    name = doc.section_names[int(rng.integers(len(doc.sections)))]
    body = doc.section(name)
    unused_steps = [s for s in _EXTRA_STEPS if sentence(s) not in body]
    edits = ["note"]
    if VALUE_PATTERN.search(body):
        edits.append("value")
    if name == "Procedure" and _NUMBERED_LINE.search(body) and unused_steps:
        edits.append("step")
    edit = edits[int(rng.integers(len(edits)))]
    if edit == "value":
        new = _change_value(body, rng)
    elif edit == "step":
        new = _add_step(body, unused_steps[int(rng.integers(len(unused_steps)))])
    else:
        plant = f"P{int(rng.integers(1, 5))}"
        new = _add_note(body, day, _NOTES[int(rng.integers(len(_NOTES)))].format(plant=plant))
    return doc.with_section(name, new), name


# --- Corrupt files ------------------------------------------------------------------------


def corrupt_bytes(doc: Document, kind: CorruptKind) -> bytes:
    """The file as written on a bad day."""
    if kind == "empty":
        return b""
    if kind == "no_text":
        # The headings survive an export that lost every body, plus stray whitespace.
        headings = "".join(f"## {name}\n\n" for name in doc.section_names)
        return f"# {doc.title}\n\n{headings} \n\t\n".encode()
    # A BOM-like prefix and a cp1252 export: bytes 0x80-0x9f are never valid UTF-8 there.
    text = doc.render().replace(" \u2014 ", " \u2013 ")  # em dash -> en dash (0x96)
    text += "\n\u201cExported\u201d \u2013 \u2018draft\u2019 \u2026\n"  # 0x93 0x94 0x96...
    return b"\xff\xfe" + text.encode("cp1252", errors="replace")


def _corruptible(doc: Document) -> bool:
    """Bulletins and the general documents of extra models; never what the golden set uses."""
    extra_general = doc.family == "general" and doc.model not in _DEFAULT_MODELS
    return doc.family == "bulletin" or extra_general


def _pick_corruption(
    docs: dict[str, Document], edited: dict[str, str], seed: int, day: date
) -> dict[str, CorruptKind]:
    rng = rng_for(seed, _STREAM_CORRUPT, day.toordinal())
    if rng.random() >= CORRUPT_DAY_SHARE:
        return {}
    candidates = sorted(i for i, d in docs.items() if _corruptible(d) and i not in edited)
    if not candidates:
        return {}
    doc_id = candidates[int(rng.integers(len(candidates)))]
    return {doc_id: CORRUPT_KINDS[int(rng.integers(len(CORRUPT_KINDS)))]}


# --- The day loop -------------------------------------------------------------------------


@dataclass
class _State:
    seed: int
    extra_models: int
    documents: dict[str, Document]
    next_bulletin: int

    def publish(self) -> str:
        doc = bulletin_document(self.next_bulletin, self.seed, all_models(self.extra_models))
        self.documents[doc.doc_id] = doc
        self.next_bulletin += 1
        return doc.doc_id

    def apply_day(self, day: date) -> tuple[list[str], dict[str, str], list[str]]:
        """Edit, withdraw and publish: the changes of ``day`` (added, edited, removed)."""
        rng = rng_for(self.seed, _STREAM_CHANGES, day.toordinal())
        ids = sorted(self.documents)
        picked = rng.choice(len(ids), size=int(rng.integers(1, 4)), replace=False)
        edited: dict[str, str] = {}
        for k in sorted(picked.tolist()):
            doc, section = edit_document(self.documents[ids[k]], day, rng)
            self.documents[doc.doc_id] = doc
            edited[doc.doc_id] = section
        removed: list[str] = []
        bulletins = sorted(i for i, d in self.documents.items() if d.family == "bulletin")
        withdrawable = [b for b in bulletins[:3] if b not in edited]
        if rng.random() < BULLETIN_REMOVE_SHARE and len(bulletins) > MIN_BULLETINS and withdrawable:
            # The oldest bulletins are the ones that get withdrawn.
            gone = withdrawable[int(rng.integers(len(withdrawable)))]
            del self.documents[gone]
            removed.append(gone)
        added = [self.publish()] if rng.random() < BULLETIN_ADD_SHARE else []
        return added, edited, removed


def snapshots(
    start: date, end: date, *, seed: int = 7, extra_models: int = 0
) -> Iterator[Snapshot]:
    """The snapshots of every day from ``start`` to ``end`` (inclusive), in order."""
    state = _State(seed, extra_models, base_documents(seed, extra_models), FIRST_BULLETIN)
    for _ in range(base_bulletin_count(extra_models)):
        state.publish()
    previous_corrupt: dict[str, CorruptKind] = {}
    day = start
    edited: dict[str, str]
    removed: list[str]
    while day <= end:
        if day == start:
            added, edited, removed = sorted(state.documents), {}, []
        else:
            added, edited, removed = state.apply_day(day)
        corrupt = _pick_corruption(state.documents, edited, seed, day)
        restored = tuple(
            sorted(i for i in previous_corrupt if i in state.documents and i not in corrupt)
        )
        changes = DayChanges(day, tuple(added), edited, tuple(removed), corrupt, restored)
        yield Snapshot(day, dict(state.documents), corrupt, changes)
        previous_corrupt = corrupt
        day += timedelta(days=1)
