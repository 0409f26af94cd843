"""Sticky canary routing: a machine's bucket is a stable hash of its id, 0..99.

The same bucket serves the live gateway (:func:`route`) and the offline replay of a staged
release (:func:`ml_tasks.release.staged.route_to_canary`), so a machine lands on the same side
in both, and on the same side at every step of a rising canary share (a machine in the 10 %
stays in the 50 %).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

CHAMPION = "champion"
CANARY = "canary"


class Routable(Protocol):
    """What routing needs from a slot table: is there a canary, and its share in percent."""

    @property
    def canary_percent(self) -> int: ...

    @property
    def has_canary(self) -> bool: ...


def bucket(machine_id: str) -> int:
    """The machine's bucket, 0..99: sha256 of its id, first 8 hex digits, mod 100."""
    return int(hashlib.sha256(str(machine_id).encode()).hexdigest()[:8], 16) % 100


def routes_to_canary(machine_id: str, percent: int) -> bool:
    """True when the machine goes to a canary that holds ``percent`` % of the machines."""
    return bucket(machine_id) < percent


def route(machine_id: str, table: Routable) -> str:
    """The alias that answers this machine: ``canary`` inside the share, else ``champion``."""
    if table.has_canary and routes_to_canary(machine_id, table.canary_percent):
        return CANARY
    return CHAMPION
