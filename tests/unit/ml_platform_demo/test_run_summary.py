"""The demo's closing tables: the five ELT buckets per table and the time per step."""

from __future__ import annotations

from collections import Counter

from ml_platform_demo.run import StepClock, format_summary


def test_the_summary_shows_every_bucket_and_they_add_up_to_rows_read():
    tables = {
        "telemetry": {
            "read": 100,
            "curated": 90,
            "quarantined": 5,
            "duplicates": 3,
            "conflicts": 2,
            "reasons": Counter({"malformed_json": 4, "conflict:event_id": 1}),
            "delta_version": 7,
            "rows": 90,
        },
        "work_orders": {"read": 0, "rows": 12, "delta_version": 3, "reasons": Counter()},
    }
    text = format_summary(tables)
    header, row = text.splitlines()[2:4]
    columns = ["table", "read", "curated", "quarantined", "dups", "conflicts", "version"]
    assert header.split() == columns
    read, curated, quarantined, dups, conflicts, version = map(int, row.split()[1:])
    assert (read, conflicts, version) == (100, 2, 7)
    assert read == curated + quarantined + dups + conflicts
    assert "malformed_json" in text and "rows now" in text


def test_the_step_table_lists_each_step_even_when_one_fails():
    clock = StepClock()
    with clock.step("1 first"):
        pass
    try:
        with clock.step("2 fails"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    table = clock.table()
    assert [line.split()[1] for line in table.splitlines()[2:4]] == ["first", "fails"]
    assert "total" in table and "peak RSS" in table
