"""Same key twice: duplicates vs conflicts, a winner independent of file names and run order."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ml_tasks.elt import manifest
from ml_tasks.elt.pipeline import curate_maintenance, curate_telemetry, load_machines
from ml_tasks.settings import get_settings
from tests.helpers import event, read_sorted, write_machines

D1, D2 = date(2026, 10, 1), date(2026, 10, 2)


def _land(settings, source: str, day: date, files: dict[str, list[dict | str]]) -> None:
    """Write several named landing files for one day (replacing the day's folder)."""
    folder = Path(settings.landing_dir) / source / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, rows in files.items():
        text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
        (folder / name).write_text(text)


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str):
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / name))
    settings = get_settings()
    write_machines(settings.landing_dir)
    load_machines(D1, settings=settings)
    return settings


def _in_day_conflict(settings, first: str, second: str) -> dict:
    hot = event("e1", "2026-10-01T05:00:00Z", temperature_c=50.0)
    hotter = event("e1", "2026-10-01T05:00:00Z", temperature_c=99.0)
    others = [event("e2", "2026-10-01T06:00:00Z")]
    _land(settings, "telemetry", D1, {first: [hot, *others], second: [hotter]})
    return curate_telemetry(D1, settings=settings)


def test_same_key_different_payload_is_a_conflict_with_the_kept_copy_named(tmp_path, monkeypatch):
    s = _home(tmp_path, monkeypatch, "a")
    run = _in_day_conflict(s, "a.jsonl", "b.jsonl")
    assert (run.rows_read, run.rows_curated, run.rows_duplicate) == (3, 2, 0)
    assert (run.rows_quarantined, run.rows_conflict) == (0, 1)
    quarantine = read_sorted(s, "quarantine_telemetry", "line_no")
    assert list(quarantine["reason"]) == ["conflict:event_id"]
    details = quarantine["details"].iloc[0]
    kept_temp = read_sorted(s, "telemetry", "event_id")["temperature_c"].iloc[0]
    kept_file = "a.jsonl:1" if kept_temp == pytest.approx(50.0) else "b.jsonl:1"
    assert f"kept {kept_file} landed 2026-10-01" in details
    assert "earliest landing day, then smallest content hash" in details
    # The losing copy's raw text is what is quarantined.
    lost = json.loads(quarantine["raw_line"].iloc[0])
    assert lost["temperature_c"] == ({50.0, 99.0} - {kept_temp}).pop()
    stats = manifest.history(s.manifest_path, "telemetry")[-1].stats
    assert stats["rows_conflict"] == 1


def test_the_winner_does_not_depend_on_file_names(tmp_path, monkeypatch):
    one = _home(tmp_path, monkeypatch, "one")
    _in_day_conflict(one, "a.jsonl", "b.jsonl")
    two = _home(tmp_path, monkeypatch, "two")
    _in_day_conflict(two, "b.jsonl", "a.jsonl")  # the same lines, file names swapped
    assert read_sorted(one, "telemetry", "event_id").equals(
        read_sorted(two, "telemetry", "event_id")
    )
    lost = [
        json.loads(read_sorted(s, "quarantine_telemetry", "line_no")["raw_line"].iloc[0])
        for s in (one, two)
    ]
    assert lost[0] == lost[1]


def test_same_payload_is_a_duplicate_whatever_its_spelling(tmp_path, monkeypatch):
    s = _home(tmp_path, monkeypatch, "dup")
    row = event("e1", "2026-10-01T05:00:00Z", temperature_c=60.0)
    # Key order, spacing, 60 vs 60.0 and the timestamp's offset spelling are not content.
    respelled = json.dumps(dict(reversed(list(row.items())))).replace('": ', '":   ')
    respelled = respelled.replace("60.0", "60").replace("05:00:00Z", "05:00:00+00:00")
    _land(s, "telemetry", D1, {"a.jsonl": [row], "b.jsonl": [respelled, row]})
    run = curate_telemetry(D1, settings=s)
    assert (run.rows_curated, run.rows_duplicate, run.rows_conflict) == (1, 2, 0)
    assert read_sorted(s, "quarantine_telemetry", "line_no").empty


def _two_days(settings, order: tuple[date, ...]) -> list[dict]:
    # The same event re-sent a day later with another reading and another timestamp (so the
    # copies sit in different event-date partitions), plus a plain identical re-send.
    _land(
        settings,
        "telemetry",
        D1,
        {
            "x.jsonl": [
                event("e1", "2026-10-01T10:00:00Z", power_kw=20.0),
                event("e2", "2026-10-01T11:00:00Z"),
            ]
        },
    )
    _land(
        settings,
        "telemetry",
        D2,
        {
            "a.jsonl": [
                event("e1", "2026-10-02T10:00:00Z", power_kw=400.0),
                event("e2", "2026-10-01T11:00:00Z"),
                event("e3", "2026-10-02T12:00:00Z"),
            ]
        },
    )
    return [curate_telemetry(d, settings=settings) for d in order]


def test_cross_day_conflict_in_both_processing_orders(tmp_path, monkeypatch):
    forward = _home(tmp_path, monkeypatch, "forward")
    _, r2 = _two_days(forward, (D1, D2))
    assert (r2.rows_curated, r2.rows_duplicate, r2.rows_conflict) == (1, 1, 1)
    table = read_sorted(forward, "telemetry", "event_id")
    assert list(table["event_id"]) == ["e1", "e2", "e3"]
    # The earliest landing day's copy wins.
    assert table.set_index("event_id").loc["e1", "power_kw"] == pytest.approx(20.0)
    quarantine = read_sorted(forward, "quarantine_telemetry", "line_no")
    assert list(quarantine["reason"]) == ["conflict:event_id"]
    assert "kept the copy curated from landing day 2026-10-01" in quarantine["details"].iloc[0]

    reverse = _home(tmp_path, monkeypatch, "reverse")
    _, r1 = _two_days(reverse, (D2, D1))
    # Day 1 overrules day 2's different copy (in another partition): one row per key, the same
    # table as in landing order, and the run says what it overruled.
    assert r1.extra["overruled_later_conflicts"] == 1
    assert read_sorted(reverse, "telemetry", "event_id").equals(table)
    # Rerunning day 2 (as the warning asks) quarantines its copy exactly as in landing order.
    rerun = curate_telemetry(D2, settings=reverse)
    assert rerun.rows_conflict == 1
    assert read_sorted(reverse, "quarantine_telemetry", "line_no").equals(quarantine)
    assert read_sorted(reverse, "telemetry", "event_id").equals(table)


def _change(lsn, status, technician, closed=None):
    return {
        "lsn": lsn,
        "op": "update" if lsn > 1 else "insert",
        "op_ts": "2026-10-01T03:00:00Z",
        "work_order_id": "WO-1",
        "machine_id": "M-0001",
        "order_type": "failure",
        "status": status,
        "opened_ts": "2026-10-01T01:00:00Z",
        "closed_ts": closed,
        "failure_code": "F01",
        "component": "seal",
        "technician": technician,
    }


def test_cdc_same_lsn_open_vs_closed_is_a_flagged_conflict(tmp_path, monkeypatch):
    states = []
    for name, files in (("ab", ("a.jsonl", "b.jsonl")), ("ba", ("b.jsonl", "a.jsonl"))):
        s = _home(tmp_path, monkeypatch, name)
        opened = _change(2, "open", "Anna Schmidt")
        closed = _change(2, "closed", "Lukas Weber", closed="2026-10-01T04:00:00Z")
        _land(
            s,
            "work_orders",
            D1,
            {files[0]: [_change(1, "open", "Anna Schmidt"), opened], files[1]: [closed]},
        )
        result = curate_maintenance(D1, settings=s)
        history = result.history
        assert (history.rows_curated, history.rows_conflict) == (2, 1)
        quarantine = read_sorted(s, "quarantine_work_orders", "line_no")
        assert list(quarantine["reason"]) == ["conflict:lsn"]
        raw = quarantine["raw_line"].iloc[0]
        assert "Anna" not in raw and "Lukas" not in raw and '"technician": "p_' in raw
        state = read_sorted(s, "work_orders", "work_order_id")
        # The current state does not silently pick a side: the order is flagged.
        assert list(state["conflict"]) == [True]
        states.append(state)
    assert states[0].equals(states[1])


def test_cdc_without_conflict_is_not_flagged(platform_home):
    write_machines(platform_home.landing_dir)
    load_machines(D1, settings=platform_home)
    _land(platform_home, "work_orders", D1, {"cdc.jsonl": [_change(1, "open", "Anna Schmidt")]})
    curate_maintenance(D1, settings=platform_home)
    state = read_sorted(platform_home, "work_orders", "work_order_id")
    assert list(state["conflict"]) == [False]
