"""The sticky canary router: stable buckets, the share within a binomial tolerance."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from ml_tasks.release.staged import route_to_canary
from ml_tasks.serving.router import CANARY, CHAMPION, bucket, route


@dataclass(frozen=True)
class _Table:
    canary_percent: int
    has_canary: bool = True


def test_bucket_is_sha256_of_the_id_first_8_hex_digits_mod_100() -> None:
    for machine in ("M-0001", "M-0420", "x", "Ünïcode-7"):
        expected = int(hashlib.sha256(machine.encode()).hexdigest()[:8], 16) % 100
        assert bucket(machine) == expected
    assert {bucket(f"M-{i:05d}") for i in range(5000)} == set(range(100))


def test_canary_share_within_a_binomial_tolerance_and_sticky() -> None:
    machines = [f"M-{i:05d}" for i in range(20_000)]
    for percent in (1, 10, 25, 50, 90):
        table = _Table(percent)
        routed = [route(m, table) for m in machines]
        share = routed.count(CANARY) / len(machines)
        p = percent / 100
        sigma = math.sqrt(p * (1 - p) / len(machines))
        assert abs(share - p) < 4 * sigma, (percent, share)
        # Sticky: the same machine, the same side, every time.
        assert [route(m, table) for m in machines] == routed


def test_a_rising_share_keeps_canary_machines_on_the_canary() -> None:
    machines = [f"M-{i:04d}" for i in range(2000)]
    small = {m for m in machines if route(m, _Table(10)) == CANARY}
    large = {m for m in machines if route(m, _Table(50)) == CANARY}
    assert small and small <= large


def test_no_canary_or_zero_share_routes_everything_to_the_champion() -> None:
    machines = [f"M-{i:04d}" for i in range(500)]
    assert {route(m, _Table(0)) for m in machines} == {CHAMPION}
    assert {route(m, _Table(100, has_canary=False)) for m in machines} == {CHAMPION}
    assert {route(m, _Table(100)) for m in machines} == {CANARY}


def test_the_offline_replay_routes_like_the_gateway() -> None:
    machines = [f"M-{i:04d}" for i in range(1000)]
    replay = route_to_canary(np.array(machines), 30)
    live = [route(m, _Table(30)) == CANARY for m in machines]
    assert replay.tolist() == live
