"""`python -m ml_tasks status` in every state: empty home, ELT only, features, training sets."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ml_tasks.cli import main
from ml_tasks.elt import manifest
from ml_tasks.elt.pipeline import curate_telemetry, load_machines
from ml_tasks.status import current_status, format_status
from tests.helpers import event, write_landing, write_machines

D1 = date(2026, 10, 1)


def _status_cli(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["status", *extra]) == 0
    return capsys.readouterr().out


@pytest.fixture
def elt_only(platform_home):
    """One curated telemetry day and the machines table: a pipeline stopped after the ELT."""
    write_machines(platform_home.landing_dir)
    write_landing(
        platform_home.landing_dir,
        "telemetry",
        D1,
        [event("a1", "2026-10-01T00:00:00Z"), event("a2", "2026-10-01T06:00:00Z")],
    )
    load_machines(D1, settings=platform_home)
    curate_telemetry(D1, settings=platform_home)
    return platform_home


def _record_downstream(settings) -> None:
    """The manifest entries the features and training-set stages write (no Delta table)."""
    for view in ("telemetry_stats", "machine_attributes"):
        manifest.record(
            settings.manifest_path,
            manifest.DatasetVersion(
                table_name=f"features_{view}",
                version=1,
                interval_start="2026-10-01",
                interval_end="2026-10-02",
                row_count=2,
                stats={"partitions": [f"{settings.offline_store_uri}/{view}/day=2026-10-01"]},
            ),
        )
    manifest.record(
        settings.manifest_path,
        manifest.DatasetVersion(
            table_name="training_set",
            version=3,
            interval_start="2026-10-01",
            interval_end="2026-10-02",
            row_count=40,
            stats={"path": f"{settings.training_sets_uri}/v0003"},
        ),
    )


def test_status_on_an_empty_home(platform_home, capsys):
    assert current_status()["tables"] == {}
    out = _status_cli(capsys)
    assert "no curated datasets yet" in out
    assert json.loads(_status_cli(capsys, "--json"))["tables"] == {}


def test_status_after_the_elt_only(elt_only, capsys):
    tables = current_status()["tables"]
    assert tables["telemetry"]["kind"] == "delta"
    assert tables["telemetry"]["delta_version"] == 0
    assert tables["telemetry"]["total_rows"] == 2
    out = _status_cli(capsys)
    assert "telemetry" in out and "machines" in out
    assert "v0" in out


def test_status_with_feature_and_training_set_entries(elt_only, capsys):
    _record_downstream(elt_only)
    tables = current_status()["tables"]
    training = tables["training_set"]
    assert training["kind"] == "training_set"
    assert (training["current_version"], training["total_rows"]) == (3, 40)
    assert training["uri"].endswith("v0003")
    stats = tables["features_telemetry_stats"]
    assert stats["kind"] == "feature_view"
    assert stats["uri"].endswith("/telemetry_stats")
    assert stats["delta_version"] is None

    out = _status_cli(capsys)  # used to crash: a None delta_version in a format spec
    line = next(x for x in out.splitlines() if x.strip().startswith("training_set"))
    assert "v3" in line and "40" in line
    assert "features_telemetry_stats" in out
    as_json = json.loads(_status_cli(capsys, "--json"))
    assert set(as_json["tables"]) >= {"telemetry", "machines", "training_set"}


def test_a_deleted_delta_table_reads_missing(elt_only):
    import shutil

    shutil.rmtree(elt_only.table_uri("telemetry"))
    text = format_status(current_status())
    line = next(x for x in text.splitlines() if x.strip().startswith("telemetry"))
    assert "missing" in line
