"""Feature timestamps from the online store (SQLite ``event_ts``, Redis ``_ts:<view>``) agree
with the offline features' latest ``feature_ts``; the gateway's source flags staleness."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from ml_tasks.features import store
from ml_tasks.features.compute import compute_features
from ml_tasks.features.layout import feature_rows
from ml_tasks.features.online import OnlineFeatureReader
from ml_tasks.serving.features import FeatureSource

D1, D3 = date(2026, 10, 1), date(2026, 10, 3)
VIEWS = ("telemetry_stats", "maintenance_history", "machine_attributes")


@pytest.fixture(params=["sqlite", "redis"])
def online_home(request):
    return request.getfixturevalue("features_home" if request.param == "sqlite" else "redis_home")


def _newest_offline(s) -> dict[str, datetime]:
    newest: dict[str, datetime] = {}
    for view in VIEWS:
        rows = feature_rows(s, view, D1, D3).to_pydict()
        for machine, ts in zip(rows["machine_id"], rows["feature_ts"], strict=True):
            ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
            newest[machine] = max(newest.get(machine, ts), ts)
    return newest


def test_stamped_reads_match_the_offline_timestamps(online_home):
    s = online_home
    compute_features(D1, D3, settings=s)
    store.apply_definitions(s)
    store.materialize(D1, D3, settings=s)
    expected = _newest_offline(s)
    reader = OnlineFeatureReader.from_settings(s)
    machines = sorted(expected)
    stamped = reader.get_stamped([*machines, "M-9999"])
    assert stamped["M-9999"] == (None, None)
    plain = reader.get(machines)
    for machine in machines:
        values, ts = stamped[machine]
        assert values == plain[machine]  # get() is unchanged; the stamped read agrees
        assert ts == expected[machine], machine
    newest = max(expected.values())
    fresh = FeatureSource(dataclasses.replace(s, gateway_feature_max_age_hours=2.0))
    now = newest + timedelta(hours=1)
    flags = {m: f.stale for m, f in fresh.fetch(machines, now=now).items() if f is not None}
    assert flags == {m: expected[m] < now - timedelta(hours=2) for m in machines}
    assert not all(flags.values())
    assert all(f.stale for f in fresh.fetch(machines, now=now + timedelta(days=2)).values() if f)


def test_the_gateways_cached_reads_follow_each_materialization(features_home):
    """The reader's cache (SQLite data version) serves repeats without a query and never
    serves a row older than the store: a materialization in between is seen at once."""
    s = features_home
    compute_features(D1, D3, settings=s)
    store.apply_definitions(s)
    store.materialize(D1, D1 + timedelta(days=1), settings=s)
    cached = OnlineFeatureReader.from_settings(s, cache_entries=1000)
    machines = sorted(OnlineFeatureReader.from_settings(s).get_stamped(["M-0001"]))[:1]
    machines = sorted({*machines, "M-0002", "M-0003"})
    before = cached.get_stamped(machines)
    assert all(values is not None for values, _ in before.values())

    queries = []
    lookup = cached._lookup
    real = lookup.read_stamped
    lookup.read_stamped = lambda keys: queries.append(len(keys)) or real(keys)
    assert cached.get_stamped(machines) == before
    assert queries == []  # every machine from the cache
    assert cached.get_stamped([*machines, "M-9999"])["M-9999"] == (None, None)
    assert queries == [1]  # only the one not cached went to the store

    store.materialize(D1 + timedelta(days=1), D3, settings=s)  # another connection commits
    after = cached.get_stamped(machines)
    assert after == OnlineFeatureReader.from_settings(s).get_stamped(machines)
    assert all(after[m][1] > before[m][1] for m in machines)  # newer rows, not the cached ones
