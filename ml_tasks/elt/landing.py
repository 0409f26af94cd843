"""Read raw landing files robustly: every line survives to be curated or quarantined.

A JSON lines file may hold malformed lines, bad bytes and values of the wrong type; a strict
reader would reject the whole file (one non-UTF-8 byte used to sink the whole day). Files are
read as bytes and split into lines with numpy, decoded per line, then parsed and cast in one
vectorised DuckDB query: a line that cannot be read, is not JSON, or holds a value that does not
cast to the contract's type is marked with its reason instead of failing the read.

Rules, each a quarantine reason (the run never crashes on content):

- Landing files are ``*.jsonl`` and ``*.jsonl.gz``. Any other entry of a landing folder (a
  ``.csv``, a ``.json``, a ``.tmp``, a hidden file, a folder) is not read but named in the run's
  stats (``ignored_files``) and logged as a warning: never skipped silently.
- ``invalid_utf8``: a line that is not UTF-8. Its raw text is kept decoded with
  ``errors="backslashreplace"`` (each bad byte written as ``\\xNN``), so it is safe to store and
  shows the exact bytes. ``nul_byte``: a line holding a NUL byte; NUL is kept as ``\\x00``.
- ``lone_surrogate``: a JSON string escape (``"\\ud800"``) that is half of a UTF-16 pair; it
  has no UTF-8 form, so the record cannot be stored.
- ``truncated_line``: the last line of a file has no newline and is not valid JSON (a writer cut
  off mid-record). A complete last record without the final newline is read normally.
- ``multiline_json``: a JSON document spread over several lines (a pretty-printed object or
  array) is ONE record with the whole document as its raw text, not one reason per line.
- File-level records (``line_no`` 0, ``raw_line`` null unless stated): ``unreadable_file:<error>``
  when the file cannot be read at all (no line of it is read); ``truncated_gzip`` when a gzip
  stream ends early and ``corrupt_gzip`` when it breaks: the complete lines decompressed before
  the break ARE kept and curated as usual, and the record's raw text is the partial line that
  was cut (null when the break fell on a line end).
- ``naive_timestamp:<column>``: a timestamp without a zone (``2026-10-01T12:00:00``) is never
  guessed to be UTC. A zone is ``Z``, an offset (``+02:00``) or a zone name after the time.
- Keys that are not contract columns are kept in the raw landing file only; each run reports
  how many records carried each (``unknown_columns``) and logs a warning.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ml_tasks.elt.contracts import Contract

log = logging.getLogger(__name__)

LANDING_SUFFIXES = (".jsonl", ".jsonl.gz")

_DUCK_TYPES = {
    "string": "VARCHAR",
    "float64": "DOUBLE",
    "int64": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
}
# A time of day followed by a zone: Z, an offset (+02, +0200, +02:00) or a name (UTC, Europe/Paris).
_ZONE_RE = r"(?i)\d:\d{2}(:\d{2}([.,]\d+)?)?\s*(z|[+-]\d{2}(:?\d{2}){0,2}|[a-z][a-z0-9_/+-]*)\s*$"
# A JSON \u escape of a UTF-16 surrogate; only lines matching it are checked one by one.
_SURROGATE_RE = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
_GZIP_CHUNK = 1 << 20
_DATABASES: dict[int, Any] = {}  # see _duckdb
_BLANK_BYTES = np.array([9, 10, 13, 32], np.uint8)  # JSON whitespace
_MAX_DOCUMENT_TRIES = 1000  # lines per file tried as the start of a multi-line JSON document
_JSON_SPACE = "' ' || chr(9) || chr(10) || chr(13)"  # JSON's whitespace, as a DuckDB expression
_LINES_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("raw_line", pa.large_string()),
        ("read_error", pa.string()),
        ("ends_line", pa.bool_()),
    ]
)


class MissingLandingData(FileNotFoundError):
    """The landing partition for an interval does not exist."""


@dataclass(frozen=True)
class LandingDay:
    """One interval's landing data as read: its lines and what the run reports about them."""

    contract: Contract
    day: date
    lines: pa.Table  # see read_lines
    ignored_files: list[str] = field(default_factory=list)
    file_errors: dict[str, str] = field(default_factory=dict)

    def report(self, parsed: pl.DataFrame) -> dict[str, Any]:
        """The keys a run adds to its stats (``TableRun.extra``), given the parsed ``lines``.

        ``unknown_columns`` is counted here, from the parsed records, and logged as a warning.
        """
        unknown = unknown_columns(self.lines, parsed, self.contract)
        if unknown:
            log.warning(
                "%s %s: keys outside the contract (kept in the landing file only), "
                "records per key: %s",
                self.contract.name,
                self.day.isoformat(),
                ", ".join(f"{k} ({n})" for k, n in unknown.items()),
            )
        return {
            "ignored_files": list(self.ignored_files),
            "file_errors": dict(self.file_errors),
            "unknown_columns": unknown,
        }


def landing_folder(landing_dir: Path, contract: Contract, day: date) -> Path:
    return landing_dir / contract.landing / f"date={day.isoformat()}"


def scan_landing(landing_dir: Path, contract: Contract, day: date) -> tuple[list[Path], list[str]]:
    """The interval's landing files, sorted, and the names of every other entry of the folder.

    A missing partition is an error that names it; other entries are logged as a warning.
    """
    folder = landing_folder(landing_dir, contract, day)
    if not folder.is_dir():
        raise MissingLandingData(
            f"no landing data for {contract.name} partition date={day.isoformat()} "
            f"(expected folder {folder})"
        )
    files, ignored = [], []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        # A broken link or an unreadable file still counts as a landing file: its read reports it.
        if name.endswith(LANDING_SUFFIXES) and not name.startswith(".") and not entry.is_dir():
            files.append(entry)
        else:
            ignored.append(name + "/" if entry.is_dir() else name)
    if ignored:
        log.warning(
            "%s %s: not read, not a landing file (%s) in %s (%d): %s",
            contract.name,
            day.isoformat(),
            ", ".join(LANDING_SUFFIXES),
            folder,
            len(ignored),
            ", ".join(ignored),
        )
    return files, ignored


def landing_files(landing_dir: Path, contract: Contract, day: date) -> list[Path]:
    """The interval's landing files, sorted (see :func:`scan_landing` for the others)."""
    return scan_landing(landing_dir, contract, day)[0]


def read_landing(landing_dir: Path, contract: Contract, day: date) -> LandingDay:
    """Read one interval's landing folder: its lines, ignored files and file-level errors."""
    files, ignored = scan_landing(landing_dir, contract, day)
    lines = read_lines(files)
    file_level = lines.filter(pc.equal(lines.column("line_no"), 0))
    errors = dict(
        zip(
            file_level.column("source_file").to_pylist(),
            file_level.column("read_error").to_pylist(),
            strict=True,
        )
    )
    return LandingDay(contract, day, lines, ignored_files=ignored, file_errors=errors)


def read_lines(files: list[Path]) -> pa.Table:
    """All lines of ``files`` as (source_file, line_no, raw_line, read_error, ends_line, _row).

    ``line_no`` is the physical line number (blank lines are skipped, not renumbered) and 0 for
    a file-level record; ``read_error`` is the reason a line could not be read as text (null
    when it was); ``ends_line`` is false for a last line without its newline.
    """
    parts = [_read_file(path) for path in files]
    table = pa.concat_tables(parts) if parts else _LINES_SCHEMA.empty_table()
    # Position of each line: parsed rows refer back to their raw text by it.
    return table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _read_file(path: Path) -> pa.Table:
    """The lines of one file, plus a file-level record when it could not be read whole."""
    data, file_error = _file_bytes(path)
    lines, ends_line, tail = _split_lines(data, keep_tail=file_error is None)
    text, read_error = _decode(lines)
    text, read_error = _mark_nul_bytes(text, read_error, has_nul=b"\x00" in data)
    read_error = _mark_lone_surrogates(text, read_error)
    trimmed = pc.utf8_trim_whitespace(text)
    text, read_error, ends_line, joined = _join_documents(text, trimmed, read_error, ends_line)
    # Blank lines are skipped; so are the lines a multi-line document took in.
    blank = pc.and_(pc.equal(pc.utf8_length(trimmed), 0), pc.is_null(read_error))
    drop = pc.or_(blank, pa.array(joined))
    table = pa.table(
        {
            "source_file": pa.repeat(pa.scalar(path.name, pa.string()), len(text)),
            "line_no": pa.array(np.arange(1, len(text) + 1, dtype=np.int64)),
            "raw_line": text,
            "read_error": read_error,
            "ends_line": pa.array(ends_line),
        },
        schema=_LINES_SCHEMA,
    )
    if pc.any(drop).as_py():
        table = table.filter(pc.invert(drop))
    if file_error is None:
        return table
    if not file_error.startswith("unreadable_file"):  # that one was logged with its message
        log.warning("landing file %s: %s; kept the %d lines before", path, file_error, len(table))
    record = {
        "source_file": [path.name],
        "line_no": [0],
        "raw_line": [tail.decode("utf-8", "backslashreplace") if tail else None],
        "read_error": [file_error],
        "ends_line": [False],
    }
    return pa.concat_tables([table, pa.table(record, schema=_LINES_SCHEMA)])


def _file_bytes(path: Path) -> tuple[bytes, str | None]:
    """The file's content (decompressed for ``.gz``) and the file-level reason, if any."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        log.warning("landing file %s cannot be read: %s", path, err)
        return b"", f"unreadable_file:{type(err).__name__}"
    if path.name.endswith(".gz"):
        return _gunzip(raw)
    return raw, None


def _gunzip(raw: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; on a break, what decompressed before it and the reason."""
    out: list[bytes] = []
    view, pos = memoryview(raw), 0
    while pos < len(raw):
        member = zlib.decompressobj(wbits=31)
        try:
            # In chunks: a corrupt block loses only its own chunk's output, not the member's.
            while not member.eof and pos < len(raw):
                chunk = view[pos : pos + _GZIP_CHUNK]
                out.append(member.decompress(chunk))
                pos += len(chunk) - len(member.unused_data)
        except zlib.error:
            return b"".join(out), "corrupt_gzip"
        if not member.eof:
            out.append(member.flush())
            return b"".join(out), "truncated_gzip"
        if not raw[pos:].strip(b"\x00"):
            break  # zero padding after the last member is allowed, as gzip itself allows it
    return b"".join(out), None


def _split_lines(data: bytes, *, keep_tail: bool) -> tuple[pa.Array, np.ndarray, bytes]:
    """Lines of ``data`` as one binary array (line ends included), their ends_line flags, tail.

    ``keep_tail=False`` leaves an unterminated last line out and returns it as ``tail``.
    """
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 byte order mark
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    # Start of each line; the last one is where the text after the last newline begins.
    starts = np.concatenate([[skip], newlines + 1]).astype(np.int64)
    tail_start = int(starts[-1])
    ends_line = np.ones(len(starts), dtype=bool)
    if keep_tail and tail_start < len(data):
        offsets, tail = np.append(starts, len(data)), b""
        ends_line[-1] = False
    else:
        offsets, tail = starts, data[tail_start:]
        ends_line = ends_line[:-1]
    lines = pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return lines, ends_line, tail


def _decode(lines: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Lines as text without their line ends, and ``invalid_utf8`` where a line is not UTF-8."""
    try:
        text = lines.cast(pa.large_string())  # validates all lines at once: the common case
        errors = pa.nulls(len(lines), pa.string())
    except pa.ArrowInvalid:
        # Rare: find the bad lines one by one and keep their bytes visible as \xNN escapes.
        decoded: list[str] = []
        reasons: list[str | None] = []
        for raw in lines.to_pylist():
            try:
                decoded.append(raw.decode("utf-8"))
                reasons.append(None)
            except UnicodeDecodeError:
                decoded.append(raw.decode("utf-8", "backslashreplace"))
                reasons.append("invalid_utf8")
        text = pa.array(decoded, pa.large_string())
        errors = pa.array(reasons, pa.string())
    return pc.utf8_rtrim(text, characters="\r\n"), errors


def _mark_nul_bytes(text: pa.Array, errors: pa.Array, *, has_nul: bool) -> tuple[pa.Array, Any]:
    """``nul_byte`` for lines holding NUL, written as ``\\x00`` in their text."""
    if not has_nul:
        return text, errors
    nul = pc.match_substring(text, "\x00")
    text = pc.if_else(nul, pc.replace_substring(text, "\x00", "\\x00"), text)
    return text, pc.if_else(pc.and_(nul, pc.is_null(errors)), "nul_byte", errors)


def _mark_lone_surrogates(text: pa.Array, errors: pa.Array) -> pa.Array:
    """``lone_surrogate`` for lines whose JSON holds half a UTF-16 pair (no UTF-8 form)."""
    suspects = np.flatnonzero(pc.match_substring_regex(text, _SURROGATE_RE).to_numpy(False))
    if not len(suspects):
        return errors
    reasons = errors.to_pylist()
    for i in suspects.tolist():
        if reasons[i] is None and _has_lone_surrogate(text[i].as_py()):
            reasons[i] = "lone_surrogate"
    return pa.array(reasons, pa.string())


def _has_lone_surrogate(line: str) -> bool:
    try:
        value = json.loads(line)  # pairs become one character; a lone half stays a surrogate
    except ValueError:
        return False  # not JSON: the parse gives it its reason
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _join_documents(
    text: pa.Array, trimmed: pa.Array, errors: pa.Array, ends_line: np.ndarray
) -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Give each JSON document spread over several lines to its first line (``multiline_json``).

    Returns text, errors and ends_line with each document's first line holding the whole
    document, and a mask of the other lines it took in. Only lines that open a document
    without closing it (``[``, or ``{`` without a final ``}``) are tried, so a file of one
    record per line pays a few vectorised passes and no Python loop.
    """
    taken = np.zeros(len(text), dtype=bool)
    opens = pc.or_(
        pc.starts_with(trimmed, "["),
        pc.and_(pc.starts_with(trimmed, "{"), pc.invert(pc.ends_with(trimmed, "}"))),
    )
    candidates = np.flatnonzero(pc.and_(opens, pc.is_null(errors)).to_numpy(False))
    spans = _document_spans(text, candidates.tolist()) if len(candidates) else []
    if not spans:
        return text, errors, ends_line, taken
    values, reasons = text.to_pylist(), errors.to_pylist()
    for first, last in spans:
        values[first] = "\n".join(values[first : last + 1])
        reasons[first] = "multiline_json"
        ends_line[first] = ends_line[last]
        taken[first + 1 : last + 1] = True
    return pa.array(values, pa.large_string()), pa.array(reasons, pa.string()), ends_line, taken


def _document_spans(text: pa.Array, candidates: list[int]) -> list[tuple[int, int]]:
    """(first, last) line index of each JSON document that starts at a candidate line."""
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int]] = []
    free_from = 0
    # A file of thousands of opening lines must not cost minutes: past the budget, the rest stay
    # single lines (each still quarantined with its own reason).
    for first in candidates[:_MAX_DOCUMENT_TRIES]:
        if first < free_from:
            continue
        span = _document_at(decoder, text, first)
        if span is not None:
            spans.append((first, span))
            free_from = span + 1
    return spans


def _document_at(decoder: json.JSONDecoder, text: pa.Array, first: int) -> int | None:
    """Index of the last line of a multi-line JSON document starting at line ``first``, if any.

    The window of lines read grows while the parser runs off its end, so a broken line costs a
    few lines, not the rest of the file.
    """
    window = 16
    while True:
        lines = text.slice(first, window).to_pylist()
        joined = "\n".join(lines)
        start = len(joined) - len(joined.lstrip())
        try:
            _, end = decoder.raw_decode(joined, start)
        except json.JSONDecodeError as err:
            if err.pos < len(joined) or first + window >= len(text):
                return None
            window *= 4
            continue
        except RecursionError:  # nesting deeper than Python's parser goes: not a record
            return None
        bounds = np.cumsum([len(line) + 1 for line in lines])  # end of each line, plus "\n"
        last = int(np.searchsorted(bounds, end, side="left"))
        if last == 0 or joined[end : int(bounds[last]) - 1].strip():
            return None  # one line, or a document followed by more text on its last line
        return first + last


def parse_json_lines(lines: pa.Table, contract: Contract) -> pl.DataFrame:
    """Parse and type every line; adds ``parse_error`` (None when the line parsed and cast).

    ``parse_error`` is the line's ``read_error`` when it has one, else ``truncated_line``,
    ``malformed_json``, ``wrong_type:<col>[,<col>]`` or ``naive_timestamp:<col>[,<col>]``; the
    typed columns of such rows are null or must not be used. The raw text stays in ``lines``
    (``_row`` points to it): copying every line into pandas would cost more than the validation.
    """
    con = _duckdb()
    try:
        con.register("lines", lines)
        as_text = ", ".join(f'"{c.name}": "VARCHAR"' for c in contract.columns)
        casts, wrong, naive = [], [], []
        for c in contract.columns:
            duck_type = _DUCK_TYPES[c.type]
            raw = f'r."{c.name}"'
            if duck_type == "VARCHAR":
                casts.append(f'{raw} AS "{c.name}"')
                continue
            casts.append(f'TRY_CAST({raw} AS {duck_type}) AS "{c.name}"')
            wrong.append(
                f"CASE WHEN {raw} IS NOT NULL AND TRY_CAST({raw} AS {duck_type}) IS NULL "
                f"THEN '{c.name}' END"
            )
            if duck_type == "TIMESTAMPTZ":
                # DuckDB reads a zone-less time as the session zone: that guess is a reason.
                naive.append(
                    f"CASE WHEN TRY_CAST({raw} AS {duck_type}) IS NOT NULL "
                    f"AND NOT regexp_matches({raw}, '{_ZONE_RE}') THEN '{c.name}' END"
                )
        wrong_expr = f"NULLIF(concat_ws(',', {', '.join(wrong)}), '')" if wrong else "NULL"
        naive_expr = f"NULLIF(concat_ws(',', {', '.join(naive)}), '')" if naive else "NULL"
        query = f"""
            WITH checked AS (
                SELECT source_file, line_no, _row, raw_line, read_error, ends_line,
                       read_error IS NULL AND coalesce(json_valid(raw_line), false) AS is_json
                FROM lines
            ), parsed AS (
                SELECT source_file, line_no, _row, read_error, ends_line, is_json,
                       -- Valid JSON opening with a brace is an object: no second parse to ask.
                       is_json AND starts_with(ltrim(raw_line, {_JSON_SPACE}), '{{') AS ok,
                       CASE WHEN ok THEN json_transform(raw_line, '{{{as_text}}}') END AS r
                FROM checked
            ), typed AS (
                SELECT source_file, line_no, _row, read_error, ends_line, is_json, ok,
                       {", ".join(casts)}, {wrong_expr} AS wrong, {naive_expr} AS naive
                FROM parsed
            )
            SELECT * EXCLUDE (read_error, ends_line, is_json, ok, wrong, naive),
                   CASE WHEN read_error IS NOT NULL THEN read_error
                        WHEN NOT is_json AND NOT ends_line THEN 'truncated_line'
                        WHEN NOT ok THEN 'malformed_json'
                        WHEN wrong IS NOT NULL THEN 'wrong_type:' || wrong
                        WHEN naive IS NOT NULL THEN 'naive_timestamp:' || naive
                   END AS parse_error
            FROM typed
        """
        frame = con.sql(query).pl()
    finally:
        con.close()
    return frame


def unknown_columns(lines: pa.Table, parsed: pl.DataFrame, contract: Contract) -> dict[str, int]:
    """Keys outside the contract -> how many records carry them, most frequent first.

    Exact, and cheap on the common day without any: a record can only hold an unknown key if it
    has more key-like colons (``"...":``) than known fields set, so only those few are parsed.
    """
    names = contract.column_names
    known_set = parsed.select(
        "_row", n=pl.sum_horizontal([pl.col(c).is_not_null() for c in names]).cast(pl.Int64)
    )
    bound = _key_colons(lines.column("raw_line"))[known_set["_row"].to_numpy()]
    suspects = known_set["_row"].filter(pl.Series(bound) > known_set["n"])
    if suspects.is_empty():
        return {}
    subset = lines.select(["_row", "raw_line", "read_error"]).take(suspects.to_arrow())
    known = ", ".join(f"'{name}'" for name in names)
    con = _duckdb()
    try:
        con.register("lines", subset)
        rows = con.sql(
            f"""
            WITH keys AS (
                -- json_valid guards json_keys: try() would cost an exception per bad line.
                SELECT _row, unnest(json_keys(raw_line)) AS key
                FROM lines WHERE read_error IS NULL AND json_valid(raw_line)
            )
            SELECT key, count(DISTINCT _row) AS n FROM keys WHERE key NOT IN ({known})
            GROUP BY key ORDER BY n DESC, key
            """
        ).fetchall()
    finally:
        con.close()
    return {str(key): int(n) for key, n in rows}


def _key_colons(raw: pa.ChunkedArray) -> np.ndarray:
    """Per line, the colons whose previous non-blank byte is a quote: at least its JSON keys."""
    counts = []
    for chunk in raw.chunks:
        n = len(chunk)
        offsets = np.frombuffer(chunk.buffers()[1], np.int64)[chunk.offset : chunk.offset + n + 1]
        values = chunk.buffers()[2]
        if values is None or not n:
            counts.append(np.zeros(n, np.int64))
            continue
        data = np.frombuffer(values, np.uint8)
        colons = np.flatnonzero(data == 58)
        before = colons - 1
        blank = np.isin(data[before], _BLANK_BYTES)
        if blank.any():  # rare ("key" : value): step back over the blanks, all at once
            solid = np.flatnonzero(~np.isin(data, _BLANK_BYTES))
            before[blank] = solid[np.searchsorted(solid, colons[blank]) - 1]
        keys = colons[data[before] == 34]
        counts.append(np.diff(np.searchsorted(keys, offsets)))
    return np.concatenate(counts) if counts else np.zeros(0, np.int64)


def _duckdb() -> Any:
    """A fresh DuckDB session (UTC) on this process's one in-memory database.

    Opening a database costs ~12 ms of CPU, as much as reading a day's file; a session (cursor)
    costs nothing. Keyed by process id: a forked worker opens its own, never its parent's.
    """
    import duckdb

    pid = os.getpid()
    if pid not in _DATABASES:
        _DATABASES.clear()
        _DATABASES[pid] = duckdb.connect()
    con = _DATABASES[pid].cursor()
    con.execute("SET TimeZone = 'UTC'")
    return con


def attach_raw_lines(rejected: pl.DataFrame, lines: pa.Table) -> pl.DataFrame:
    """Add each rejected row's original text (``raw_line``) from ``lines`` by ``_row``."""
    raw = lines.column("raw_line").take(rejected["_row"].to_arrow())
    return rejected.drop("_row").with_columns(raw_line=pl.Series(raw.to_pylist(), dtype=pl.String))
