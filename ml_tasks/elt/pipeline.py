"""The ELT stages for one data interval, as plain functions the DAG and the CLI both call.

Each returns a frozen :class:`~ml_tasks.elt.events.TableRun` (or two, for work orders); the DAG
pushes their ``as_dict()`` through XCom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ml_tasks.elt.contracts import load_contract
from ml_tasks.elt.events import TableRun, curate_events
from ml_tasks.elt.machines import curate_machines, known_machine_ids
from ml_tasks.elt.work_orders import curate_work_orders
from ml_tasks.observability.platform_metrics import push_table_run
from ml_tasks.settings import Settings, get_settings


@dataclass(frozen=True)
class MaintenanceRun:
    """The work-order stage: the change history and the current state rebuilt from it."""

    history: TableRun
    current: TableRun

    def as_dict(self) -> dict[str, Any]:
        return {"history": self.history.as_dict(), "current": self.current.as_dict()}


def load_machines(
    day: date, *, settings: Settings | None = None, run_id: str | None = None
) -> TableRun:
    """Stage 1: the machines reference table (other stages check machine ids against it)."""
    s = settings or get_settings()
    run = curate_machines(s, day=day, run_id=run_id)
    push_table_run(run, s)
    return run


def curate_telemetry(
    day: date, *, settings: Settings | None = None, run_id: str | None = None
) -> TableRun:
    """Stage 2a: one landing day of telemetry events."""
    s = settings or get_settings()
    known = {"machines.machine_id": known_machine_ids(s)}
    contract = load_contract("telemetry", s.contracts_dir)
    run = curate_events(contract, day, s, known=known, run_id=run_id)
    push_table_run(run, s)
    return run


def curate_maintenance(
    day: date, *, settings: Settings | None = None, run_id: str | None = None
) -> MaintenanceRun:
    """Stage 2b: one landing day of work-order changes, then the current state."""
    s = settings or get_settings()
    known = {"machines.machine_id": known_machine_ids(s)}
    history, current = curate_work_orders(day, s, known=known, run_id=run_id)
    for run in (history, current):
        push_table_run(run, s)
    return MaintenanceRun(history=history, current=current)


def run_elt(
    day: date, *, settings: Settings | None = None, run_id: str | None = None
) -> list[TableRun]:
    """All stages for one day, in order (the CLI's ``elt`` command)."""
    s = settings or get_settings()
    machines = load_machines(day, settings=s, run_id=run_id)
    telemetry = curate_telemetry(day, settings=s, run_id=run_id)
    maintenance = curate_maintenance(day, settings=s, run_id=run_id)
    return [machines, telemetry, maintenance.history, maintenance.current]


def format_runs(runs: list[TableRun]) -> str:
    """A readable table of table runs: rows read = curated + quarantined (by reason) + duplicates
    + conflicts (same key, different content: quarantined as ``conflict:<key>``)."""
    lines = [
        f"{'table':<22}{'interval':<12}{'read':>9}{'curated':>9}{'quarant.':>9}{'dups':>7}"
        f"{'confl.':>7}{'version':>8}"
    ]
    for r in runs:
        lines.append(
            f"{r.table:<22}{r.interval:<12}{r.rows_read:>9}{r.rows_curated:>9}"
            f"{r.rows_quarantined:>9}{r.rows_duplicate:>7}{r.rows_conflict:>7}"
            f"{r.version!s:>8}"
        )
        for reason, count in r.quarantine_reasons.items():
            lines.append(f"{'':<34}  quarantined {reason}: {count}")
        if r.rows_conflict:
            lines.append(f"{'':<34}  conflicts (kept copy named in the quarantine details)")
    return "\n".join(lines)


__all__ = [
    "MaintenanceRun",
    "TableRun",
    "curate_maintenance",
    "curate_telemetry",
    "load_machines",
    "run_elt",
]
