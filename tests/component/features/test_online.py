"""Online reads and materialization on SQLite and on a real Redis: agreement with the offline
store, not-found results, reruns, backfills and same-timestamp corrections."""

from __future__ import annotations

import math
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ml_tasks.features import store
from ml_tasks.features.compute import compute_features
from ml_tasks.features.layout import feature_rows, partition_uri
from ml_tasks.features.online import OnlineFeatureReader, decode_value, get_online_features

D1, D2, D4 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 4)


@pytest.fixture(params=["sqlite", "redis"])
def online_home(request):
    """Settings with the online store on SQLite, then on the real Redis."""
    return request.getfixturevalue("features_home" if request.param == "sqlite" else "redis_home")


def _latest_offline(s, start: date, end: date) -> dict[str, dict]:
    """Per machine, every view's features at that view's latest timestamp in [start, end]."""
    latest: dict[str, dict] = {}
    for view in ("telemetry_stats", "maintenance_history", "machine_attributes"):
        rows = feature_rows(s, view, start, end).to_pandas().sort_values("feature_ts")
        for record in rows.groupby("machine_id").tail(1).to_dict("records"):
            machine = record.pop("machine_id")
            record.pop("feature_ts")
            latest.setdefault(machine, {}).update(record)
    return latest


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


def _assert_matches(online: dict, offline: dict) -> None:
    assert online.keys() == offline.keys()
    for machine, features in offline.items():
        got = online[machine]
        assert got is not None, machine
        assert got.keys() == features.keys()
        bad = {k: (got[k], v) for k, v in features.items() if not _same(got[k], v)}
        assert not bad, (machine, bad)


def _materialized(s, start: date, end: date) -> None:
    store.apply_definitions(s)
    store.materialize(start, end, settings=s)


def test_online_equals_offline_at_the_latest_timestamp(online_home):
    s = online_home
    compute_features(D1, D4, settings=s)
    _materialized(s, D1, D4)
    offline = _latest_offline(s, D1, D4)
    machines = sorted(offline)
    fast = OnlineFeatureReader.from_settings(s)
    sdk = OnlineFeatureReader.from_settings(s, fast=False)
    assert fast.fast and not sdk.fast
    assert fast.store is None  # read from the recorded layout and the store, without Feast
    _assert_matches(fast.get(machines), offline)
    _assert_matches(sdk.get(machines), offline)  # Feast's own read path agrees
    assert fast.get([*machines, "M-9999"]) == sdk.get([*machines, "M-9999"])
    on_feast = OnlineFeatureReader.from_store(sdk.store)  # the fast path on an open store
    assert on_feast.fast and on_feast.get(machines) == fast.get(machines)
    one = fast.get_one(machines[0])
    assert one is not None and one["plant_id"].startswith("P")


def test_an_unknown_machine_is_not_found_not_an_error(online_home):
    s = online_home
    compute_features(D1, settings=s)
    _materialized(s, D1, D1)
    result = get_online_features(["M-0001", "M-9999"], settings=s)
    assert result["M-9999"] is None and result["M-0001"] is not None
    assert OnlineFeatureReader.from_settings(s, fast=False).get(["M-9999"]) == {"M-9999": None}
    with pytest.raises(ValueError, match="non-empty"):
        get_online_features([""], settings=s)


def test_rerun_and_backfill_leave_the_newest_values_online(online_home):
    s = online_home
    compute_features(D1, D4, settings=s)
    newest = _latest_offline(s, D1, D4)
    _materialized(s, D4, D4)
    reader = OnlineFeatureReader.from_settings(s)
    _assert_matches(reader.get(sorted(newest)), newest)
    _materialized(s, D4, D4)  # the same interval again
    _assert_matches(reader.get(sorted(newest)), newest)
    store.materialize(D2, D2, settings=s)  # an older interval after the newer one
    _assert_matches(reader.get(sorted(newest)), newest)
    store.materialize(D1, D4, settings=s)  # a backfill over the whole range
    _assert_matches(reader.get(sorted(newest)), newest)
    assert _latest_offline(s, D2, D2) != newest  # the old interval really had other values


def test_a_recomputed_interval_replaces_values_at_the_same_timestamp(online_home):
    """Late data recomputes an interval: same feature_ts, new values, and they must go online."""
    s = online_home
    compute_features(D1, D2, settings=s)
    _materialized(s, D2, D2)
    path = partition_uri(s, "telemetry_stats", D2)
    table = pq.read_table(path)
    i = table.schema.get_field_index("temperature_c_mean_1h")
    corrected = pc.add(table.column(i), pa.scalar(100.0))
    pq.write_table(table.set_column(i, "temperature_c_mean_1h", corrected), path)
    store.materialize(D2, D2, settings=s)
    expected = _latest_offline(s, D2, D2)
    _assert_matches(OnlineFeatureReader.from_settings(s).get(sorted(expected)), expected)


def test_the_cached_reader_is_reused(features_home):
    compute_features(D1, settings=features_home)
    _materialized(features_home, D1, D1)
    assert get_online_features("M-0001")["M-0001"] is not None
    from ml_tasks.features import online

    assert online._reader.cache_info().currsize == 1
    get_online_features(["M-0002"])
    assert online._reader.cache_info().hits >= 1
    online._reader.cache_clear()


def test_reading_before_anything_was_materialized_says_so(features_home):
    from ml_tasks.features.online import OnlineStoreUnavailable

    with pytest.raises(OnlineStoreUnavailable, match="materialize features first"):
        OnlineFeatureReader.from_settings(features_home)
    store.apply_definitions(features_home)  # registered, nothing materialized: not found
    assert get_online_features("M-0001", settings=features_home) == {"M-0001": None}


@pytest.mark.parametrize(
    "value",
    [
        {"double_val": v}
        for v in (0.0, -1.5, 1e300, 5e-324, float("inf"), float("-inf"), 3.141592653589793)
    ]
    + [{"int64_val": v} for v in (0, 1, 127, 128, 300, 2**40, 2**63 - 1, -1, -(2**63))]
    + [{"string_val": v} for v in ("", "P3", "ü" * 70, "x" * 300)]
    + [{"int32_val": -7}, {"bool_val": True}, {"float_val": 0.5}, {}],
)
def test_wire_decoding_matches_protobuf(value):
    from feast.protos.feast.types.Value_pb2 import Value
    from feast.type_map import feast_value_type_to_python_type

    raw = Value(**value).SerializeToString()
    expected = feast_value_type_to_python_type(Value.FromString(raw)) if raw else None
    got = decode_value(raw, Value.FromString, feast_value_type_to_python_type)
    assert got == expected and type(got) is type(expected)


def test_entity_keys_are_serialized_like_feast():
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    from ml_tasks.features.online import entity_key

    for machine in ("M-0001", "M-9999", "", "ü-machine", "x" * 300):
        feast_key = EntityKey(join_keys=["machine_id"], entity_values=[Value(string_val=machine)])
        assert entity_key(machine) == serialize_entity_key(feast_key, 3)


def test_redis_field_names_are_feasts():
    from feast.infra.online_stores.helpers import _mmh3 as feast_mmh3

    from ml_tasks.features.online import _mmh3

    for name in ("telemetry_stats:temperature_c_mean_1h", "machine_attributes:plant_id", ""):
        assert _mmh3(name) == feast_mmh3(name)


GET_WITHOUT_FEAST = """
import json, sys
from ml_tasks.cli import main
code = main(["features", "get", "--machine-id", "M-0001", "--machine-id", "M-9999", "--json"])
print(json.dumps({"code": code, "feast": "feast" in sys.modules, "torch": "torch" in sys.modules}))
"""


def test_features_get_reads_the_store_without_importing_feast(online_home):
    import json
    import os
    import subprocess
    import sys

    s = online_home
    compute_features(D1, D2, settings=s)
    _materialized(s, D1, D2)
    done = subprocess.run(
        [sys.executable, "-c", GET_WITHOUT_FEAST],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    *printed, probe = done.stdout.strip().splitlines()
    assert json.loads(probe) == {"code": 1, "feast": False, "torch": False}
    answer = json.loads("\n".join(printed))
    expected = OnlineFeatureReader.from_settings(s, fast=False).get(["M-0001"])["M-0001"]
    assert answer["M-9999"] == {"found": False, "features": None}
    got = answer["M-0001"]["features"]
    assert answer["M-0001"]["found"] and got.keys() == expected.keys()
    assert not {k: (got[k], v) for k, v in expected.items() if not _same(got[k], v)}
