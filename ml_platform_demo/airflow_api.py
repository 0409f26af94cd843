"""The demo's calls on Airflow's public REST API v2: DAG pause state, runs and backfills.

The demo drives Airflow only through interfaces Airflow keeps stable across releases, its CLI and
this API, never through its metadata tables. Token, requests and errors are the adapters' one
client (:mod:`ml_platform_airflow.api_client`); this module adds the routes the backfill tooling
needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ml_platform_airflow.api_client import AirflowApiClient, AirflowApiError
from ml_platform_airflow.api_client import quote as _quote


def parse_time(text: str | None) -> datetime | None:
    """An API timestamp (ISO 8601, ``Z`` or offset) as an aware datetime; None stays None."""
    return datetime.fromisoformat(text) if text else None


class AirflowApi(AirflowApiClient):
    """The REST client with the DAG, run and backfill routes of the embedded-service tooling."""

    # --- DAGs and runs -------------------------------------------------------------------

    def dag(self, dag_id: str) -> dict[str, Any]:
        """``GET /api/v2/dags/{dag_id}``; KeyError when Airflow does not know the DAG."""
        try:
            return dict(self.call("GET", f"/api/v2/dags/{_quote(dag_id)}"))
        except AirflowApiError as err:
            if err.status == 404:
                raise KeyError(f"DAG {dag_id!r} is not in the Airflow DB (import errors?)") from err
            raise

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG, as the UI's toggle and ``airflow dags pause`` do."""
        self.call(
            "PATCH",
            f"/api/v2/dags/{_quote(dag_id)}",
            {"is_paused": paused},
            {"update_mask": "is_paused"},
        )

    def dag_runs(
        self, dag_id: str, logical_date_gte: datetime, logical_date_lte: datetime
    ) -> list[dict[str, Any]]:
        """The DAG's runs with a logical date in the closed range, in logical-date order."""
        query = {
            "logical_date_gte": logical_date_gte.isoformat(),
            "logical_date_lte": logical_date_lte.isoformat(),
            "order_by": "logical_date",
        }
        return self.all_pages(f"/api/v2/dags/{_quote(dag_id)}/dagRuns", "dag_runs", query)

    def fail_dag_run(self, dag_id: str, run_id: str) -> None:
        """Mark a run failed, as "Mark failed" in the UI does (its running tasks are stopped)."""
        self.call(
            "PATCH",
            f"/api/v2/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}",
            {"state": "failed"},
            {"update_mask": "state"},
        )

    # --- backfills ------------------------------------------------------------------------

    def backfills(self, dag_id: str) -> list[dict[str, Any]]:
        """Every backfill of the DAG, oldest first."""
        return self.all_pages(
            "/api/v2/backfills", "backfills", {"dag_id": dag_id, "order_by": "id"}
        )

    def backfill(self, backfill_id: int) -> dict[str, Any]:
        """``GET /api/v2/backfills/{id}``."""
        return dict(self.call("GET", f"/api/v2/backfills/{backfill_id}"))

    def dry_run_backfill(self, body: dict[str, Any]) -> list[datetime]:
        """The logical dates a backfill with this body would run (``POST .../dry_run``)."""
        answer = self.call("POST", "/api/v2/backfills/dry_run", body)
        dates = (parse_time(item.get("logical_date")) for item in answer["backfills"])
        return [d for d in dates if d is not None]

    def create_backfill(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v2/backfills``: the created backfill (its runs are queued)."""
        return dict(self.call("POST", "/api/v2/backfills", body))

    def cancel_backfill(self, backfill_id: int) -> bool:
        """``PUT /api/v2/backfills/{id}/cancel``; False when it had completed already."""
        try:
            self.call("PUT", f"/api/v2/backfills/{backfill_id}/cancel")
        except AirflowApiError as err:
            if err.status == 409:  # "Backfill is already completed."
                return False
            raise
        return True
