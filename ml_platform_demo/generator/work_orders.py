"""Maintenance work orders as change-data-capture events, with their faults spliced in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import numpy as np

from ml_platform_demo.generator.contract import COMPONENTS, TECHNICIANS, WORK_ORDER_FAULT_KINDS
from ml_platform_demo.generator.faults import fault_kinds
from ml_platform_demo.generator.fleet import Failure, Fleet
from ml_platform_demo.generator.jsonlines import json_line, truncate_line
from ml_platform_demo.generator.streams import (
    DAY_S,
    STREAM_WORK_ORDERS,
    day_epoch,
    iso_utc,
    stream_rng,
)

PREVENTIVE_PER_DAY = 2 / 30
INSPECTION_PER_DAY = 1.5 / 30
CANCEL_SHARE = 0.05


class CdcEvent(NamedTuple):
    op_ts: int
    work_order_id: str
    rank: int  # insert < update < delete for the same order and second
    row: dict[str, Any]  # all fields but lsn, in landing key order


@dataclass(frozen=True)
class _Order:
    opened: int
    machine: int
    order_type: str
    failure_code: str | None
    component: str | None
    technician: str
    progress: int | None = None
    closed: int | None = None
    cancelled: int | None = None
    deleted: int | None = None


def _cdc_row(
    op: str,
    op_ts: int,
    work_order_id: str,
    order: _Order | None,
    machine_ids: tuple[str, ...],
    status: str | None = None,
    technician: str | None = None,
    closed_ts: int | None = None,
) -> dict[str, Any]:
    """A change event without lsn; deletes (``order`` None) carry only their keys."""
    row: dict[str, Any] = {"op": op, "op_ts": iso_utc(op_ts), "work_order_id": work_order_id}
    row.update(
        machine_id=machine_ids[order.machine] if order else None,
        order_type=order.order_type if order else None,
        status=status,
        opened_ts=iso_utc(order.opened) if order else None,
        closed_ts=iso_utc(closed_ts) if closed_ts is not None else None,
        failure_code=order.failure_code if order else None,
        component=order.component if order else None,
        technician=technician,
    )
    return row


def _orders_opened(seed: int, day: date, fleet: Fleet, failures: list[Failure]) -> list[_Order]:
    """Failure orders from the schedule plus preventive maintenance and inspections of ``day``."""
    rng = stream_rng(seed, STREAM_WORK_ORDERS, day.toordinal())
    n = fleet.size
    preventive = rng.random(n) < PREVENTIVE_PER_DAY
    inspection = rng.random(n) < INSPECTION_PER_DAY
    opened = day_epoch(day) + rng.integers(6 * 3600, 14 * 3600, (2, n))
    progress = rng.integers(600, 3600, (2, n))
    work = rng.integers(1800, 3 * 3600, (2, n))
    technician = rng.integers(0, len(TECHNICIANS), (2, n))
    component = rng.integers(0, len(COMPONENTS), n)
    cancel = rng.random(n) < CANCEL_SHARE
    cancel_after = rng.integers(3600, 4 * 3600, n)
    delete_after = rng.integers(DAY_S, 3 * DAY_S, n)

    orders = [
        _Order(
            f.ts,
            f.machine,
            "failure",
            f.failure_code,
            f.component,
            f.technician,
            progress=f.ts + f.progress_s,
            closed=f.ts + f.repair_s,
        )
        for f in failures
    ]
    for m in np.flatnonzero(preventive).tolist():
        start = int(opened[0, m])
        common = (
            start,
            m,
            "preventive",
            None,
            COMPONENTS[component[m]],
            TECHNICIANS[technician[0, m]],
        )
        if cancel[m]:
            cancelled = start + int(cancel_after[m])
            orders.append(
                _Order(*common, cancelled=cancelled, deleted=cancelled + int(delete_after[m]))
            )
        else:
            begun = start + int(progress[0, m])
            orders.append(_Order(*common, progress=begun, closed=begun + int(work[0, m])))
    for m in np.flatnonzero(inspection).tolist():
        start = int(opened[1, m])
        begun = start + int(progress[1, m])
        orders.append(
            _Order(
                start,
                m,
                "inspection",
                None,
                None,
                TECHNICIANS[technician[1, m]],
                progress=begun,
                closed=begun + int(work[1, m]),
            )
        )
    orders.sort(key=lambda o: (o.opened, o.machine, o.order_type))
    return orders


def _order_events(
    order: _Order, work_order_id: str, machine_ids: tuple[str, ...]
) -> list[CdcEvent]:
    """Insert, then either in_progress + closed, or cancelled + a later hard delete."""
    wo = work_order_id
    events = [
        CdcEvent(
            order.opened, wo, 0, _cdc_row("insert", order.opened, wo, order, machine_ids, "open")
        )
    ]
    if order.cancelled is not None and order.deleted is not None:
        events.append(
            CdcEvent(
                order.cancelled,
                wo,
                1,
                _cdc_row("update", order.cancelled, wo, order, machine_ids, "cancelled"),
            )
        )
        events.append(
            CdcEvent(order.deleted, wo, 3, _cdc_row("delete", order.deleted, wo, None, machine_ids))
        )
    elif order.progress is not None and order.closed is not None:
        tech = order.technician
        events.append(
            CdcEvent(
                order.progress,
                wo,
                1,
                _cdc_row("update", order.progress, wo, order, machine_ids, "in_progress", tech),
            )
        )
        events.append(
            CdcEvent(
                order.closed,
                wo,
                2,
                _cdc_row(
                    "update", order.closed, wo, order, machine_ids, "closed", tech, order.closed
                ),
            )
        )
    return events


def work_order_events(
    seed: int, day: date, fleet: Fleet, failures: list[Failure]
) -> list[CdcEvent]:
    """Every change event of the orders opened on ``day`` (some land on later days)."""
    events: list[CdcEvent] = []
    for seq, order in enumerate(_orders_opened(seed, day, fleet, failures), start=1):
        # Day-based ids never collide between separately generated ranges.
        events += _order_events(order, f"WO-{day:%y%m%d}{seq:04d}", fleet.machine_ids)
    return events


def with_lsn(events: list[CdcEvent]) -> list[dict[str, Any]]:
    """Order by op_ts and number: lsn = op_ts seconds x 1000 + tie-break, increasing across runs."""
    records, previous, tie = [], None, 0
    for event in sorted(events, key=lambda e: (e.op_ts, e.work_order_id, e.rank)):
        tie = tie + 1 if event.op_ts == previous else 0
        previous = event.op_ts
        records.append({"lsn": event.op_ts * 1000 + tie, **event.row})
    return records


def cdc_day_lines(
    records: list[dict[str, Any]], rng: np.random.Generator, bad_rate: float
) -> tuple[list[str], list[dict[str, Any]]]:
    """The day's CDC lines (lsn order) with faults spliced in, and the truth records."""
    n = len(records)
    k = int(rng.binomial(n, bad_rate / 4)) if n and bad_rate > 0 else 0
    kinds = [
        WORK_ORDER_FAULT_KINDS[x] for x in fault_kinds(rng, k, len(WORK_ORDER_FAULT_KINDS)).tolist()
    ]
    candidates = rng.permutation(n).tolist()
    uniforms = rng.random(k).tolist()

    lines = [json_line(r) for r in records]
    keys = [2 * i for i in range(n)]  # the file is sorted by key at the end
    fault: dict[int, str] = {}
    touched: set[int] = set()
    # out_of_order: an update moved before its own insert; the line stays a valid event.
    inserts = {r["work_order_id"]: i for i, r in enumerate(records) if r["op"] == "insert"}
    n_moves = kinds.count("out_of_order")
    moved = 0
    for i in candidates:
        if moved == n_moves:
            break
        q = inserts.get(records[i]["work_order_id"])
        if records[i]["op"] != "update" or q is None or touched & {i, q}:
            continue
        keys[i] = 2 * int(uniforms[moved] * (q + 1)) - 1  # anywhere before the insert
        fault[i] = "out_of_order"
        touched |= {i, q}
        moved += 1
    # malformed / unknown_op replace other lines (never one of a moved pair).
    replacing = [kind for kind in kinds if kind != "out_of_order"]
    free = [i for i in candidates if i not in touched]
    # strict=False: with few free lines some replacing faults are simply not injected.
    for i, kind, u in zip(free, replacing, uniforms[n_moves:], strict=False):
        lines[i] = (
            truncate_line(lines[i], u)
            if kind == "malformed"
            else json_line({**records[i], "op": "upsert"})
        )
        fault[i] = kind
    positions = sorted(range(n), key=lambda i: keys[i])
    truth = [
        {
            "line_no": pos + 1,
            "kind": fault[i],
            "event_id": records[i]["lsn"],
            "work_order_id": records[i]["work_order_id"],
        }
        for pos, i in enumerate(positions)
        if i in fault
    ]
    return [lines[i] for i in positions], truth
