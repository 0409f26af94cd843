"""A landing day is complete when each source's folder holds a published data file."""

from __future__ import annotations

from datetime import date

import pytest

from ml_tasks.elt.readiness import landing_partition, missing_landing

DAY = date(2026, 10, 2)


def test_missing_until_every_source_has_a_data_file(platform_home):
    landing = platform_home.landing_dir
    assert missing_landing(DAY) == [
        str(landing_partition(landing, "telemetry", DAY)),
        str(landing_partition(landing, "work_orders", DAY)),
    ]
    telemetry = landing_partition(landing, "telemetry", DAY)
    telemetry.mkdir(parents=True)
    # An empty folder, or one holding only a writer's temporary file, is not a delivery.
    (telemetry / ".events.jsonl.tmp").write_text('{"event_id": "e1"}\n')
    assert str(telemetry) in missing_landing(DAY)
    (telemetry / "events.jsonl").write_text("")  # a quiet day is still a delivered day
    assert missing_landing(DAY) == [str(landing_partition(landing, "work_orders", DAY))]
    work_orders = landing_partition(landing, "work_orders", DAY)
    work_orders.mkdir(parents=True)
    (work_orders / "cdc.jsonl").write_text("{}\n")
    assert missing_landing(DAY) == []
    # Another day is still missing.
    assert len(missing_landing(date(2026, 10, 3))) == 2


def test_manuals_need_a_markdown_file_and_unknown_sources_are_an_error(platform_home):
    folder = landing_partition(platform_home.landing_dir, "manuals", DAY)
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("not a manual")
    assert missing_landing(DAY, ("manuals",)) == [str(folder)]
    (folder / "MAN-001.md").write_text("# Press\n")
    assert missing_landing(DAY, ("manuals",)) == []
    with pytest.raises(ValueError, match="unknown landing source"):
        missing_landing(DAY, ("invoices",))


def test_a_day_delivered_only_as_gzip_is_complete(platform_home):
    # The ELT reads .jsonl.gz: a source that only ships compressed files must not wait forever.
    for source in ("telemetry", "work_orders"):
        folder = landing_partition(platform_home.landing_dir, source, DAY)
        folder.mkdir(parents=True)
        (folder / "part-0.jsonl.gz").write_bytes(b"")
    assert missing_landing(DAY) == []
