"""The S3 server under the lake: conditional writes, and a server stopped during a Delta write."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from tests.stack import servers
from tests.stack.servers import Stack


def _storage_options(stack: Stack) -> dict[str, str]:
    from ml_tasks.settings import get_settings

    return {
        **get_settings().storage_options,
        "AWS_ACCESS_KEY_ID": servers.S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": servers.S3_SECRET_KEY,
    }


def test_servers_up_and_report_versions(stack: Stack) -> None:
    for name, server in stack.servers.items():
        assert server.alive(), name
        assert server.version, name
    print("stack versions:", stack.versions)


def test_s3_server_refuses_a_second_put_if_absent(stack: Stack) -> None:
    """Delta's commit protocol on S3 (deltalake 1.6) relies on ``If-None-Match: *``."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    client = servers.s3_client(stack.s3.url)
    key = "conditional/00000000000000000000.json"
    client.put_object(Bucket="lake", Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket="lake", Key=key, Body=b"second", IfNoneMatch="*")
    assert err.value.response["Error"]["Code"] in {"PreconditionFailed", "412"}
    assert client.get_object(Bucket="lake", Key=key)["Body"].read() == b"first"


def test_concurrent_delta_commits_both_land(stack: Stack) -> None:
    """Two writers racing for the same version: one retries on the next, none is lost."""
    from deltalake import DeltaTable, write_deltalake

    options = _storage_options(stack)
    uri = "s3://lake/tests/race"
    write_deltalake(uri, pd.DataFrame({"v": [0]}), storage_options=options)
    errors: list[BaseException] = []

    def append(value: int) -> None:
        try:
            write_deltalake(
                uri, pd.DataFrame({"v": [value]}), mode="append", storage_options=options
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 4
    assert sorted(table.to_pandas()["v"]) == [0, 1, 2, 3, 4]


def test_s3_stopped_during_a_delta_write_keeps_the_previous_version(
    stack: Stack,
) -> None:
    """Kill the S3 server while a large Delta write uploads: the write fails, the table reads
    at its previous version once the server is back, and the rerun commits the next version."""
    import numpy as np
    from deltalake import DeltaTable, write_deltalake

    options = _storage_options(stack)
    uri = "s3://lake/tests/fault"
    write_deltalake(
        uri, pd.DataFrame({"v": np.arange(10), "x": np.zeros(10)}), storage_options=options
    )
    big = pd.DataFrame({"v": np.arange(3_000_000), "x": np.random.default_rng(0).random(3_000_000)})
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            write_deltalake(uri, big, mode="append", storage_options={**options, "timeout": "10s"})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    s3 = stack.s3
    port = int(s3.url.rsplit(":", 1)[1])
    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.3)  # the upload of the data file is under way
    s3.stop(grace_s=5)
    writer.join(timeout=300)
    assert outcome and outcome[0] is not None, "the write finished before the server stopped"
    print("write failed as expected:", str(outcome[0]).splitlines()[0][:200])
    restarted = servers.start_seaweedfs(stack.root / "s3", ("lake",), port=port)
    stack.servers["seaweedfs"] = restarted
    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 0
    assert len(table.to_pandas()) == 10
    write_deltalake(uri, big.head(1000), mode="append", storage_options=options)
    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 1
    assert len(table.to_pandas()) == 1010
