"""Bad bytes are bad records: each broken line gets its reason, the other lines are read."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ml_tasks.elt.contracts import load_contract
from ml_tasks.elt.landing import parse_json_lines, read_lines
from ml_tasks.elt.pipeline import curate_telemetry, load_machines
from tests.helpers import event, read_sorted, write_machines

DAY = date(2026, 10, 2)


def _line(event_id: str, ts: str = "2026-10-02T10:00:00Z", **extra: object) -> bytes:
    return json.dumps(event(event_id, ts, **extra)).encode()


def _parse(tmp_path, data: bytes, name: str = "events.jsonl", contract: str = "telemetry"):
    """{line_no: parse_error} of a file holding ``data``, and its lines table."""
    path = tmp_path / name
    path.write_bytes(data)
    lines = read_lines([path])
    parsed = parse_json_lines(lines, load_contract(contract))
    return dict(zip(parsed["line_no"], parsed["parse_error"], strict=True)), lines


def _raw(lines, line_no: int) -> str:
    at = lines.column("line_no").to_pylist().index(line_no)
    return lines.column("raw_line")[at].as_py()


def test_one_invalid_utf8_line_is_its_own_reason_and_the_others_parse(tmp_path):
    bad = _line("e3").replace(b"M-0001", b"M-\xff\xfe01")
    data = b"\n".join([_line("e1"), _line("e2"), bad, _line("e4"), _line("e5"), _line("e6")])
    reasons, lines = _parse(tmp_path, data + b"\n")
    assert reasons == {1: None, 2: None, 3: "invalid_utf8", 4: None, 5: None, 6: None}
    # The bad bytes stay visible and safe to store: backslash-escaped, the rest as written.
    assert _raw(lines, 3) == bad.decode("utf-8", "backslashreplace")
    assert "M-\\xff\\xfe01" in _raw(lines, 3)


def test_a_nul_byte_is_its_own_reason(tmp_path):
    bad = _line("e2").replace(b"M-0001", b"M-\x000001")
    reasons, lines = _parse(tmp_path, b"\n".join([_line("e1"), bad, _line("e3")]) + b"\n")
    assert reasons == {1: None, 2: "nul_byte", 3: None}
    assert "\x00" not in _raw(lines, 2) and "M-\\x000001" in _raw(lines, 2)


def test_a_lone_surrogate_escape_is_its_own_reason(tmp_path):
    lone = _line("e2")[:-1] + b', "note": "\\ud800"}'  # half of a UTF-16 pair: no UTF-8 form
    pair = _line("e3")[:-1] + b', "note": "\\ud83d\\ude00"}'  # a whole pair is an emoji: fine
    escaped = _line("e4")[:-1] + b', "note": "\\\\ud800"}'  # a backslash, then text: fine
    reasons, _ = _parse(tmp_path, b"\n".join([_line("e1"), lone, pair, escaped]) + b"\n")
    assert reasons == {1: None, 2: "lone_surrogate", 3: None, 4: None}


def test_a_cut_last_line_is_truncated_and_a_whole_one_without_newline_is_read(tmp_path):
    cut = _line("e2")[:30]
    reasons, lines = _parse(tmp_path, _line("e1") + b"\n" + cut)
    assert reasons == {1: None, 2: "truncated_line"}
    assert _raw(lines, 2) == cut.decode()
    reasons, _ = _parse(tmp_path, _line("e1") + b"\n" + _line("e2"), name="whole.jsonl")
    assert reasons == {1: None, 2: None}


def test_a_cut_line_inside_the_file_stays_malformed(tmp_path):
    reasons, _ = _parse(tmp_path, b"\n".join([_line("e1")[:30], _line("e2")]) + b"\n")
    assert reasons == {1: "malformed_json", 2: None}


def test_crlf_line_ends_a_byte_order_mark_and_blank_lines(tmp_path):
    data = b"\xef\xbb\xbf" + _line("e1") + b"\r\n\r\n   \r\n" + _line("e2") + b"\r\n"
    reasons, lines = _parse(tmp_path, data)
    assert reasons == {1: None, 4: None}  # blank lines skipped, physical numbers kept
    assert _raw(lines, 4) == _line("e2").decode()


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("2026-10-02T10:00:00", "naive_timestamp:event_ts"),
        ("2026-10-02 10:00:00.250", "naive_timestamp:event_ts"),
        ("2026-10-02", "naive_timestamp:event_ts"),
        ("2026-10-02T10:00:00Z", None),
        ("2026-10-02T10:00:00.250+00", None),
        ("2026-10-02T12:00:00+02:00", None),
        ("2026-10-02T05:30:00-0430", None),
        ("2026-10-02 10:00:00 UTC", None),
        ("2026-10-02 12:00:00 Europe/Berlin", None),
        ("31/02/2026 10:00", "wrong_type:event_ts"),
    ],
)
def test_a_timestamp_without_a_zone_is_a_reason_not_utc(tmp_path, ts, reason):
    reasons, _ = _parse(tmp_path, _line("e1", ts) + b"\n")
    assert reasons == {1: reason}


def test_naive_timestamps_are_named_per_column_in_work_orders(tmp_path):
    change = {
        "lsn": 1,
        "op": "insert",
        "op_ts": "2026-10-02T10:00:00Z",
        "work_order_id": "WO-1",
        "machine_id": "M-0001",
        "order_type": "failure",
        "status": "open",
        "opened_ts": "2026-10-02T09:00:00",
        "closed_ts": "2026-10-02T11:00:00",
    }
    reasons, _ = _parse(tmp_path, json.dumps(change).encode() + b"\n", "cdc.jsonl", "work_orders")
    assert reasons == {1: "naive_timestamp:opened_ts,closed_ts"}


def test_a_day_with_one_bad_byte_line_is_curated_not_crashed(platform_home):
    landing = platform_home.landing_dir
    write_machines(landing)
    folder = landing / "telemetry" / f"date={DAY.isoformat()}"
    folder.mkdir(parents=True)
    good = [_line(f"e{i}", f"2026-10-02T{i:02d}:00:00Z") for i in range(11)]
    bad = _line("bad").replace(b"M-0001", b"M-\xff\xfe01")
    (folder / "events.jsonl").write_bytes(b"\n".join([*good[:3], bad, *good[3:]]) + b"\n")
    load_machines(DAY, settings=platform_home)
    run = curate_telemetry(DAY, settings=platform_home)
    assert (run.rows_read, run.rows_curated, run.rows_quarantined) == (12, 11, 1)
    assert run.quarantine_reasons == {"invalid_utf8": 1}
    quarantine = read_sorted(platform_home, "quarantine_telemetry", "line_no")
    assert list(quarantine["line_no"]) == [4]
    assert "M-\\xff\\xfe01" in quarantine["raw_line"].iloc[0]
