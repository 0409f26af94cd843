"""Curating event days: dedup, late events, reruns, order independence, bad-share failures."""

from __future__ import annotations

from datetime import date

import pytest

from ml_tasks.elt import lake, manifest
from ml_tasks.elt.events import BadShareExceeded
from ml_tasks.elt.pipeline import curate_telemetry, load_machines
from tests.helpers import event, read_sorted, write_landing, write_machines

D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)


@pytest.fixture
def landed(platform_home):
    """Three landing days with a late event, in-day and cross-day duplicates."""
    landing = platform_home.landing_dir
    write_machines(landing)
    write_landing(
        landing,
        "telemetry",
        D1,
        [
            event("a1", "2026-10-01T00:00:00Z"),
            event("a2", "2026-10-01T12:00:00Z", machine="M-0002"),
            event("a1", "2026-10-01T00:00:00Z"),  # duplicate within the day
        ],
    )
    write_landing(
        landing,
        "telemetry",
        D2,
        [
            event("b1", "2026-10-02T01:00:00Z"),
            event("a3", "2026-10-01T23:58:00Z"),  # late: belongs to 2026-10-01
            event("a2", "2026-10-01T12:00:00Z", machine="M-0002"),  # re-sent from the day before
        ],
    )
    write_landing(
        landing,
        "telemetry",
        D3,
        [
            event("c1", "2026-10-03T01:00:00Z"),
            event("b0", "2026-10-01T08:00:00Z"),  # 2 days late
        ],
    )
    return platform_home


def _run(settings, *days):
    load_machines(days[0], settings=settings)
    return [curate_telemetry(d, settings=settings) for d in days]


def test_counts_add_up_and_duplicates_are_counted(landed):
    r1, r2, _ = _run(landed, D1, D2, D3)
    assert (r1.rows_read, r1.rows_curated, r1.rows_duplicate) == (3, 2, 1)
    assert (r2.rows_read, r2.rows_curated, r2.rows_duplicate) == (3, 2, 1)
    table = read_sorted(landed, "telemetry", "event_id")
    assert list(table["event_id"]) == ["a1", "a2", "a3", "b0", "b1", "c1"]
    assert table["event_id"].is_unique


def test_late_events_land_in_their_event_date_partition(landed):
    _run(landed, D1, D2, D3)
    table = read_sorted(landed, "telemetry", "event_id").set_index("event_id")
    assert str(table.loc["a3", "event_date"]) == "2026-10-01"
    assert str(table.loc["a3", "ingest_date"]) == "2026-10-02"
    assert str(table.loc["b0", "event_date"]) == "2026-10-01"


def test_rerun_is_idempotent_and_versioned(landed):
    _run(landed, D1, D2, D3)
    before = read_sorted(landed, "telemetry", "event_id")
    version = lake.table_version(landed.table_uri("telemetry"), landed)
    rerun = curate_telemetry(D2, settings=landed)
    after = read_sorted(landed, "telemetry", "event_id")
    assert after.equals(before)
    assert rerun.version == version + 1
    entries = manifest.history(landed.manifest_path, "telemetry")
    assert [e.interval_start for e in entries] == [
        "2026-10-01",
        "2026-10-02",
        "2026-10-03",
        "2026-10-02",
    ]


def test_reverse_order_gives_the_same_table(landed, tmp_path, monkeypatch):
    _run(landed, D1, D2, D3)
    in_order = read_sorted(landed, "telemetry", "event_id")

    from ml_tasks.settings import get_settings

    monkeypatch.setenv("PLATFORM_LAKE_URI", str(tmp_path / "lake-reverse"))
    reverse = get_settings()
    _run(reverse, D3, D2, D1)
    assert read_sorted(reverse, "telemetry", "event_id").equals(in_order)


def test_a_changed_landing_day_replaces_its_rows(landed):
    _run(landed, D1, D2)
    write_landing(landed.landing_dir, "telemetry", D2, [event("b1", "2026-10-02T01:00:00Z")])
    curate_telemetry(D2, settings=landed)
    ids = list(read_sorted(landed, "telemetry", "event_id")["event_id"])
    assert ids == ["a1", "a2", "b1"]  # a3 came only from the old D2 file: gone


def test_bad_share_fails_after_writing_quarantine_and_keeps_curated(landed):
    _run(landed, D1)
    before = read_sorted(landed, "telemetry", "event_id")
    write_landing(
        landed.landing_dir,
        "telemetry",
        D2,
        [
            event("b1", "2026-10-02T01:00:00Z"),
            "{not json",
            # 20 more: at least the contract's min_bad_records, so the share decides.
            *[event(f"b{i}", f"2026-10-02T02:{i:02d}:00Z", machine="M-7777") for i in range(20)],
        ],
    )
    with pytest.raises(BadShareExceeded, match=r"21 of 22 records rejected.*unknown_machine \(20"):
        curate_telemetry(D2, settings=landed)
    assert read_sorted(landed, "telemetry", "event_id").equals(before)
    quarantine = read_sorted(landed, "quarantine_telemetry", "line_no")
    assert list(quarantine["reason"]) == ["malformed_json"] + ["unknown_machine"] * 20
    assert quarantine["raw_line"].iloc[0] == "{not json"


def test_quarantine_is_replaced_per_landing_day(landed):
    _run(landed, D1)
    good = [event(f"a{i}", f"2026-10-01T{i:02d}:00:00Z") for i in range(10)]
    write_landing(landed.landing_dir, "telemetry", D1, [*good, "{"])
    curate_telemetry(D1, settings=landed)
    curate_telemetry(D1, settings=landed)
    quarantine = read_sorted(landed, "quarantine_telemetry", "line_no")
    assert len(quarantine) == 1


def test_missing_landing_partition_names_it(landed):
    load_machines(D1, settings=landed)
    with pytest.raises(FileNotFoundError, match="telemetry partition date=2026-10-09"):
        curate_telemetry(date(2026, 10, 9), settings=landed)
