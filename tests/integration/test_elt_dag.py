"""The ELT DAG under real Airflow (dag.test): reruns, order, crashes and bad days."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow as pa
import pytest

from ml_platform_demo.generate import generate
from ml_platform_demo.orchestration import interval_run_time
from ml_tasks.elt import lake
from tests.helpers import read_sorted

pytestmark = pytest.mark.integration

START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(3)]
# Generator fault kinds that must be rejected, and the reason the contract gives them.
EXPECTED_REASON = {
    "malformed": "malformed_json",
    "wrong_type": "wrong_type:",
    "bad_timestamp": "wrong_type:event_ts",
    "null_key": "null:",
    "out_of_range": "out_of_range:",
    "unknown_machine": "unknown_machine",
}


def _run(dag, day):
    return str(dag.test(logical_date=interval_run_time(day)).state)


def _latest_asset_event(name: str) -> dict:
    """The ``extra`` of the newest Airflow asset event of asset ``name`` (from the metadata DB)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        extra = session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id.desc())
            .limit(1)
        ).one()
    return dict(extra)


@pytest.fixture
def generated(platform_home):
    generate(
        START,
        3,
        6,
        seed=11,
        bad_rate=0.04,
        interval_minutes=30,
        landing_dir=platform_home.landing_dir,
    )
    return platform_home


def test_three_days_rerun_and_quarantine_match_the_injected_faults(elt_dag, generated):
    s = generated
    assert [_run(elt_dag, d) for d in DAYS] == ["success"] * 3
    telemetry = read_sorted(s, "telemetry", "event_id")
    assert telemetry["event_id"].is_unique
    assert {str(d) for d in telemetry["event_date"].unique()} == {str(d) for d in DAYS}

    # Every injected fault is quarantined with its reason, and nothing else is.
    quarantine = read_sorted(s, "quarantine_telemetry", "line_no")
    for day in DAYS:
        truth = [
            json.loads(line)
            for line in (s.landing_dir / "_truth" / "telemetry" / f"date={day}.jsonl")
            .read_text()
            .splitlines()
        ]
        expected = {
            t["line_no"]: EXPECTED_REASON[t["kind"]] for t in truth if t["kind"] in EXPECTED_REASON
        }
        got = quarantine[quarantine["ingest_date"].astype(str) == str(day)]
        assert sorted(got["line_no"]) == sorted(expected)
        for line_no, reason in zip(got["line_no"], got["reason"], strict=True):
            assert reason.startswith(expected[line_no]), (day, line_no, reason)

    # Rows read = curated + quarantined + duplicates + conflicts, per day, as in the manifest.
    from ml_tasks.elt import manifest

    for entry in manifest.history(s.manifest_path, "telemetry"):
        st = entry.stats
        buckets = ("rows_curated", "rows_quarantined", "rows_duplicate", "rows_conflict")
        assert st["rows_read"] == sum(st[b] for b in buckets)
        assert st["rows_conflict"] == 0  # the generator re-sends identical copies only

    version = lake.table_version(s.table_uri("telemetry"), s)
    event = _latest_asset_event("curated_telemetry")
    assert event["version"] == version and event["interval"] == str(DAYS[-1])
    assert event["rows_curated"] > 0 and "rows_quarantined" in event and "rows_conflict" in event

    assert _run(elt_dag, DAYS[1]) == "success"
    assert read_sorted(s, "telemetry", "event_id").equals(telemetry)
    assert lake.table_version(s.table_uri("telemetry"), s) == version + 1
    assert read_sorted(s, "quarantine_telemetry", "line_no").equals(quarantine)


def test_reverse_order_gives_the_same_tables(elt_dag, generated, tmp_path, monkeypatch):
    for d in DAYS:
        _run(elt_dag, d)
    in_order = {
        t: read_sorted(generated, t, k)
        for t, k in [("telemetry", "event_id"), ("work_orders", "work_order_id")]
    }

    monkeypatch.setenv("PLATFORM_LAKE_URI", str(tmp_path / "lake-reverse"))
    from ml_tasks.settings import get_settings

    reverse = get_settings()
    assert [_run(elt_dag, d) for d in reversed(DAYS)] == ["success"] * 3
    for table, key in [("telemetry", "event_id"), ("work_orders", "work_order_id")]:
        assert read_sorted(reverse, table, key).equals(in_order[table]), table


def test_crash_after_the_write_starts_keeps_the_previous_version(elt_dag, generated, monkeypatch):
    s = generated
    _run(elt_dag, DAYS[0])
    uri = s.table_uri("telemetry")
    version, before = lake.table_version(uri, s), read_sorted(s, "telemetry", "event_id")

    import deltalake
    import pyarrow.parquet as pq

    real_write, real_merge = deltalake.write_deltalake, deltalake.DeltaTable.merge
    partition = s.platform_home / "lake" / "telemetry" / f"event_date={DAYS[1]}"

    def crash(data):
        # The data files are written, then the process dies before the commit.
        partition.mkdir(exist_ok=True)
        pq.write_table(pa.table(data), partition / "part-crashed.parquet")
        raise RuntimeError("injected crash before commit")

    def crashing_write(table_or_uri, data, *args, **kwargs):
        if str(table_or_uri) == uri:
            crash(data)
        return real_write(table_or_uri, data, *args, **kwargs)

    def crashing_merge(self, source, *args, **kwargs):
        crash(source)

    monkeypatch.setattr(deltalake, "write_deltalake", crashing_write)
    monkeypatch.setattr(deltalake.DeltaTable, "merge", crashing_merge)
    assert _run(elt_dag, DAYS[1]) == "failed"
    assert lake.table_version(uri, s) == version
    assert read_sorted(s, "telemetry", "event_id").equals(before)  # readable, unchanged

    monkeypatch.setattr(deltalake, "write_deltalake", real_write)
    monkeypatch.setattr(deltalake.DeltaTable, "merge", real_merge)
    assert _run(elt_dag, DAYS[1]) == "success"
    after = read_sorted(s, "telemetry", "event_id")
    assert after["event_id"].is_unique and len(after) > len(before)


def test_a_day_over_the_bad_share_fails_with_reasons_and_writes_quarantine(
    elt_dag, platform_home, capfd, webhook
):
    s = platform_home
    generate(START, 1, 6, seed=3, bad_rate=0.5, interval_minutes=30, landing_dir=s.landing_dir)
    assert _run(elt_dag, START) == "failed"
    output = capfd.readouterr()
    assert "records rejected" in output.out + output.err
    assert "top reasons" in output.out + output.err
    alert = webhook.received[-1]  # the failure callback posted the alert
    assert alert["task_id"] == "curate_telemetry" and "records rejected" in alert["error"]
    assert alert["title"] == "ELT failed"
    assert alert["interval_start"].startswith(str(START))
    quarantine = read_sorted(s, "quarantine_telemetry", "line_no")
    assert len(quarantine) > 0 and set(quarantine["ingest_date"].astype(str)) == {str(START)}
    assert read_sorted(s, "telemetry", "event_id") is None  # nothing curated from a bad day
