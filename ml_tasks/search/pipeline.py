"""The nightly refresh of the manual search index, one function per DAG task.

chunk -> embed changes -> build green -> gate -> swap the live alias -> clean old versions.

Tasks hand each other references: the chunk and embedding stages write a parquet file under
``PLATFORM_HOME/search/staging/<interval>/`` (atomically) and return its path; the build returns
an :class:`IndexBuild` (the version number and its figures; a dict through XCom). Every stage
is keyed by the manuals snapshot day, so a rerun or a backfill recomputes the same chunks, finds
the version already built from exactly those chunks and reuses it instead of writing a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ml_tasks.observability import platform_metrics
from ml_tasks.search import embedder
from ml_tasks.search.chunking import load_corpus
from ml_tasks.search.gates import IndexGateFailed, gate
from ml_tasks.search.index import (
    CHUNK_SCHEMA,
    DIMENSION,
    LIVE,
    ManualIndex,
    NoLiveIndex,
    vectors_array,
)
from ml_tasks.search.policy import SearchPolicy, load_policy
from ml_tasks.search.retrieval import load_golden
from ml_tasks.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexBuild:
    """What :func:`build_green` registered: the stage result the gate reads.

    Through XCom it travels as :meth:`to_dict` (JSON) and comes back with :meth:`from_dict`.
    """

    interval: str
    green: int  # the version built, or the kept one with exactly these chunks
    blue: int | None  # the live version when it was built (None on the first build)
    rows: int
    reused_version: bool
    fingerprint: str
    stats: dict[str, Any] = field(default_factory=dict)  # files, documents, skipped, ... counts
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexBuild:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class MissingManuals(FileNotFoundError):
    """No manuals snapshot was exported for the day."""


def manuals_snapshot(day: date, settings: Settings | None = None) -> Path:
    """The landing folder holding the manual library as of ``day``."""
    s = settings or get_settings()
    folder = s.landing_dir / "manuals" / f"date={day.isoformat()}"
    if not folder.is_dir():
        raise MissingManuals(f"no manuals snapshot for {day}: {folder} does not exist")
    return folder


def staging_dir(day: date, settings: Settings | None = None) -> Path:
    s = settings or get_settings()
    return s.platform_home / "search" / "staging" / day.isoformat()


def _write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # a killed task leaves the previous file or none, never half of one
    return path


def fingerprint(chunk_ids: list[str]) -> str:
    """Identity of a corpus: the sorted chunk ids (which include the model id)."""
    h = hashlib.sha256()
    for cid in sorted(chunk_ids):
        h.update(cid.encode())
    return h.hexdigest()[:32]


# --- 1. chunk ------------------------------------------------------------------------------


def chunk_manuals(
    day: date, *, settings: Settings | None = None, policy: SearchPolicy | None = None
) -> dict[str, Any]:
    """Chunk the day's manuals; unreadable files are skipped with a reason (never fatal)."""
    s = settings or get_settings()
    p = policy or load_policy(s.search_policy_path)
    began = time.perf_counter()
    folder = manuals_snapshot(day, s)
    corpus = load_corpus(
        folder,
        model_id=embedder.model_id(),
        max_words=p.chunking.max_words,
        overlap_words=p.chunking.overlap_words,
    )
    for doc_id, reason in sorted(corpus.skipped.items()):
        log.warning("skipped manual %s: %s", doc_id, reason)
    table = pa.Table.from_pylist(
        [
            {
                "chunk_id": c.chunk_id,
                "doc_id": c.doc_id,
                "title": c.title,
                "section": c.section,
                "part": c.part,
                "text": c.text,
            }
            for c in corpus.chunks
        ],
        # the version table's columns, less the vector the next stage adds
        schema=CHUNK_SCHEMA.remove(CHUNK_SCHEMA.get_field_index("vector")),
    )
    path = _write_parquet(table, staging_dir(day, s) / "chunks.parquet")
    return {
        "interval": day.isoformat(),
        "snapshot": str(folder),
        "chunks_path": str(path),
        "files": corpus.files,
        "documents": len(corpus.documents),
        "chunks": len(corpus.chunks),
        "skipped": corpus.skipped,
        "seconds": round(time.perf_counter() - began, 3),
    }


# --- 2. embed what changed -----------------------------------------------------------------


def _known_vectors(index: ManualIndex, wanted: set[str]) -> dict[str, np.ndarray]:
    """Vectors of ``wanted`` chunk ids found in any kept version (live first)."""
    found: dict[str, np.ndarray] = {}
    live = index.live_version()
    versions = index.kept_versions()
    order = ([live] if live in versions else []) + [v for v in reversed(versions) if v != live]
    for version in order:
        missing = wanted - found.keys()
        if not missing:
            break
        ids, vectors = index.version_vectors(version)
        for i, cid in enumerate(ids):
            if cid in missing:
                found[cid] = vectors[i]
    return found


def _carry_forward(index: ManualIndex, skipped: dict[str, str]) -> pa.Table | None:
    """Rows of the live version for documents skipped today: keep their last good revision."""
    live = index.live_version()
    if live is None or not skipped:
        return None
    rows = index.open_version(live).to_arrow()
    mask = np.isin(np.asarray(rows.column("doc_id").to_pylist(), dtype=object), list(skipped))
    return rows.filter(pa.array(mask)) if mask.any() else None


def embed_changes(
    chunked: dict[str, Any],
    *,
    settings: Settings | None = None,
    full_rebuild: bool = False,
) -> dict[str, Any]:
    """Embed only chunks no kept version has; reuse every other vector as stored."""
    s = settings or get_settings()
    began = time.perf_counter()
    chunks = pq.read_table(chunked["chunks_path"])
    ids = chunks.column("chunk_id").to_pylist()
    index = ManualIndex(s)
    known = {} if full_rebuild else _known_vectors(index, set(ids))
    todo = [i for i, cid in enumerate(ids) if cid not in known]
    titles, sections, texts = (chunks.column(c).to_pylist() for c in ("title", "section", "text"))
    if todo:
        embedder.load_model()  # once per process; kept out of the encode timing
    encode_began = time.perf_counter()
    fresh = embedder.encode(
        [f"{titles[i]}\n{sections[i]}\n{texts[i]}" for i in todo],
        batch_size=s.embedding_batch_size,
    )
    encode_seconds = time.perf_counter() - encode_began
    vectors = np.zeros((len(ids), DIMENSION), dtype=np.float32)
    for row, vector in zip(todo, fresh, strict=True):
        vectors[row] = vector
    for row, cid in enumerate(ids):
        if cid in known:
            vectors[row] = known[cid]
    table = chunks.append_column("vector", vectors_array(vectors))
    carried = _carry_forward(index, chunked.get("skipped", {}))
    carried_docs: list[str] = []
    if carried is not None:
        carried_docs = sorted(set(carried.column("doc_id").to_pylist()))
        table = pa.concat_tables([table, carried.select(table.column_names).cast(table.schema)])
        log.warning("kept the live revision of unreadable manuals: %s", ", ".join(carried_docs))
    path = _write_parquet(table, Path(chunked["chunks_path"]).with_name("embedded.parquet"))
    log.info("embedded %d new or changed chunks, reused %d of %d", len(todo), len(known), len(ids))
    return {
        **{k: chunked[k] for k in ("interval", "files", "documents", "skipped")},
        "embedded_path": str(path),
        "chunks": table.num_rows,
        "embedded": len(todo),
        "reused": len(known),
        "carried_forward": carried_docs,
        "encode_seconds": round(encode_seconds, 3),
        "seconds": round(time.perf_counter() - began, 3),
    }


# --- 3. build green ------------------------------------------------------------------------


def build_green(
    embedded: dict[str, Any], *, run_id: str = "", settings: Settings | None = None
) -> IndexBuild:
    """Register a new version with these chunks, or reuse a kept one with exactly the same."""
    s = settings or get_settings()
    began = time.perf_counter()
    table = pq.read_table(embedded["embedded_path"])
    index = ManualIndex(s)
    model = embedder.model_id()
    fp = fingerprint(table.column("chunk_id").to_pylist())
    existing = index.find_build(fp, model)
    stats = {
        k: embedded[k]
        for k in ("files", "documents", "skipped", "carried_forward", "embedded", "reused")
    }
    if existing is not None:
        version, reused_version = existing.version, True
        log.info("chunks identical to kept version v%d: reusing it", version)
    else:
        version, reused_version = index.next_version(), False
        index.write_version(
            version,
            table,
            {
                "interval": embedded["interval"],
                "run_id": run_id,
                "fingerprint": fp,
                "model_id": model,
                "documents": embedded["documents"],
                "embedded": embedded["embedded"],
                "reused": embedded["reused"],
                "stats": stats,
            },
        )
    return IndexBuild(
        interval=embedded["interval"],
        green=version,
        blue=index.live_version(),
        rows=table.num_rows,
        reused_version=reused_version,
        fingerprint=fp,
        stats=stats,
        seconds=round(time.perf_counter() - began, 3),
    )


# --- 4. gate -------------------------------------------------------------------------------


def gate_green(
    built: IndexBuild | dict[str, Any],
    *,
    run_id: str = "",
    allow_large_change: bool = False,
    settings: Settings | None = None,
    policy: SearchPolicy | None = None,
) -> dict[str, Any]:
    """Compare green with the live version; raise :class:`IndexGateFailed` with the reasons.

    ``built``: :func:`build_green`'s result, or its dict as it comes through XCom."""
    if isinstance(built, dict):
        built = IndexBuild.from_dict(built)
    s = settings or get_settings()
    p = policy or load_policy(s.search_policy_path)
    index = ManualIndex(s)
    began = time.perf_counter()
    blue = index.live_version()
    decision = gate(
        index,
        built.green,
        blue,
        built.stats,
        load_golden(s.golden_queries_path),
        p,
        allow_large_change=allow_large_change,
    ).as_dict()
    decision["interval"] = built.interval
    decision["seconds"] = round(time.perf_counter() - began, 3)
    index.record_gate(built.green, decision, run_id=run_id)
    platform_metrics.push_search_gate(decision, s)
    # A blocked verdict at WARNING: it is why the live alias did not move.
    emit = log.info if decision["passed"] else log.warning
    for line in format_decision(decision):
        emit("%s", line)
    if not decision["passed"]:
        raise IndexGateFailed(decision)
    return decision


def format_decision(decision: dict[str, Any]) -> list[str]:
    """The gate decision as log lines (one per check, then the verdict)."""
    q, c, d = decision["quality"], decision["corpus"], decision["drift"]
    bounds = decision.get("thresholds") or {}
    qb, cb = bounds.get("quality") or {}, bounds.get("corpus") or {}
    lines = [
        f"corpus: {c.get('documents')} documents, {c.get('skipped')} skipped"
        + (
            f" (minimum {cb['min_documents']} documents, at most "
            f"{cb['max_skipped_share']:.0%} skipped)"
            if cb
            else ""
        ),
        f"quality: green v{decision['green']} recall@{q.get('k')} {q.get('recall_at_k')}, "
        f"MRR {q.get('mrr')} on {q.get('queries')} golden queries {q.get('by_kind', {})}"
        + (f" (minimum recall {qb['min_recall_at_k']}, MRR {qb['min_mrr']})" if qb else ""),
    ]
    if decision.get("blue_quality"):
        b = decision["blue_quality"]
        lines.append(
            f"live v{decision['blue']}: recall@{b['k']} {b['recall_at_k']}, MRR {b['mrr']}"
            + (
                f" (green may be at most {qb['max_recall_drop']} recall and "
                f"{qb['max_mrr_drop']} MRR below)"
                if qb
                else ""
            )
        )
    if d:
        lines.append(
            f"drift: distance {d['distance']} (max {d['max_distance']}), "
            f"{d['added_chunks']} chunks added, {d['removed_chunks']} removed "
            f"({d['changed_share']:.1%}), re-embed max distance {d['reembed_max_distance']:.2e}"
        )
    lines += decision.get("notes", [])
    verdict = "PASSED" if decision["passed"] else "BLOCKED"
    lines.append(
        f"gate {verdict}: green v{decision['green']} vs live v{decision['blue']}"
        + ("" if decision["passed"] else ": " + "; ".join(decision["reasons"]))
    )
    return lines


# --- 5. swap, 6. clean ---------------------------------------------------------------------


def swap_live(
    decision: dict[str, Any], *, run_id: str = "", settings: Settings | None = None
) -> dict[str, Any]:
    """Point ``live`` at the green version that passed (a no-op when it already is)."""
    if not decision.get("passed"):
        raise IndexGateFailed(decision)
    index = ManualIndex(settings)
    before = index.live_version()
    green = int(decision["green"])
    if before == green:
        return {"live": green, "previous": index.alias(LIVE).previous, "changed": False}
    alias = index.set_alias(
        green, reason=f"nightly refresh {decision.get('interval')}: gate passed", run_id=run_id
    )
    log.info("live index: v%s -> v%d", before, green)
    platform_metrics.push_search_live(green, settings)
    return {"live": green, "previous": alias.previous, "changed": True}


def clean_old_versions(
    *, settings: Settings | None = None, policy: SearchPolicy | None = None
) -> dict[str, Any]:
    """Drop versions beyond the policy's retention (never live or its rollback target)."""
    s = settings or get_settings()
    p = policy or load_policy(s.search_policy_path)
    index = ManualIndex(s)
    dropped = index.clean(p.retention.keep_versions)
    return {"dropped": dropped, "kept": index.kept_versions()}


def rollback(
    *, reason: str = "manual rollback", settings: Settings | None = None
) -> dict[str, Any]:
    """Point ``live`` back at the previous live version (kept by retention for this)."""
    index = ManualIndex(settings)
    alias = index.alias(LIVE)
    if alias.version is None:
        raise NoLiveIndex("no live search index to roll back")
    if alias.previous is None:
        raise NoLiveIndex(f"live index v{alias.version} has no previous version to roll back to")
    target = alias.previous
    index.set_alias(target, reason=reason, action="rollback", previous=alias.version)
    return {"live": target, "previous": alias.version}


def refresh(
    day: date,
    *,
    run_id: str = "",
    allow_large_change: bool = False,
    full_rebuild: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The whole refresh without Airflow (the CLI and the demo); raises when the gate fails."""
    s = settings or get_settings()
    run_id = run_id or f"cli__{day.isoformat()}"
    chunked = chunk_manuals(day, settings=s)
    embedded = embed_changes(chunked, settings=s, full_rebuild=full_rebuild)
    built = build_green(embedded, run_id=run_id, settings=s)
    decision = gate_green(built, run_id=run_id, allow_large_change=allow_large_change, settings=s)
    swapped = swap_live(decision, run_id=run_id, settings=s)
    cleaned = clean_old_versions(settings=s)
    return {
        "chunked": chunked,
        "embedded": embedded,
        "built": built.to_dict(),
        "decision": decision,
        "swap": swapped,
        "clean": cleaned,
    }


def snapshot_day(
    requested: str | None, event_extras: list[dict[str, Any]], data_interval_start: Any
) -> date:
    """Which export a run indexes: the Param, else the newest date in the triggering asset
    events, else the run's data interval (nightly runs)."""
    if requested:
        return date.fromisoformat(str(requested))
    dates = [date.fromisoformat(str(e["date"])) for e in event_extras if e.get("date")]
    if dates:
        return max(dates)
    if data_interval_start is None:
        raise ValueError("no snapshot day: set the snapshot_date param")
    return data_interval_start.date()
