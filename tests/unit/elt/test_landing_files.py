"""Landing files: .jsonl.gz, broken and unreadable files, stray files, multi-line documents,
unknown columns. Nothing is skipped without a count."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import date

import pytest

from ml_tasks.elt.contracts import load_contract
from ml_tasks.elt.landing import parse_json_lines, read_lines
from ml_tasks.elt.pipeline import curate_telemetry, load_machines
from tests.helpers import event, read_sorted, write_machines

DAY = date(2026, 10, 2)


def _events(n: int, prefix: str = "e") -> list[dict]:
    # Distinct readings: a stream that compresses like real data, not to a few bytes.
    return [
        event(f"{prefix}{i}", f"2026-10-02T{i % 24:02d}:{i % 60:02d}:00Z", temperature_c=i * 0.37)
        for i in range(n)
    ]


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _parse(paths):
    lines = read_lines(paths)
    parsed = parse_json_lines(lines, load_contract("telemetry"))
    return parsed, lines


@pytest.fixture
def folder(platform_home):
    """The telemetry landing folder of DAY, with the machines reference loaded."""
    write_machines(platform_home.landing_dir)
    load_machines(DAY, settings=platform_home)
    path = platform_home.landing_dir / "telemetry" / f"date={DAY.isoformat()}"
    path.mkdir(parents=True)
    return path


def test_a_jsonl_gz_file_is_read(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(_jsonl(_events(50))))
    parsed, _ = _parse([path])
    assert parsed["parse_error"].null_count() == 50
    assert list(parsed["event_id"]) == [f"e{i}" for i in range(50)]


def test_a_truncated_gzip_keeps_its_complete_lines_and_adds_a_file_record(tmp_path):
    text = _jsonl(_events(400))
    packed = gzip.compress(text)
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    parsed, lines = _parse([path])
    read, record = parsed[:-1], parsed[-1]
    assert 0 < len(read) < 400
    assert read["parse_error"].null_count() == len(read)  # every kept line is whole
    assert list(read["event_id"]) == [f"e{i}" for i in range(len(read))]
    assert (record["line_no"].item(), record["parse_error"].item()) == (0, "truncated_gzip")
    # The record keeps the cut line's start: what was read is all kept, once.
    kept = "".join(r + "\n" for r in lines.column("raw_line").to_pylist()[:-1])
    cut = lines.column("raw_line")[-1].as_py()
    assert text.decode().startswith(kept + cut)


def test_a_corrupt_gzip_is_a_file_record(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(b"this is not gzip at all\n")
    parsed, _ = _parse([path])
    assert parsed.select("source_file", "line_no", "parse_error").rows() == [
        ("events.jsonl.gz", 0, "corrupt_gzip")
    ]


def test_a_file_that_cannot_be_read_is_a_file_record(tmp_path):
    good = tmp_path / "a.jsonl"
    good.write_bytes(_jsonl(_events(2)))
    gone = tmp_path / "b.jsonl"
    gone.symlink_to(tmp_path / "moved-away.jsonl")  # listed, but reading it fails
    parsed, lines = _parse([good, gone])
    assert parsed.select("source_file", "line_no", "parse_error").rows() == [
        ("a.jsonl", 1, None),
        ("a.jsonl", 2, None),
        ("b.jsonl", 0, "unreadable_file:FileNotFoundError"),
    ]
    assert lines.column("raw_line")[2].as_py() is None


def test_a_pretty_printed_array_of_two_records_is_one_record(tmp_path):
    document = json.dumps(_events(2, "p"), indent=2)
    assert document.count("\n") + 1 == 22
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event("e0", "2026-10-02T01:00:00Z")) + "\n" + document + "\n")
    parsed, lines = _parse([path])
    assert parsed.select("line_no", "parse_error").rows() == [(1, None), (2, "multiline_json")]
    assert lines.column("raw_line")[1].as_py() == document


def test_a_pretty_printed_object_and_an_array_of_compact_lines_are_one_record_each(tmp_path):
    obj = json.dumps(event("p1", "2026-10-02T01:00:00Z"), indent=4)
    array = "[\n" + ",\n".join(json.dumps(r) for r in _events(2, "c")) + "\n]"
    path = tmp_path / "events.jsonl"
    path.write_text(obj + "\n" + array + "\n" + json.dumps(event("e9", "2026-10-02T01:00:00Z")))
    parsed, lines = _parse([path])
    first_array_line = obj.count("\n") + 2
    assert parsed.select("line_no", "parse_error").rows() == [
        (1, "multiline_json"),
        (first_array_line, "multiline_json"),
        (first_array_line + 4, None),
    ]
    assert lines.column("raw_line").to_pylist()[:2] == [obj, array]


def test_broken_lines_next_to_each_other_stay_one_reason_each(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event_id": "x1", "mach\n{\n[1, 2\n' + json.dumps(_events(1)[0]) + "\n")
    parsed, _ = _parse([path])
    assert parsed.select("line_no", "parse_error").rows() == [
        (1, "malformed_json"),
        (2, "malformed_json"),
        (3, "malformed_json"),
        (4, None),
    ]


def test_unknown_columns_are_counted_per_key_however_the_line_is_spaced(tmp_path):
    from ml_tasks.elt.landing import unknown_columns

    spaced = json.dumps(event("e3", "2026-10-02T03:00:00Z"), separators=(" , ", " :  "))
    rows = [
        json.dumps(event("e1", "2026-10-02T01:00:00Z")),
        json.dumps(event("e2", "2026-10-02T02:00:00Z", firmware="1.2")),
        spaced[:-1] + ' ,\t"note"\t:\t"a"}',
        json.dumps(event("e4", "2026-10-02T04:00:00Z", temperature_c=None, humidity=3)),
        json.dumps(event("e5:x", "2026-10-02T05:00:00Z", pressure_bar="high")),
        '{"event_id": "e6", "firmware": "1.3"',  # not JSON: not a record with keys
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(rows) + "\n")
    parsed, lines = _parse([path])
    assert unknown_columns(lines, parsed, load_contract("telemetry")) == {
        "firmware": 1,
        "humidity": 1,
        "note": 1,
    }


def test_a_day_reads_gz_counts_other_files_and_reports_unknown_columns(
    platform_home, folder, caplog
):
    rows = _events(10)
    rows[3]["firmware"] = "1.2"
    rows[7]["firmware"] = "1.3"
    rows[7]["Technician"] = "x"
    (folder / "a.jsonl").write_bytes(_jsonl(rows[:5]))
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(_jsonl(rows[5:])))
    (folder / "export.csv").write_text("event_id\ne99\n")
    (folder / "old.json").write_text("{}")
    (folder / ".c.jsonl.1234.tmp").write_text("{}\n")
    (folder / "sub").mkdir()
    with caplog.at_level(logging.WARNING, logger="ml_tasks.elt.landing"):
        run = curate_telemetry(DAY, settings=platform_home)
    assert (run.rows_read, run.rows_curated, run.rows_quarantined) == (10, 10, 0)
    assert run.extra["ignored_files"] == [".c.jsonl.1234.tmp", "export.csv", "old.json", "sub/"]
    assert run.extra["unknown_columns"] == {"firmware": 2, "Technician": 1}
    assert run.extra["file_errors"] == {}
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "export.csv" in warnings and "firmware (2)" in warnings


def test_a_broken_gzip_is_counted_read_and_quarantined_with_its_lines_kept(platform_home, folder):
    packed = gzip.compress(_jsonl(_events(200)))
    (folder / "a.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (folder / "b.jsonl").write_bytes(_jsonl(_events(5, "b")))
    run = curate_telemetry(DAY, settings=platform_home)
    kept = run.rows_curated - 5
    assert kept > 0
    assert (run.rows_read, run.rows_quarantined) == (kept + 5 + 1, 1)
    assert run.quarantine_reasons == {"truncated_gzip": 1}
    assert run.extra["file_errors"] == {"a.jsonl.gz": "truncated_gzip"}
    quarantine = read_sorted(platform_home, "quarantine_telemetry", "line_no")
    assert quarantine[["source_file", "line_no", "reason"]].values.tolist() == [
        ["a.jsonl.gz", 0, "truncated_gzip"]
    ]
