"""The backfill tooling drives Airflow through its REST API only: the calls, on a fake API."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import ml_platform_demo
from ml_platform_airflow.api_client import AirflowApiError
from ml_platform_demo.airflow_api import AirflowApi
from ml_platform_demo.backfill import (
    backfill_body,
    backfill_command,
    backfill_runs,
    settle_earlier_backfills,
)


def _day(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


class FakeApi(AirflowApi):
    """Answers from in-memory runs and backfills and records every call."""

    def __init__(self, runs: list[dict[str, Any]], backfills: list[dict[str, Any]]) -> None:
        super().__init__("http://fake", "token")
        self.runs = runs
        self.open_backfills = backfills
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, method, path, body=None, query=None):  # type: ignore[override]
        self.calls.append((method, path, body))
        if path.endswith("/dagRuns"):
            low = datetime.fromisoformat(query["logical_date_gte"])
            high = datetime.fromisoformat(query["logical_date_lte"])
            page = [
                r for r in self.runs if low <= datetime.fromisoformat(r["logical_date"]) <= high
            ][query["offset"] : query["offset"] + query["limit"]]
            return {"dag_runs": page, "total_entries": len(self.runs)}
        if path == "/api/v2/backfills" and method == "GET":
            return {"backfills": self.open_backfills, "total_entries": len(self.open_backfills)}
        if path.endswith("/cancel"):
            return {}
        if method == "PATCH":
            return {}
        raise AssertionError(f"unexpected call {method} {path}")


def _run(day: int, state: str) -> dict[str, Any]:
    return {
        "dag_run_id": f"run_{day}",
        "logical_date": _day(day).isoformat().replace("+00:00", "Z"),
        "data_interval_start": _day(day).isoformat(),
        "data_interval_end": _day(day + 1).isoformat(),
        "state": state,
    }


def test_the_api_body_is_the_documented_cli_backfill():
    body = backfill_body("elt_telemetry", date(2026, 10, 1), date(2026, 10, 3))
    cli = backfill_command("elt_telemetry", date(2026, 10, 1), date(2026, 10, 3))
    options = dict(zip(cli[2::2], cli[3::2], strict=True))
    assert body["dag_id"] == options["--dag-id"]
    assert body["from_date"].startswith(options["--from-date"])
    assert body["to_date"].startswith(options["--to-date"])
    assert body["reprocess_behavior"] == options["--reprocess-behavior"]
    assert str(body["max_active_runs"]) == options["--max-active-runs"]


def test_backfill_runs_reports_each_planned_date_and_missing_runs():
    api = FakeApi([_run(1, "success"), _run(2, "running")], [])
    runs = backfill_runs(api, "elt_telemetry", [_day(1), _day(2), _day(3)])
    assert [(r.logical_date, r.state) for r in runs] == [
        (_day(1), "success"),
        (_day(2), "running"),
        (_day(3), "not_created"),
    ]
    assert runs[0].line().split()[:3] == [
        "2026-10-01T00:00:00+00:00",
        "[2026-10-01T00:00,",
        "2026-10-02T00:00)",
    ]
    assert runs[2].interval_start is None and runs[2].line().split()[1] == "-"


def test_settling_cancels_open_backfills_and_fails_their_stale_running_runs():
    open_one = {
        "id": 4,
        "completed_at": None,
        "from_date": "2026-10-01T00:00:00Z",
        "to_date": "2026-10-02T00:00:00Z",
    }
    done = {**open_one, "id": 3, "completed_at": "2026-10-05T00:00:00Z"}
    api = FakeApi([_run(1, "success"), _run(2, "running"), _run(3, "running")], [done, open_one])
    settle_earlier_backfills(api, "elt_telemetry")
    writes = [(m, p, b) for m, p, b in api.calls if m != "GET"]
    assert writes == [
        ("PUT", "/api/v2/backfills/4/cancel", None),
        ("PATCH", "/api/v2/dags/elt_telemetry/dagRuns/run_2", {"state": "failed"}),
    ]


def test_paging_collects_every_item():
    class Paged(AirflowApi):
        def call(self, method, path, body=None, query=None):  # type: ignore[override]
            items = [{"id": i} for i in range(250)]
            return {
                "backfills": items[query["offset"] : query["offset"] + query["limit"]],
                "total_entries": len(items),
            }

    assert [b["id"] for b in Paged("http://fake", "t").backfills("d")] == list(range(250))


class Refusing(AirflowApi):
    """Answers every call with one HTTP error."""

    def __init__(self, status: int) -> None:
        super().__init__("http://fake", "token")
        self.status = status

    def call(self, method, path, body=None, query=None):  # type: ignore[override]
        raise AirflowApiError(method, path, self.status, "refused")


def test_a_completed_backfill_is_not_an_error_to_cancel():
    assert Refusing(409).cancel_backfill(7) is False
    with pytest.raises(AirflowApiError):
        Refusing(500).cancel_backfill(7)


def test_an_unknown_dag_says_it_is_not_in_the_airflow_db():
    with pytest.raises(KeyError, match="not in the Airflow DB"):
        Refusing(404).dag("nope")


def test_no_demo_tooling_module_touches_airflow_metadata_tables():
    """Only the CLI and the REST API: no ORM models, sessions or SQL in the service tooling."""
    root = Path(ml_platform_demo.__path__[0])
    banned = ("airflow.models", "airflow.utils.session", "sqlalchemy")
    offenders = []
    for name in ("services.py", "backfill.py", "airflow_api.py", "cli.py"):
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            offenders += [f"{name}: {m}" for m in modules if m.startswith(banned)]
    assert offenders == []
