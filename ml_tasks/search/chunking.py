"""Read the maintenance manuals and cut them into chunks keyed by a content hash.

A manual is a Markdown file: one ``# Title`` line, then ``## Section`` headings. Each H2 section
is a chunk (text before the first H2 is the section "Overview"); a section longer than
``max_words`` is split into overlapping pieces so no chunk runs past the model's 256-token window.
The text embedded for a chunk is ``title\\nsection\\nbody``: the heading context is what tells two
"Procedure" sections of different machines apart.

A chunk's id is the SHA-256 of the embedding model id and everything that goes into its row, so
an unchanged chunk keeps its id (and its embedding is reused) and any edit, or a new model, gives
a new id (and a new embedding).

Bad input never stops the build: a file that is empty, not UTF-8 or has no text is skipped with a
reason that the build records and counts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

OVERVIEW = "Overview"
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_H2 = re.compile(r"^##\s+(.+?)\s*#*\s*$")
_HEADING = re.compile(r"^#{1,6}\s")


@dataclass(frozen=True)
class Chunk:
    """One embeddable piece of a manual (a section, or a part of a long one)."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    part: int
    text: str

    @property
    def embed_text(self) -> str:
        """What the model embeds: the heading context, then the body."""
        return f"{self.title}\n{self.section}\n{self.text}"


@dataclass
class Corpus:
    """The chunks of a manual library and the documents that were skipped (id -> reason)."""

    chunks: list[Chunk] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return len(self.documents) + len(self.skipped)


class UnreadableManual(ValueError):
    """A manual that cannot be indexed; the message is the reason recorded for it."""


def decode_manual(raw: bytes) -> str:
    """The text of a manual file, or :class:`UnreadableManual` with the reason."""
    if not raw:
        raise UnreadableManual("empty file (0 bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableManual(
            f"not UTF-8: byte 0x{raw[err.start]:02x} at offset {err.start}"
        ) from None
    if "\x00" in text:
        raise UnreadableManual("binary content (NUL bytes)")
    if not any(line.strip() and not _HEADING.match(line) for line in text.splitlines()):
        raise UnreadableManual("no text (only headings or whitespace)")
    return text


def split_sections(text: str, default_title: str) -> tuple[str, list[tuple[str, str]]]:
    """The title (first H1, else ``default_title``) and ``(section, body)`` pairs with text."""
    title = default_title
    sections: list[tuple[str, list[str]]] = [(OVERVIEW, [])]
    for line in text.splitlines():
        h1 = _H1.match(line)
        if h1 and title == default_title and len(sections) == 1 and not sections[0][1]:
            title = h1.group(1)
            continue
        h2 = _H2.match(line)
        if h2:
            sections.append((h2.group(1), []))
            continue
        sections[-1][1].append(line)
    out = []
    for name, lines in sections:
        body = "\n".join(lines).strip()
        if body:
            out.append((name, body))
    return title, out


def split_words(body: str, max_words: int, overlap_words: int) -> list[str]:
    """``body`` as one piece, or as windows of ``max_words`` overlapping by ``overlap_words``.

    Splits on whitespace but keeps line breaks inside a window, so numbered steps stay readable.
    """
    tokens = re.findall(r"\S+\s*", body)
    if len(tokens) <= max_words:
        return [body]
    step = max(1, max_words - overlap_words)
    pieces = []
    for start in range(0, len(tokens), step):
        pieces.append("".join(tokens[start : start + max_words]).strip())
        if start + max_words >= len(tokens):
            break
    return pieces


def chunk_id(model_id: str, doc_id: str, title: str, section: str, part: int, text: str) -> str:
    """Content hash of a chunk: same inputs and model -> same id -> reusable embedding."""
    h = hashlib.sha256()
    for value in (model_id, doc_id, title, section, str(part), text):
        h.update(value.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


def chunk_document(
    doc_id: str, text: str, *, model_id: str, max_words: int = 200, overlap_words: int = 40
) -> list[Chunk]:
    """The chunks of one manual's text."""
    title, sections = split_sections(text, default_title=doc_id)
    chunks = []
    for section, body in sections:
        for part, piece in enumerate(split_words(body, max_words, overlap_words)):
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(model_id, doc_id, title, section, part, piece),
                    doc_id=doc_id,
                    title=title,
                    section=section,
                    part=part,
                    text=piece,
                )
            )
    return chunks


def load_corpus(
    folder: Path, *, model_id: str, max_words: int = 200, overlap_words: int = 40
) -> Corpus:
    """Chunk every ``*.md`` file of ``folder`` (sorted, so the result is deterministic)."""
    corpus = Corpus()
    for path in sorted(Path(folder).glob("*.md")):
        doc_id = path.stem
        try:
            text = decode_manual(path.read_bytes())
        except UnreadableManual as err:
            corpus.skipped[doc_id] = str(err)
            continue
        chunks = chunk_document(
            doc_id, text, model_id=model_id, max_words=max_words, overlap_words=overlap_words
        )
        if not chunks:
            corpus.skipped[doc_id] = "no text (only headings or whitespace)"
            continue
        corpus.documents.append(doc_id)
        corpus.chunks.extend(chunks)
    return corpus
