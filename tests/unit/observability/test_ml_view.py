"""The ML view's data functions on hand-made rows: series, alarm days, release steps, shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_tasks.elt.manifest import DatasetVersion
from ml_tasks.observability import ml_view


def drift_row(day: str, alias: str, breached: bool, score: float, written: str = "1") -> dict:
    return {
        "interval_start": day,
        "alias": alias,
        "model_version": "2",
        "breached": breached,
        "written_at": written,
        "column_scores": {
            "all": {"rpm": [score, "wasserstein", 0.1]},
            "plant_id=P2": {"rpm": [0.9, "wasserstein", 0.1]},
        },
        "reasons": [],
        "report_dir": "",
    }


def test_drift_series_follows_the_serving_model_and_marks_the_alarm_days():
    rows = [
        drift_row("2026-10-01", "champion", False, 0.02),
        drift_row("2026-10-02", "champion", True, 0.3, written="1"),
        # a candidate check of the same day: not the serving model's monitoring
        drift_row("2026-10-02", "challenger", False, 0.01, written="2"),
        drift_row("2026-10-03", "champion", True, 0.5, written="1"),
        # a rerun of the day that passed: the last write wins
        drift_row("2026-10-03", "champion", False, 0.04, written="2"),
    ]
    series = ml_view.drift_series(rows)
    assert series["days"] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert series["alarm_days"] == ["2026-10-02"]
    assert series["series"] == {
        "rpm": [["2026-10-01", 0.02], ["2026-10-02", 0.3], ["2026-10-03", 0.04]]
    }
    assert series["thresholds"] == {"rpm": 0.1}
    assert series["methods"] == {"rpm": "wasserstein"}


def traffic(at: str, percent: int, details: dict) -> dict:
    return {
        "at": at,
        "action": "traffic",
        "to_version": "2",
        "reason": f"canary step {percent} %",
        "actor": "airflow",
        "run_id": "r",
        "details": {"traffic_percent": percent, **details},
    }


def test_live_release_steps_get_the_numbers_measured_when_they_ended():
    first = {"percent": 10, "alert_disagreement": 0.05}
    second = {"percent": 50, "alert_disagreement": 0.04}
    events = [
        traffic("2026-10-10T01:00:00", 50, {"mode": "live", "previous_step": first}),
        traffic("2026-10-10T00:00:00", 10, {"mode": "live"}),
        {"at": "2026-10-10T00:00:00", "action": "set", "to_version": "2", "details": {}},
    ]
    records = [{"version": "2", "stage": "canary", "record": {"steps": [first, second]}}]
    steps = ml_view.release_steps(events, records)
    assert [(s["percent"], s["mode"]) for s in steps] == [(10, "live"), (50, "live")]
    assert steps[0]["numbers"] == first  # from the 50 % event's previous_step
    assert steps[1]["numbers"] == second  # the last step: from the canary record
    assert "previous_step" not in steps[0]


def test_offline_release_steps_keep_their_own_numbers():
    events = [traffic("2026-10-10T00:00:00", 10, {"rows": 120, "scores_valid": True})]
    (step,) = ml_view.release_steps(events)
    assert step["numbers"] == {"rows": 120, "scores_valid": True}


def manifest_entry(table: str, day: str, version: int, read: int, bad: int, conflict: int = 0):
    stats = {
        "rows_read": read,
        "rows_curated": read - bad - conflict,
        "rows_quarantined": bad,
        "rows_conflict": conflict,
    }
    return DatasetVersion(table, version, f"{day}T00:00:00", f"{day}T23:59:59", read, stats)


def test_quarantine_share_per_day_takes_the_last_run_of_a_day():
    entries = [
        manifest_entry("telemetry", "2026-10-01", 1, 100, 50),
        manifest_entry("telemetry", "2026-10-01", 2, 100, 2, conflict=3),  # rerun of the day
        manifest_entry("telemetry", "2026-10-02", 3, 0, 0),
        DatasetVersion("features_machine_hourly", 4, "2026-10-01", "2026-10-02", 10, {}),
    ]
    days = ml_view.quarantine_per_day(entries)
    assert [(d["day"], d["version"]) for d in days] == [("2026-10-01", 2), ("2026-10-02", 3)]
    assert days[0]["rows_quarantined"] == 5
    assert days[0]["quarantine_share"] == pytest.approx(0.05)
    assert days[1]["quarantine_share"] == pytest.approx(0.0)


def live_row(
    day: str, version: str, alias: str, roc: float | None, alarm: bool = False, plant: str = "all"
) -> dict:
    return {
        "day": day,
        "model_version": version,
        "alias": alias,
        "plant_id": plant,
        "roc_auc": roc,
        "in_alarm": alarm,
        "reasons": ["fell"] if alarm else [],
        "status": "computed" if roc is not None else "insufficient",
    }


def test_live_series_per_version_and_alias_for_the_fleet_with_alarm_days():
    rows = [
        live_row("2026-10-02", "1", "champion", 0.9),
        live_row("2026-10-01", "1", "champion", 0.88),
        live_row("2026-10-02", "2", "canary", 0.6, alarm=True),
        live_row("2026-10-03", "2", "canary", None),  # too few positives: a gap, not a zero
        live_row("2026-10-03", "2", "canary", 0.1, alarm=True, plant="P2"),  # a plant's slice
    ]
    live = ml_view.live_series(rows)
    assert live["series"] == {
        "v1 champion": [["2026-10-01", 0.88], ["2026-10-02", 0.9]],
        "v2 canary": [["2026-10-02", 0.6]],
    }
    assert live["alarm_days"] == ["2026-10-02"]


def test_live_days_link_only_reports_under_the_reports_folder(tmp_path: Path):
    inside = tmp_path / "reports" / "live_performance" / "2026-10-02" / "v2.html"
    rows = [
        {**live_row("2026-10-02", "2", "canary", 0.6, alarm=True), "report_path": str(inside)},
        {**live_row("2026-10-02", "1", "champion", 0.9), "report_path": "/etc/passwd"},
    ]
    days = ml_view.live_days(rows, tmp_path / "reports")
    assert days[0]["report"] == "reports/live_performance/2026-10-02/v2.html"
    assert days[0]["reasons"] == ["fell"]
    assert days[1]["report"] is None


def test_report_file_refuses_paths_outside_the_reports_folder(platform_home, tmp_path: Path):
    reports = platform_home.reports_dir
    (reports / "failure_model").mkdir(parents=True)
    (reports / "failure_model" / "all.html").write_text("<html></html>")
    (reports / "failure_model" / "notes.txt").write_text("not a report")
    (tmp_path / "secret.html").write_text("outside")
    assert ml_view.report_file("failure_model/all.html", platform_home) is not None
    for path in (
        "../../secret.html",
        str(tmp_path / "secret.html"),
        "failure_model/notes.txt",
        "failure_model/missing.html",
        "failure_model/../../../secret.html",
    ):
        assert ml_view.report_file(path, platform_home) is None, path


def test_run_artifact_serves_only_the_named_artifacts_of_well_formed_runs(platform_home):
    run = "0123456789abcdef0123456789abcdef"
    for run_id, artifact in (
        (run, "../../../../etc/passwd"),
        (run, "training/lineage.json"),
        ("../x", "evaluation/report.html"),
    ):
        assert ml_view.run_artifact(run_id, artifact, platform_home) is None
    # a well-formed request on a home with no registry: nothing, and nothing created
    assert ml_view.run_artifact(run, "evaluation/report.html", platform_home) is None
    assert not platform_home.platform_home.exists()


def test_latest_evaluated_is_the_newest_complete_evaluation():
    versions = [
        {"version": "10", "evaluation_status": None},
        {"version": "9", "evaluation_status": "complete"},
        {"version": "2", "evaluation_status": "complete"},
    ]
    assert ml_view.latest_evaluated(versions) == "9"
    assert ml_view.latest_evaluated([{"version": "1", "evaluation_status": None}]) is None


def test_an_empty_home_gives_empty_sections_and_writes_nothing(platform_home):
    view = ml_view.collect(platform_home)
    assert set(ml_view.SECTIONS) <= set(view)
    assert not any("error" in view[name] for name in ml_view.SECTIONS), view
    assert view["models"]["registered"] is False
    assert view["monitoring"]["live_performance"] is None
    assert view["search"]["versions"] == []
    assert not platform_home.platform_home.exists()


def test_a_plants_drift_series_marks_the_days_that_slice_drifted():
    rows = [
        drift_row("2026-10-01", "champion", False, 0.02),
        {
            **drift_row("2026-10-02", "champion", True, 0.03),
            "drifted_slices": ["plant_id=P2"],
            "drifted_columns": {"plant_id=P2": ["rpm"]},
        },
    ]
    plant = ml_view.drift_series(rows, "plant_id=P2")
    assert plant["series"] == {"rpm": [["2026-10-01", 0.9], ["2026-10-02", 0.9]]}
    assert plant["alarm_days"] == ["2026-10-02"]
    assert plant["drifted_groups"] == ["rpm"]
    assert ml_view.drift_series(rows)["alarm_days"] == ["2026-10-02"]  # the model's alarm
    assert ml_view.drift_slices(rows) == [
        {"name": "all", "days": 2, "alarm_days": 1},
        {"name": "plant_id=P2", "days": 2, "alarm_days": 1},
    ]
    monitoring = {"drift_slices": ml_view.drift_slices(rows)}
    assert ml_view.known_slice(monitoring, "plant_id=P2")
    assert ml_view.known_slice({"drift_slices": []}, "all")  # an empty table: the fleet
    assert not ml_view.known_slice(monitoring, "plant_id=P9")


def test_quarantine_over_the_contracts_limit_and_one_row_per_day():
    limits = {"telemetry": {"max_bad_share": 0.1, "min_bad_records": 20}}
    entries = [
        manifest_entry("telemetry", "2026-10-01", 1, 100, 11),  # 11 % but 11 rows: not enough
        manifest_entry("telemetry", "2026-10-02", 2, 1000, 110),  # 11 %, 110 rows: over
        manifest_entry("work_orders_history", "2026-10-02", 1, 40, 30),  # no contract given
    ]
    days = ml_view.quarantine_per_day(entries, limits)
    assert [d["over_limit"] for d in days] == [False, True, None]
    pivot = ml_view.quarantine_by_day(days)
    assert pivot["tables"] == ["telemetry", "work_orders_history"]
    assert [r["day"] for r in pivot["rows"]] == ["2026-10-02", "2026-10-01"]  # newest first
    assert pivot["rows"][0]["tables"]["work_orders_history"]["rows_read"] == 40
    assert pivot["rows"][1]["tables"]["work_orders_history"] is None  # no run that day


def test_quarantine_limits_come_from_the_contracts():
    limits = ml_view.quarantine_limits(Path(__file__).parents[3] / "include" / "contracts")
    assert limits["telemetry"]["max_bad_share"] == pytest.approx(0.1)
    assert limits["work_orders_history"]["max_bad_share"] == pytest.approx(0.1)


def test_dataset_rows_say_what_the_last_write_covered():
    def entry(start: str, end: str, **more) -> dict:
        return {"interval_start": start, "interval_end": end, "row_count": 7, "stats": {}, **more}

    status = {
        "tables": {
            # a materialization of 30 days; its end is exclusive
            "features_x": {
                **entry("2026-10-01", "2026-10-31"),
                "kind": "feature_view",
                "stats": {"partitions": [f"p{i}" for i in range(30)]},
            },
            "training_set": {**entry("2026-10-03", "2026-10-31"), "kind": "training_set"},
            "machines": {**entry("2026-10-01", "2026-10-01"), "kind": "delta"},  # a snapshot
            "telemetry": {**entry("2026-10-30T00:00:00", "2026-10-31T00:00:00"), "kind": "delta"},
        }
    }
    rows = {r["name"]: r for r in ml_view.dataset_rows(status)}
    assert (rows["features_x"]["first_day"], rows["features_x"]["last_day"]) == (
        "2026-10-01",
        "2026-10-30",
    )
    assert rows["features_x"]["partitions"] == 30
    assert rows["features_x"]["rows_written"] == 7
    assert rows["training_set"]["last_day"] == "2026-10-30"
    assert (rows["machines"]["first_day"], rows["machines"]["last_day"]) == ("2026-10-01",) * 2
    assert (rows["telemetry"]["first_day"], rows["telemetry"]["last_day"]) == ("2026-10-30",) * 2
